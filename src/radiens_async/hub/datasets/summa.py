"""Summa: signal-metric statistics over several datasets, as background sessions.

A session computes the default signal metrics (BASE mode) of every packet of ``bin_dur_sec`` of
every amplifier channel of each dataset (with the dataset's event thresholds), then summarises
each metric per dataset and over all datasets: the 12 SummaryStats values of the finite values
and a histogram. Sessions (definition, status and results) are persisted in the hub's store.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.datasets.metrics_engine import DEFAULT_METRICS, MetricsEngine
from radiens_async.hub.store import HubStore
from radiens_async.hub.summary_stats import summary_vector

__all__ = ["HISTOGRAM_BINS", "SummaSessions", "SummaState", "SummaStats"]

HISTOGRAM_BINS = 20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS summa_sessions (
    summa_id    TEXT PRIMARY KEY,
    dataset_ids TEXT NOT NULL,
    bin_dur_sec REAL NOT NULL,
    started     REAL NOT NULL,
    finished    REAL NOT NULL,
    error       TEXT NOT NULL,
    result      TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class SummaStats:
    """Statistics of one metric of one dataset (``dataset_id=''``: aggregated)."""

    dataset_id: str
    mode: int
    name: int
    stats: list[float]
    counts: list[float]
    dividers: list[float]


@dataclass
class SummaState:
    """A session: what it covers, how far it is, and its statistics when done."""

    summa_id: str
    dataset_ids: list[str]
    bin_dur_sec: float
    started: float = 0.0
    finished: float = 0.0
    frac_complete: float = 0.0
    error: str = ""
    wall_start: str = ""
    wall_end: str = ""
    stats: list[SummaStats] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return self.finished > 0 and not self.error


def _stats_of(dataset_id: str, mode: int, name: int, values: np.ndarray) -> SummaStats:
    v = values[np.isfinite(values)]
    if v.size:
        counts, dividers = np.histogram(v, bins=HISTOGRAM_BINS)
    else:
        counts, dividers = np.zeros(0), np.zeros(0)
    return SummaStats(
        dataset_id,
        mode,
        name,
        list(summary_vector(v)),
        counts.astype(float).tolist(),
        dividers.astype(float).tolist(),
    )


class SummaSessions:
    """Summa sessions of one hub.

    Parameters
    ----------
    store : HubStore
        Persistent state (table ``summa_sessions``).
    metrics : MetricsEngine
        Computes the per-packet metrics of each dataset.
    """

    def __init__(self, store: HubStore, metrics: MetricsEngine) -> None:
        self.store = store
        self.metrics = metrics
        store.ensure_schema(_SCHEMA)
        self._lock = threading.Lock()
        self._sessions: dict[str, SummaState] = {}
        for row in store.query("SELECT * FROM summa_sessions"):
            self._sessions[str(row[0])] = self._from_row(row)

    @staticmethod
    def _from_row(row: tuple[Any, ...]) -> SummaState:
        sid, ids, bin_dur, started, finished, error, result = row
        doc = json.loads(result) if result else {}
        state = SummaState(str(sid), json.loads(ids), float(bin_dur), started, finished)
        state.error = str(error)
        if not finished and not error:  # the hub stopped while it ran
            state.error = "the hub restarted before the session completed; launch it again"
        state.frac_complete = 1.0 if finished and not error else 0.0
        state.wall_start = doc.get("wall_start", "")
        state.wall_end = doc.get("wall_end", "")
        state.stats = [SummaStats(**s) for s in doc.get("stats", [])]
        return state

    def _save(self, s: SummaState, finished: float | None = None) -> None:
        result = json.dumps(
            {
                "wall_start": s.wall_start,
                "wall_end": s.wall_end,
                "stats": [vars(x) for x in s.stats],
            }
        )
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO summa_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    s.summa_id,
                    json.dumps(s.dataset_ids),
                    s.bin_dur_sec,
                    s.started,
                    s.finished if finished is None else finished,
                    s.error,
                    result,
                ),
            )

    def launch(self, summa_id: str, dataset_ids: list[str], bin_dur_sec: float) -> SummaState:
        """Start (or restart) a session in the background.

        Raises
        ------
        InvalidArgument
            No datasets, a duplicate, or a bin duration that is not positive.
        NotFound
            An unknown dataset ID (nothing is started).
        """
        summa_id = summa_id or "default"
        if not dataset_ids:
            raise InvalidArgument("dataset_ids must name at least one linked dataset")
        if len(set(dataset_ids)) != len(dataset_ids):
            raise InvalidArgument(f"dataset_ids repeats a dataset: {dataset_ids}")
        if not np.isfinite(bin_dur_sec) or bin_dur_sec <= 0:
            raise InvalidArgument(f"bin_dur_sec must be a positive number, got {bin_dur_sec}")
        for d in dataset_ids:
            self.metrics.view(d)  # NotFound / FailedPrecondition before anything starts
        state = SummaState(summa_id, list(dataset_ids), float(bin_dur_sec), started=time.time())
        with self._lock:
            self._sessions[summa_id] = state
        self._save(state)
        threading.Thread(
            target=self._run, args=(state,), name=f"summa-{summa_id}", daemon=True
        ).start()
        return state

    def _run(self, s: SummaState) -> None:
        try:
            per_metric: dict[tuple[int, int], list[np.ndarray]] = {}
            walls = []
            for i, d in enumerate(s.dataset_ids):
                p, pick, view = self.metrics.params(d)
                p = replace(p, packet_dur_s=s.bin_dur_sec)
                base, _isi = self.metrics._compute(view, pick, p, 0, view.n_samples, False)
                if view.walltime is not None:
                    walls.append(view.walltime)
                for mode, name in DEFAULT_METRICS:
                    values = base[:, :, name].reshape(-1)
                    per_metric.setdefault((int(mode), int(name)), []).append(values)
                    s.stats.append(_stats_of(d, int(mode), int(name), values))
                s.frac_complete = (i + 1) / len(s.dataset_ids)
            for (mode_value, name_value), parts in per_metric.items():
                s.stats.append(_stats_of("", mode_value, name_value, np.concatenate(parts)))
            if walls:
                s.wall_start, s.wall_end = min(walls).isoformat(), max(walls).isoformat()
        except Exception as exc:  # reported in the status; the hub keeps serving
            s.error = f"{type(exc).__name__}: {exc}"
        finished = time.time()
        with self._lock:
            current = self._sessions.get(s.summa_id) is s
        if current:  # not cleared or relaunched meanwhile
            self._save(s, finished)
        # complete only once persisted: a reader of the store then sees the same
        if not s.error:
            s.frac_complete = 1.0
        s.finished = finished

    def get(self, summa_id: str) -> SummaState:
        """A session's state.

        Raises
        ------
        NotFound
            Unknown session.
        """
        with self._lock:
            s = self._sessions.get(summa_id or "default")
        if s is None:
            raise NotFound(f"no Summa session {summa_id or 'default'!r} on this hub")
        return s

    def analysis(self, summa_id: str, part: str) -> tuple[SummaState, list[SummaStats]]:
        """Statistics of a completed session: ``'agg'``, ``'dsource:all'`` or ``'dsource:a,b,'``.

        Raises
        ------
        FailedPrecondition
            The session is still running or failed.
        InvalidArgument
            An unknown part, or a dataset that is not in the session.
        """
        s = self.get(summa_id)
        if part == "":
            return s, []
        if not s.is_complete:
            raise FailedPrecondition(
                f"Summa session {s.summa_id!r} is not complete"
                + (f": {s.error}" if s.error else f" ({s.frac_complete:.2f}/1.00)")
            )
        if part == "agg":
            return s, [x for x in s.stats if x.dataset_id == ""]
        if part.startswith("dsource:"):
            names = part.removeprefix("dsource:")
            if names == "all":
                return s, [x for x in s.stats if x.dataset_id]
            wanted = [n for n in names.split(",") if n]
            unknown = [n for n in wanted if n not in s.dataset_ids]
            if unknown or not wanted:
                raise InvalidArgument(
                    f"dataset {unknown or names!r} is not in Summa session {s.summa_id!r}"
                    f" ({s.dataset_ids})"
                )
            return s, [x for x in s.stats if x.dataset_id in wanted]
        raise InvalidArgument(f"unknown Summa analysis part {part!r} ('agg' or 'dsource:...')")

    def list(self) -> dict[str, list[str]]:
        """``{summa_id: dataset_ids}``."""
        with self._lock:
            return {k: list(v.dataset_ids) for k, v in self._sessions.items()}

    def clear(self) -> None:
        """Forget every session (running ones finish unseen)."""
        with self._lock:
            self._sessions.clear()
        with self.store.transaction() as db:
            db.execute("DELETE FROM summa_sessions")
