"""What the acquisition loop pulls samples from: the simulator now, file replay or LSL later."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt


class SampleSource(Protocol):
    """A device that hands out consecutive blocks of samples on demand.

    ``generate(n)`` returns the next ``n`` samples of every channel as float32
    ``(n_channels, n)``, in stream (sys index) order; amplifier channels in µV, analog in in V,
    digital channels 0/1. The acquisition loop decides *when* to call it; the source never
    sleeps.
    """

    @property
    def next_sample(self) -> int: ...

    def generate(self, n_samples: int) -> npt.NDArray[np.float32]: ...

    def reset(self) -> None: ...
