"""The spike sorter's state and dashboard, as the documented ``get_state``/``get_dashboard``."""

from __future__ import annotations

from typing import Final

import pandas as pd
from pydantic import BaseModel, ConfigDict

from radiens_async.utils.enums import SummaryStats

__all__ = [
    "PARAMS_COLUMNS",
    "SUMMARY_COLUMNS",
    "Dashboard",
    "PortSummary",
    "SorterState",
    "summary_row",
]

PARAMS_COLUMNS: Final = (
    "ntv_idx",
    "chan_enabled",
    "thr_activated",
    "thr",
    "thr_sd",
    "thr_wdw",
    "shadow",
    "weak_thr",
    "thr_wdw_pts",
    "shadow_pts",
    "weak_thr_activated",
    "weak_thr_sd",
)
"""Columns of the documented ``get_params()`` table, one row per channel."""

SUMMARY_COLUMNS: Final = (
    "stat",
    "port",
    "N",
    "mean",
    "sd",
    "min",
    "max",
    "median",
    "mode",
    "mode_cnt",
    "q25",
    "q75",
    "skew",
    "kurtosis",
)
_STAT_FIELDS: Final = (
    ("N", SummaryStats.N),
    ("mean", SummaryStats.MEAN),
    ("sd", SummaryStats.SD),
    ("min", SummaryStats.MIN),
    ("max", SummaryStats.MAX),
    ("median", SummaryStats.MEDIAN),
    ("mode", SummaryStats.MODE),
    ("mode_cnt", SummaryStats.MODE_COUNT),
    ("q25", SummaryStats.Q25),
    ("q75", SummaryStats.Q75),
    ("skew", SummaryStats.SKEW),
    ("kurtosis", SummaryStats.KURTOSIS),
)
_STATE_ROWS: Final = (
    "mode",
    "frac_complete",
    "message",
    "init_time",
    "launch_time",
    "session_start_time",
    "session_stop_time",
    "is_on",
    "kernel_err_message",
    "kernel_warn_message",
)


class SorterState(BaseModel):
    """What the sorter is doing: ``mode`` is ``SYS_ON``/``SYS_OFF``/``SYS_NOT_CONFIGURED``.

    Times are Unix seconds (0: never).

    Examples
    --------
    >>> SorterState(mode="SYS_OFF").state.loc["mode", "value"]
    'SYS_OFF'
    """

    model_config = ConfigDict(frozen=True)

    mode: str
    frac_complete: float = 0.0
    message: str = ""
    init_time: float = 0.0
    launch_time: float = 0.0
    session_start_time: float = 0.0
    session_stop_time: float = 0.0
    is_on: bool = False
    kernel_err_message: str = ""
    kernel_warn_message: str = ""

    @property
    def state(self) -> pd.DataFrame:
        """The documented one-column transposed table, rows ``mode`` to ``kernel_warn_message``."""
        return pd.DataFrame(
            {"value": [getattr(self, row) for row in _STATE_ROWS]}, index=list(_STATE_ROWS)
        )


class PortSummary(BaseModel):
    """12-element summary vectors (SummaryStats order) of one port's SNR, noise and unit count."""

    model_config = ConfigDict(frozen=True)

    port: str
    snr: tuple[float, ...]
    noise: tuple[float, ...]
    units: tuple[float, ...]


def summary_row(
    stat: str, port: str, vector: tuple[float, ...], *, counts: bool
) -> dict[str, object]:
    """One ``summary_stats`` row from a 12-element SummaryStats vector.

    A vector that is not 12 long is replaced by zeros (noise: 0.01), as documented; ``mode`` and
    ``mode_cnt`` are NaN unless the statistic counts something (units).
    """
    values = list(vector)
    if len(values) != len(SummaryStats):
        values = [0.01 if stat.endswith("noise") else 0.0] * len(SummaryStats)
    row: dict[str, object] = {"stat": stat, "port": port}
    for name, index in _STAT_FIELDS:
        value = values[int(index)]
        if name in ("mode", "mode_cnt") and not counts:
            value = float("nan")
        row[name] = value
    return row


class Dashboard(BaseModel):
    """The sorter dashboard: ``general``, ``summary_stats`` and ``state`` tables.

    Examples
    --------
    >>> dash = await allego.spike_sorter().get_dashboard()  # doctest: +SKIP
    >>> dash.general.loc["num_units", "value"]  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True)

    ports: tuple[str, ...]
    time_range: tuple[float, float]
    num_sites_total: int
    num_sites_enabled: int
    num_sites_active: int
    num_units: int
    num_spikes_processed: int
    num_spikes_labeled: int
    spikes_file_path: str
    spikes_file_base_name: str
    probe_snr: tuple[float, ...]
    probe_noise: tuple[float, ...]
    probe_units: tuple[float, ...]
    port_stats: tuple[PortSummary, ...]
    sorter_state: SorterState

    @property
    def general(self) -> pd.DataFrame:
        """One-column transposed table: ports, time range, site and unit counts, yields."""
        probe_yield = (
            self.num_sites_active / self.num_sites_enabled if self.num_sites_enabled else 0.0
        )
        site_yield = self.num_units / self.num_sites_active if self.num_sites_active else 0.0
        efficiency = (
            self.num_spikes_labeled / self.num_spikes_processed
            if self.num_spikes_processed
            else 0.0
        )
        rows: dict[str, object] = {
            "ports": list(self.ports),
            "time_range": list(self.time_range),
            "num_sites_total": self.num_sites_total,
            "num_sites_enabled": self.num_sites_enabled,
            "num_sites_active": self.num_sites_active,
            "num_units": self.num_units,
            "probe_yield_mean": probe_yield,
            "site_yield_mean": site_yield,
            "num_spikes_processed": self.num_spikes_processed,
            "num_spikes_labeled": self.num_spikes_labeled,
            "sort_efficiency": efficiency,
            "spikes_file_path": self.spikes_file_path,
            "spikes_file_base_name": self.spikes_file_base_name,
        }
        return pd.DataFrame({"value": list(rows.values())}, index=list(rows))

    @property
    def summary_stats(self) -> pd.DataFrame:
        """Rows ``probe-snr``/``probe-noise``/``probe-units`` (port ``all``), then per port."""
        rows = [
            summary_row("probe-snr", "all", self.probe_snr, counts=False),
            summary_row("probe-noise", "all", self.probe_noise, counts=False),
            summary_row("probe-units", "all", self.probe_units, counts=True),
        ]
        for p in self.port_stats:
            rows.append(summary_row("port-snr", p.port, p.snr, counts=False))
            rows.append(summary_row("port-noise", p.port, p.noise, counts=False))
            rows.append(summary_row("port-units", p.port, p.units, counts=True))
        return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    @property
    def state(self) -> pd.DataFrame:
        """The same table as ``get_state().state``."""
        return self.sorter_state.state
