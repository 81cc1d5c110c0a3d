"""Spikes as users see them: live batches, the recent-spikes set and the sorter's metadata."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "NEURON_COLUMNS",
    "NeuronDescriptor",
    "SpikeBatch",
    "SpikeSite",
    "SpikesMetadata",
    "SpikesSet",
]

NEURON_COLUMNS: Final = (
    "id",
    "ntv_idx",
    "label",
    "pos",
    "spike_count",
    "spike_rate",
    "mean_abs_peak_waveform",
    "snr",
)
"""Columns of the documented ``get_neurons()`` table, one row per unit."""


class SpikeBatch(BaseModel):
    """Spikes detected live, in detection order.

    Spike ``k`` peaks at stream sample ``sample_index[k]`` on amplifier channel ``channel[k]``
    (ntv index), carries the unit ``label[k]`` (0: unlabeled) and the waveform ``waveforms[k]``
    (µV, ``pre_pts`` samples before the peak). ``missed_spikes`` counts spikes this subscriber
    lost right before the batch (it fell behind): never silent.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    sample_index: npt.NDArray[np.int64] = Field(repr=False)
    channel: npt.NDArray[np.int32] = Field(repr=False)
    label: npt.NDArray[np.int32] = Field(repr=False)
    waveforms: npt.NDArray[np.float32] = Field(repr=False)
    pre_pts: int
    fs: float
    first_seq: int
    next_seq: int
    missed_spikes: int
    detected_ns: npt.NDArray[np.int64] = Field(repr=False)
    acquired_ns: npt.NDArray[np.int64] = Field(repr=False)
    sent_ns: int = 0

    @property
    def n_spikes(self) -> int:
        return int(self.sample_index.size)

    @property
    def timestamps_s(self) -> npt.NDArray[np.float64]:
        """Peak times in seconds of stream time."""
        return self.sample_index / self.fs

    def table(self) -> pd.DataFrame:
        """The batch as a DataFrame: ``sample_index``, ``time_s``, ``channel``, ``label``."""
        return pd.DataFrame(
            {
                "sample_index": self.sample_index,
                "time_s": self.timestamps_s,
                "channel": self.channel,
                "label": self.label,
            }
        )


