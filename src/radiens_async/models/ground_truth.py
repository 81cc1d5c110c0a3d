"""The simulator's ground truth: which unit fired where and when (``smartbox_sim_gen_spikes``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class SimUnit(BaseModel):
    """One simulated unit: its peak channel (amplifier ntv index), trough depth, SNR and rate."""

    model_config = ConfigDict(frozen=True)

    unit_id: int
    peak_channel: int
    trough_uv: float
    snr: float
    rate_hz: float


class SimGroundTruth(BaseModel):
    """Spikes the simulator put into the stream, plus what it knows about its signals.

    ``sample_index`` is the sample of each spike's trough, ``channel`` its unit's peak channel.
    For the sine modes, ``sine_frequencies_hz`` gives each amplifier channel's frequency; in the
    multi-band mode ``band_frequencies_hz`` (channels x bands, columns named by ``band_names``)
    gives each channel's component frequencies.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    sample_index: npt.NDArray[np.int64] = Field(repr=False)
    unit_id: npt.NDArray[np.int32] = Field(repr=False)
    channel: npt.NDArray[np.int32] = Field(repr=False)
    units: tuple[SimUnit, ...]
    sine_frequencies_hz: tuple[float, ...] = ()
    band_names: tuple[str, ...] = ()
    band_frequencies_hz: npt.NDArray[np.float64] = Field(
        default_factory=lambda: np.zeros((0, 0)), repr=False
    )
    noise_uv: float = 0.0
    mode: str = ""
    seed: int = 0

    @property
    def n_spikes(self) -> int:
        return int(self.sample_index.size)

    def spikes_table(self) -> pd.DataFrame:
        """The spikes as a DataFrame with columns ``sample_index``, ``unit_id``, ``channel``."""
        return pd.DataFrame(
            {"sample_index": self.sample_index, "unit_id": self.unit_id, "channel": self.channel}
        )
