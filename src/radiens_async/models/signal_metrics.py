"""Signal metrics (KPI) as users receive them: :class:`SignalMetrics` and its status."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from radiens_async.models.dataset_metadata import TimeRange
from radiens_async.utils.enums import MetricMode, MetricName

__all__ = [
    "METRIC_LABELS",
    "MetricID",
    "MetricStats",
    "SignalMetrics",
    "SignalMetricsStatus",
    "sort_metric_ids",
]

LIVE_SIGNALS_ID = "Live Signals"


class MetricID(NamedTuple):
    """A metric: its mode and name."""

    mode: MetricMode
    name: MetricName


class MetricStats(NamedTuple):
    """Summary of a metric."""

    mean: float
    sd: float
    max: float
    min: float


METRIC_LABELS: dict[MetricName, tuple[str, str]] = {
    MetricName.MAX_ABS: ("|V_max|", "uV"),
    MetricName.MAX_ABS_ISI: ("|V_max|", "uV"),
    MetricName.MAX_MIN_DIFF_ABS: ("|V_pp|", "uV"),
    MetricName.MAX_MIN_DIFF_ABS_ISI: ("|V_pp|", "uV"),
    MetricName.SD: ("|V_sd|", "uV"),
    MetricName.SD_ISI: ("|V_sd|", "uV"),
    MetricName.RMS: ("V_rms", "uV"),
    MetricName.RMS_ISI: ("V_rms", "uV"),
    MetricName.SNR: ("SNR", ""),
    MetricName.EVENT_RATE: ("Spike Rate", "spikes/sec"),
    MetricName.EVENT_MAX_ABS: ("Spike |V_max|", "uV"),
    MetricName.EVENT_MAX_MIN_DIFF_ABS: ("Spike |V_pp|", "uV"),
    MetricName.MEAN_MAX_ABS: ("Avg. Spike |V_max|", "uV"),
    MetricName.EVENT_MEAN_MAX_MIN_DIFF_ABS: ("Avg. Spike |V_pp|", "uV"),
    MetricName.MAX_MIN_DIFF_ABS_AMPLIFIED: ("|V_pp|^2 for V_pp > 2*SD", "uV^2"),
}
"""Display label and units of the metrics that have one (others: the name, no units)."""


def sort_metric_ids(ids: list[MetricID]) -> list[MetricID]:
    """Sort by (mode value, name string), as documented.

    Examples
    --------
    >>> sort_metric_ids([MetricID(MetricMode.BASE, MetricName.SNR),
    ...                  MetricID(MetricMode.BASE, MetricName.RMS)])[0].name
    <MetricName.RMS: 18>
    """
    return sorted(ids, key=lambda m: (int(m.mode), m.name.name))


class SignalMetrics(BaseModel):
    """Metrics of packets x channels: ``val[packet, channel, metric]`` (float64).

    Examples
    --------
    >>> m = await videre.signal_metrics().get_metrics(dataset_metadata=meta)  # doctest: +SKIP
    >>> m.val.shape, m.metric_ids[0]  # doctest: +SKIP
    ((60, 32, 6), MetricID(mode=<MetricMode.BASE: 0>, name=<MetricName.RMS: 18>))
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dsource_id: str
    time_range: TimeRange
    packet_dur_sec: float
    ntv_idxs: list[int]
    metric_ids: list[MetricID]
    packet_idxs: npt.NDArray[np.int64] = Field(repr=False)
    packet_first_sample: npt.NDArray[np.int64] = Field(repr=False)
    val: npt.NDArray[np.float64] = Field(repr=False)
    walltime: str = ""

    @property
    def TR(self) -> TimeRange:
        """Alias of :attr:`time_range`."""
        return self.time_range

    @property
    def num_packets(self) -> int:
        return int(self.val.shape[0])

    @property
    def num_sigs(self) -> int:
        return int(self.val.shape[1])

    @property
    def packet_stats(self) -> dict[str, Any]:
        """Always ``{}`` (as documented)."""
        return {}

    @property
    def settings(self) -> dict[str, Any]:
        """``dsource_id``, ``num_packets``, ``num_sigs``, ``num_metrics``, ``packet_dur_sec``,
        ``time_range``, ``signal_type`` ('PRI')."""
        return {
            "dsource_id": self.dsource_id,
            "num_packets": self.num_packets,
            "num_sigs": self.num_sigs,
            "num_metrics": len(self.metric_ids),
            "packet_dur_sec": self.packet_dur_sec,
            "time_range": self.time_range,
            "signal_type": "PRI",
        }

    @property
    def table(self) -> pd.DataFrame:
        """The documented summary, one column (``Value``).

        Examples
        --------
        >>> m.table.loc['num packets', 'Value']  # doctest: +SKIP
        60
        """
        tr = self.time_range
        rows = {
            "datasource ID": self.dsource_id,
            "signal type": "PRI",
            "time range (sec)": f"[{tr.sec[0]:.3f}, {tr.sec[1]:.3f}]",
            "wall time": self.walltime,
            "num signals": self.num_sigs,
            "num metrics": len(self.metric_ids),
            "packet dur (sec)": self.packet_dur_sec,
            "num packets": self.num_packets,
        }
        return pd.DataFrame({"Value": list(rows.values())}, index=list(rows))

    def to_dataframe(self) -> pd.DataFrame:
        """Long table: one row per (packet, channel), one column per metric (``MODE:NAME``).

        Examples
        --------
        >>> m.to_dataframe().columns[:3].tolist()  # doctest: +SKIP
        ['packet_idx', 'first_sample', 'ntv_idx']
        """
        n_p, n_c, _ = self.val.shape
        data: dict[str, Any] = {
            "packet_idx": np.repeat(self.packet_idxs, n_c),
            "first_sample": np.repeat(self.packet_first_sample, n_c),
            "ntv_idx": np.tile(np.asarray(self.ntv_idxs, np.int64), n_p),
        }
        for j, mid in enumerate(self.metric_ids):
            data[f"{mid.mode.name}:{mid.name.name}"] = self.val[:, :, j].reshape(-1)
        return pd.DataFrame(data)

    def print(self) -> None:
        """Print the label (ALLEGO for the live stream, else VIDERE) and :attr:`table`."""
        label = "ALLEGO" if self.dsource_id == LIVE_SIGNALS_ID else "VIDERE"
        print(f"{label}: Signal metrics")
        print(self.table)

    def plot(self, file: str | Path | None = None, show: bool = False) -> Any:
        """Draw one panel per metric: value per packet (x: stream time), one line per channel.

        Needs matplotlib (``pip install 'radiens-async[plot]'``).

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ImportError
            When matplotlib is not installed.

        Examples
        --------
        >>> m.plot(file='/tmp/metrics.png')  # doctest: +SKIP
        """
        try:
            import matplotlib

            if not show:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                "plotting signal metrics needs matplotlib: pip install 'radiens-async[plot]'"
            ) from exc
        n = len(self.metric_ids)
        fig, axes = plt.subplots(n, 1, figsize=(8, 2.2 * n), sharex=True, squeeze=False)
        t = self.packet_first_sample / self.time_range.fs
        for j, mid in enumerate(self.metric_ids):
            ax = axes[j, 0]
            ax.plot(t, self.val[:, :, j], lw=0.8)
            label, units = METRIC_LABELS.get(mid.name, (mid.name.name, ""))
            ax.set_ylabel(f"{label}\n[{units}]" if units else label, fontsize=8)
            ax.set_title(f"{mid.mode.name} {mid.name.name}", fontsize=8)
        axes[-1, 0].set_xlabel("stream time (s)")
        fig.suptitle(f"{self.dsource_id}: signal metrics ({self.num_sigs} channels)")
        fig.tight_layout()
        if file is not None:
            fig.savefig(Path(file).expanduser())
        if show:
            plt.show()
        return fig


