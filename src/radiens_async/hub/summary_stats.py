"""Summary statistics vectors (the documented 12-element SummaryStats order) for dashboards."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from radiens_async.utils.enums import SummaryStats


def summary_vector(values: np.ndarray) -> tuple[float, ...]:
    """The 12 statistics of ``values`` in the documented SummaryStats order.

    Examples
    --------
    >>> summary_vector(np.array([1.0, 2.0, 2.0]))[SummaryStats.MODE]
    2.0
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(SummaryStats))
    out[SummaryStats.N] = v.size
    if v.size:
        vals, counts = np.unique(v, return_counts=True)
        out[SummaryStats.MEAN] = v.mean()
        out[SummaryStats.SD] = v.std(ddof=1) if v.size > 1 else 0.0
        out[SummaryStats.MODE] = vals[np.argmax(counts)]
        out[SummaryStats.MODE_COUNT] = counts.max()
        out[SummaryStats.MIN] = v.min()
        out[SummaryStats.MAX] = v.max()
        out[SummaryStats.MEDIAN] = np.median(v)
        out[SummaryStats.Q25], out[SummaryStats.Q75] = np.percentile(v, [25, 75])
        if v.size > 2 and np.ptp(v) > 0:
            out[SummaryStats.SKEW] = sps.skew(v)
            out[SummaryStats.KURTOSIS] = sps.kurtosis(v)
    return tuple(float(x) for x in out)
