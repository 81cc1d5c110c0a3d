"""Ground-truth scoring of live spike detection and sorting against the simulator.

Scoring choices (shared by the acceptance test and read by ``benchmarks/spike_detection.py``'s
author as the reference):

* **Detection recall** of unit ``u``: the fraction of its true spikes matched (within
  ``delta_ms``, one-to-one) by a detection on ``u``'s *peak channel*. Detection is per channel,
  so a spike seen only on a neighbour does not count for ``u``.
* **Detection precision** on that channel: the fraction of the channel's detections that match a
  true spike of *any* unit whose footprint includes the channel. A neighbour's spike seen on the
  channel is a real spike, not a false positive; noise crossings and double detections (e.g.
  on an after-lobe) are.
* **Sorting accuracy** of unit ``u``: SpikeInterface's ``accuracy`` (tp / (tp + fn + fp)) of the
  sorted unit it is matched to, where every ``(channel, label >= 1)`` is a sorted unit and
  labels are taken as finally stored (a spike published before its unit was discovered is
  relabeled in the store). Unlabeled spikes count as misses.

Matching uses ``spikeinterface.comparison.compare_sorter_to_ground_truth`` (which needs numba);
without numba, the same one-to-one matching is done here so the targets are still enforced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

try:  # SpikeInterface's matcher is numba-compiled
    import numba  # noqa: F401
    from spikeinterface.comparison import compare_sorter_to_ground_truth
    from spikeinterface.core import NumpySorting

    HAVE_SI = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_SI = False

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class UnitScore:
    unit_id: int
    peak_channel: int
    snr: float
    n_true: int
    recall: float
    precision: float
    accuracy: float


def count_matches(a: I64, b: I64, tol: int) -> int:
    """One-to-one matches between two sorted spike trains within ``tol`` samples (greedy)."""
    i = j = n = 0
    while i < a.size and j < b.size:
        d = int(b[j]) - int(a[i])
        if abs(d) <= tol:
            n += 1
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return n


def _si_matches(gt: dict[int, I64], tested: dict[int, I64], fs: float, delta_ms: float):
    gts = NumpySorting.from_unit_dict([gt], fs)
    tst = NumpySorting.from_unit_dict([tested], fs)
    return compare_sorter_to_ground_truth(gts, tst, delta_time=delta_ms, exhaustive_gt=True)


def score_units(
    sim_units: list,  # list[SimUnit]
    truth: np.ndarray,
    sample_index: I64,
    channel: NDArray[np.int32],
    label: NDArray[np.int32],
    fs: float,
    delta_ms: float = 0.5,
) -> list[UnitScore]:
    """Score detection and sorting of every simulated unit (see the module docstring)."""
    tol = round(delta_ms * fs / 1000.0)
    true_of = {
        u.unit_id: np.sort(truth["sample_index"][truth["unit_id"] == u.unit_id]) for u in sim_units
    }
    det_of = {c: np.sort(sample_index[channel == c]) for c in {u.peak_channel for u in sim_units}}
    visible = {
        c: np.sort(np.concatenate([true_of[u.unit_id] for u in sim_units if c in u.channels]))
        for c in det_of
    }
    labeled = label > 0
    sorted_units = {
        int(c) * 1000 + int(k): np.sort(sample_index[labeled & (channel == c) & (label == k)])
        for c, k in {
            (int(c), int(k)) for c, k in zip(channel[labeled], label[labeled], strict=True)
        }
    }

    if HAVE_SI:
        det_cmp = _si_matches(
            {u.unit_id: true_of[u.unit_id] for u in sim_units},
            {c + 1: det_of[c] for c in det_of},
            fs,
            delta_ms,
        )
        vis_cmp = _si_matches(
            {c + 1: visible[c] for c in det_of}, {c + 1: det_of[c] for c in det_of}, fs, delta_ms
        )
        sort_perf = (
            _si_matches(
                {u.unit_id: true_of[u.unit_id] for u in sim_units}, sorted_units, fs, delta_ms
            ).get_performance()
            if sorted_units
            else None
        )

    out = []
    for u in sim_units:
        c = u.peak_channel
        tu, dc = true_of[u.unit_id], det_of[c]
        if HAVE_SI:
            hits = int(det_cmp.match_event_count.loc[u.unit_id, c + 1])
            good = int(vis_cmp.match_event_count.loc[c + 1, c + 1])
            acc = float(sort_perf.loc[u.unit_id, "accuracy"]) if sort_perf is not None else 0.0
        else:  # pragma: no cover - depends on the environment
            hits = count_matches(tu, dc, tol)
            good = count_matches(visible[c], dc, tol)
            acc = 0.0
            for train in sorted_units.values():
                tp = count_matches(tu, train, tol)
                acc = max(acc, tp / (tu.size + train.size - tp) if tu.size + train.size else 0.0)
        out.append(
            UnitScore(
                unit_id=u.unit_id,
                peak_channel=c,
                snr=float(u.snr),
                n_true=int(tu.size),
                recall=hits / tu.size if tu.size else 1.0,
                precision=good / dc.size if dc.size else 1.0,
                accuracy=acc,
            )
        )
    return out