class SignalMetricsStatus(BaseModel):
    """State of the signal metrics of a dataset (``type='file'``) or the live cache ('cache')."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    datasource_id: str
    time_range: TimeRange
    packet_dur_sec: float
    num_packets: int
    num_sigs: int
    is_complete: bool
    frac_complete: float
    is_tracking_cache: bool
    beta: float
    persistence_sec: float
    update_period_sec: float
    wall_time_start: str
    type: str
    scanner_mode: str

    @property
    def TR(self) -> TimeRange:
        return self.time_range

    @property
    def is_calculating_metrics(self) -> bool:
        """For a file: not complete yet; for the live cache: always True."""
        return True if self.type == "cache" else not self.is_complete

    def as_dict(self) -> dict[str, Any]:
        """The documented status dict (``time_range``, ``packet_dur_sec``, ``beta`` ...)."""
        return {
            "time_range": self.time_range,
            "packet_dur_sec": self.packet_dur_sec,
            "beta": self.beta,
            "is_tracking_cache": self.is_tracking_cache,
            "wall_time_start": self.wall_time_start,
            "persistence_sec": self.persistence_sec,
        }

    @property
    def summary_table(self) -> pd.DataFrame:
        """Rows ``dsource_id``, ``source``, ``time_range``, ``walltime``, ``num_signals``,
        ``packet_dur_sec``, ``num_packetes`` (sic)."""
        tr = self.time_range
        rows = {
            "dsource_id": self.datasource_id,
            "source": self.type,
            "time_range": f"[{tr.sec[0]:.3f}, {tr.sec[1]:.3f}]",
            "walltime": self.wall_time_start,
            "num_signals": self.num_sigs,
            "packet_dur_sec": self.packet_dur_sec,
            "num_packetes": self.num_packets,
        }
        return pd.DataFrame({"Value": list(rows.values())}, index=list(rows))

    def print(self) -> None:
        print("Signal metrics status")
        print(self.summary_table)
