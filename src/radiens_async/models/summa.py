"""Summa (multi-dataset signal-metric statistics): status, histograms and analyses."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from radiens_async.models.dataset_metadata import DatasetMetadata
from radiens_async.models.signal_metrics import MetricID
from radiens_async.utils.enums import SummaryStats

__all__ = ["STAT_COLUMNS", "Histogram", "SummaAnalysis", "SummaStatus"]

STAT_COLUMNS = [
    "mean", "sd", "mode", "min", "max", "mode_count", "median", "q25", "q75", "skew", "kurtosis",
    "N",
]  # fmt: skip
"""Columns of the statistics tables, in the SummaryStats order."""


class SummaStatus(BaseModel):
    """State of a Summa session.

    Examples
    --------
    >>> st = await videre.summa_session_status('s1')  # doctest: +SKIP
    >>> st.is_complete, st.frac_complete  # doctest: +SKIP
    (True, 1.0)
    """

    model_config = ConfigDict(frozen=True)

    id: str
    is_complete: bool
    frac_complete: float
    packet_dur_sec: float
    dataset_ids: list[str] = Field(default_factory=list)
    dsource_wall_start: str = ""
    dsource_wall_end: str = ""
    analysis_start: str = ""
    elapsed_sec: float = 0.0
    message: str = ""
    error: str = ""

    def string(self) -> str:
        """The documented one-line summary."""
        state = "complete" if self.is_complete else "working"
        return (
            f"SUMMA:{self.id} - started @ {self.analysis_start} (duration:"
            f" {self.elapsed_sec:.3f} sec); {state} ({self.frac_complete:.2f}/1.00), packet dur="
            f"{self.packet_dur_sec:.3f} sec"
        )

    def __str__(self) -> str:
        return self.string()


class Histogram(BaseModel):
    """A metric's statistics (12 values, SummaryStats order) and histogram (counts per bin)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    stats: npt.NDArray[np.float64] = Field(repr=False)
    counts: npt.NDArray[np.float64] = Field(repr=False)
    dividers: npt.NDArray[np.float64] = Field(repr=False)
    scale: str = "counts"

    @property
    def num_bins(self) -> int:
        return int(self.counts.size)

    def stat(self, which: SummaryStats) -> float:
        """One statistic, e.g. ``hist.stat(SummaryStats.MEDIAN)``."""
        return float(self.stats[int(which)])


def _table(histograms: dict[MetricID, Histogram]) -> pd.DataFrame:
    index = [f"{m.mode.name}:{m.name.name}" for m in histograms]
    rows = [h.stats for h in histograms.values()]
    return pd.DataFrame(rows, index=pd.Index(index, name="metric"), columns=STAT_COLUMNS)


class SummaAnalysis(BaseModel):
    """Statistics of a completed Summa session.

    ``aggregate`` holds, per metric, the statistics over every channel and packet of every
    dataset; ``datasource`` the same per dataset. ``aggregate_table`` / ``datasource_table(id)``
    give them as DataFrames (rows ``MODE:NAME``, columns :data:`STAT_COLUMNS`).

    Examples
    --------
    >>> a = await videre.summa_get_session_aggregate_statistics('s1')  # doctest: +SKIP
    >>> a.aggregate_table.loc['BASE:RMS', 'median']  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id: str
    status: SummaStatus
    aggregate: dict[MetricID, Histogram] = Field(default_factory=dict)
    datasource: dict[str, dict[MetricID, Histogram]] = Field(default_factory=dict)
    all_dsource_info: dict[str, DatasetMetadata] = Field(default_factory=dict)

    @property
    def metric_ids(self) -> list[MetricID]:
        if self.aggregate:
            return list(self.aggregate)
        first = next(iter(self.datasource.values()), {})
        return list(first)

    @property
    def aggregate_table(self) -> pd.DataFrame:
        return _table(self.aggregate)

    def datasource_table(self, dataset_id: str) -> pd.DataFrame:
        """Statistics of one dataset of the session."""
        return _table(self.datasource[dataset_id])

    @property
    def datasource_tables(self) -> dict[str, pd.DataFrame]:
        return {d: _table(h) for d, h in self.datasource.items()}

    def __repr__(self) -> str:
        body: Any = self.aggregate_table if self.aggregate else list(self.datasource)
        return f"SummaAnalysis({self.id}, {self.status.string()})\n{body}"