class SpikesSet(BaseModel):
    """The most recent spikes per channel (``get_recent_spikes``).

    ``channels()`` gives, per ntv index, ``labels``, ``waveform_max``, ``waveform_min``,
    ``num_spikes``, empty ``comp`` and ``neighbors`` and, when the channel has spikes,
    ``waveforms`` of shape ``(n_points, n_spikes)`` (``waveforms[:, k]`` is spike k).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    envelope_time_range: npt.NDArray[np.float64] = Field(repr=False)
    num_pts_waveform: int
    num_spikes_total: int
    num_channels: int
    sample_index: npt.NDArray[np.int64] = Field(repr=False)
    channel: npt.NDArray[np.int32] = Field(repr=False)
    label: npt.NDArray[np.int32] = Field(repr=False)
    waveforms: npt.NDArray[np.float32] = Field(repr=False)
    ntv_idxs: tuple[int, ...] = ()

    def channels(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for ntv in self.ntv_idxs:
            mine = self.channel == ntv
            waves = self.waveforms[mine]
            entry: dict[str, Any] = {
                "labels": [str(x) for x in self.label[mine]],
                "waveform_max": float(waves.max()) if waves.size else 0.0,
                "waveform_min": float(waves.min()) if waves.size else 0.0,
                "num_spikes": int(mine.sum()),
                "comp": {},
                "neighbors": {},
            }
            if waves.size:
                entry["waveforms"] = np.ascontiguousarray(waves.T)
            out[ntv] = entry
        return out

    def has_component(self) -> bool:
        """Always False: no spike components (features) are sent."""
        return False


class NeuronDescriptor(BaseModel):
    """One sorted unit: its site, label, position (µm), spike count/rate, peak and SNR."""

    model_config = ConfigDict(frozen=True)

    id: int
    ntv_idx: int
    label: int
    pos: tuple[float, float, float]
    spike_count: int
    spike_rate: float
    mean_abs_peak_waveform: float
    snr: float


class SpikeSite(BaseModel):
    """One amplifier site as the sorter sees it."""

    model_config = ConfigDict(frozen=True)

    ntv_idx: int
    enabled: bool
    pos_probe: tuple[float, float, float]
    spike_count: int
    spike_count_labeled: int
    spike_rate: float
    noise: float
    snr: float
    num_neurons: int
    neighbor_ntv_idxs: tuple[int, ...] = ()
    neighbor_distance_um: tuple[float, ...] = ()


class SpikesMetadata(BaseModel):
    """Metadata of the live sorter's spikes (ID ``'Live Signals'``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    time_range: tuple[float, float]
    fs: float
    num_pts_waveform: int
    site_list: tuple[SpikeSite, ...]
    neuron_list: tuple[NeuronDescriptor, ...]
    neighbor_radius_um: float = 0.0

    @property
    def sites(self) -> pd.DataFrame:
        """One row per site (documented columns; positions in µm)."""
        rows = []
        for s in self.site_list:
            neurons = [n for n in self.neuron_list if n.ntv_idx == s.ntv_idx]
            rows.append(
                {
                    "ntv_idx": s.ntv_idx,
                    "neighbor": {
                        "radius_um": self.neighbor_radius_um,
                        "ntv_idxs": list(s.neighbor_ntv_idxs),
                        "distance_um": list(s.neighbor_distance_um),
                        "N": len(s.neighbor_ntv_idxs),
                    },
                    "enabled": s.enabled,
                    "pos_probe": list(s.pos_probe),
                    "pos_tissue": list(s.pos_probe),
                    "size_bytes": 0,
                    "TR": list(self.time_range),
                    "spike_TR": list(self.time_range),
                    "spike_count": s.spike_count,
                    "spike_rate": s.spike_rate,
                    "noise": s.noise,
                    "snr": s.snr,
                    "neurons": neurons,
                    "num_neurons": s.num_neurons,
                    "spike_comp_len": {
                        "waveform": self.num_pts_waveform,
                        "feature": 0,
                        "feature2": 0,
                        "zscore": 0,
                    },
                }
            )
        return pd.DataFrame(rows)

    @property
    def neurons(self) -> pd.DataFrame:
        """One row per neuron: its site's columns plus ``neuron`` and ``neuron_id``."""
        sites = self.sites.set_index("ntv_idx", drop=False) if self.site_list else None
        rows = []
        for n in self.neuron_list:
            row = dict(sites.loc[n.ntv_idx]) if sites is not None else {"ntv_idx": n.ntv_idx}
            row["neuron"] = n
            row["neuron_id"] = n.id
            rows.append(row)
        return pd.DataFrame(rows).reset_index()

    @property
    def site_summary_stats(self) -> pd.DataFrame:
        """Per-site statistics summarized over sites, rows in the SummaryStats order."""
        from radiens_async.utils.enums import SummaryStats

        columns = {
            "spike_count": [s.spike_count for s in self.site_list],
            "spike_count_labeled": [s.spike_count_labeled for s in self.site_list],
            "spike_count_unlabeled": [
                s.spike_count - s.spike_count_labeled for s in self.site_list
            ],
            "spike_rate": [s.spike_rate for s in self.site_list],
            "spike_rate_labeled": [s.spike_count_labeled for s in self.site_list],
            "spike_rate_unlabeled": [s.spike_count - s.spike_count_labeled for s in self.site_list],
            "noise": [s.noise for s in self.site_list],
            "snr": [s.snr for s in self.site_list],
            "neurons": [s.num_neurons for s in self.site_list],
        }
        frame = pd.DataFrame(columns).astype(float)
        stats = {
            SummaryStats.MEAN: frame.mean(),
            SummaryStats.SD: frame.std(),
            SummaryStats.MODE: frame.mode().iloc[0] if len(frame) else frame.sum(),
            SummaryStats.MIN: frame.min(),
            SummaryStats.MAX: frame.max(),
            SummaryStats.MODE_COUNT: frame.apply(lambda c: c.value_counts().max() if len(c) else 0),
            SummaryStats.MEDIAN: frame.median(),
            SummaryStats.Q25: frame.quantile(0.25),
            SummaryStats.Q75: frame.quantile(0.75),
            SummaryStats.SKEW: frame.skew(),
            SummaryStats.KURTOSIS: frame.kurt(),
            SummaryStats.N: frame.count(),
        }
        table = pd.DataFrame([stats[k] for k in SummaryStats], index=[k.name for k in SummaryStats])
        return table
