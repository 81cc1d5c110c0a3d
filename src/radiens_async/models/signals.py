"""Live samples as users receive them: chunks of a stream and the result of ``get_signals``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field


class SignalChunk(BaseModel):
    """One message of a live signal stream.

    ``data`` is float32 ``(n_channels, n_samples)`` (read-only, a view on the received bytes):
    amplifier channels in µV, analog in in V, digital channels 0/1. ``first_sample`` is the hub
    sample index of column 0, and ``missed_samples`` counts the samples this subscriber lost
    right before it (it was too slow and the hub's cache moved on) — loss is never silent:
    ``first_sample == previous.stop_sample + missed_samples`` for consecutive chunks.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    data: npt.NDArray[np.float32] = Field(repr=False)
    first_sample: int
    fs: float
    missed_samples: int = 0
    acquired_ns: int = 0
    sent_ns: int = 0
    received_ns: int = 0
    head_sample: int = 0

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])

    @property
    def stop_sample(self) -> int:
        """Index one past the last sample of this chunk."""
        return self.first_sample + self.n_samples

    @property
    def time_range(self) -> tuple[float, float]:
        """``(t_start, t_end)`` in seconds of stream time (``t_end`` exclusive)."""
        return self.first_sample / self.fs, self.stop_sample / self.fs

    @property
    def latency_s(self) -> float | None:
        """Seconds from the newest sample's acquisition at the hub to this chunk's arrival.

        Both clocks are ``CLOCK_MONOTONIC``, so this is meaningful when hub and client run on the
        same machine. ``None`` when the chunk did not end at the cache head (a backlog chunk).
        """
        if not self.acquired_ns or not self.received_ns:
            return None
        return (self.received_ns - self.acquired_ns) / 1e9


class Signals(BaseModel):
    """What ``get_signals`` returns: the samples since the last call (or since the cursor was set
    to the cache head).

    ``data`` is float32 ``(n_channels, n_samples)``, one row per channel of the signal group in
    stream order (see ``get_channel_metadata``); ``time_range`` is ``[t_start, t_end]`` in seconds
    of stream time.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    data: npt.NDArray[np.float32] = Field(repr=False)
    first_sample: int
    fs: float
    missed_samples: int = 0
    stream_epoch: int = 0

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])

    @property
    def stop_sample(self) -> int:
        return self.first_sample + self.n_samples

    @property
    def time_range(self) -> list[float]:
        """``[t_start, t_end]`` in seconds of stream time, as the documented API returns it."""
        return [self.first_sample / self.fs, self.stop_sample / self.fs]

    def as_tuple(self) -> tuple[npt.NDArray[np.float32], list[float]]:
        """``(sigarray, time_range)``: the documented blocking return value."""
        return self.data, self.time_range
