"""Signal metrics (KPI) of linked datasets and of the live stream, on the hub.

Each target (a dataset ID, or :data:`LIVE_DATASET_ID`) has its parameters
(:class:`MetricsParams`, ``standard`` until changed). ``calculate`` scans a dataset in the
background, packet by packet, and keeps the base packets; ``get_metrics`` answers from that scan
when it covers the request, and otherwise computes the requested packets on demand, so results
are always those of the current parameters and the current files. Changing a parameter, or a
change of the dataset's files, drops the scan (and restarts it if one was wanted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.dsp.signal_metrics import (
    MetricsParams,
    combine_modes,
    packet_metrics_and_isi_mean,
)
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.datasets.signal_view import (
    LIVE_DATASET_ID,
    ChannelPick,
    SignalView,
    resolve_columns,
    resolve_window,
)
from radiens_async.utils.enums import MetricMode, MetricName, TrsMode

__all__ = [
    "DEFAULT_LIVE_LAG_S",
    "DEFAULT_METRICS",
    "PACKET_DUR",
    "MetricsEngine",
    "MetricsResult",
]

THR_LEVEL, THR_LEVEL_SD, THR_WDW = 1, 4, 8
WEAK_THR_LEVEL, WEAK_THR_LEVEL_SD, SHADOW = 10, 13, 17
THR_ACTIVATE, WEAK_THR_ACTIVATE = 19, 21
PACKET_DUR = 100
MAX_WINDOW_S = 0.010  # pre, post and shadow limits, as the live sorter's
MAX_PACKET_S = 3600.0
DEFAULT_LIVE_LAG_S = 5.0
DEFAULT_METRICS: tuple[tuple[MetricMode, MetricName], ...] = tuple(
    (MetricMode.BASE, name)
    for name in (
        MetricName.RMS,
        MetricName.NOISE_UV,
        MetricName.MAX_MIN_DIFF_ABS,
        MetricName.SNR,
        MetricName.EVENT_RATE,
        MetricName.EVENT_MEAN_MAX_MIN_DIFF_ABS,
    )
)

ViewOf = Callable[[str], SignalView]


@dataclass(frozen=True)
class MetricsResult:
    """Requested metrics: ``val`` is (packets, channels, metrics)."""

    dataset_id: str
    t0_pos: int
    t1_pos: int
    view: SignalView
    packet_dur_s: float
    ntv_idxs: list[int]
    metric_ids: list[tuple[MetricMode, MetricName]]
    packet_idxs: npt.NDArray[np.int64]
    packet_first_sample: npt.NDArray[np.int64]
    val: npt.NDArray[np.float64]


@dataclass
class _Scan:
    """A background scan of a whole dataset with one parameter set."""

    params: MetricsParams
    version: int
    n_packets: int
    done: int = 0
    base: npt.NDArray[np.float64] | None = None
    isi_mean: npt.NDArray[np.float64] | None = None
    error: str = ""
    started: float = 0.0
    finished: float = 0.0
    cancel: threading.Event | None = None


def parse_metric_ids(ids: Sequence[tuple[int, int]]) -> list[tuple[MetricMode, MetricName]]:
    """Validate ``(mode, name)`` pairs (empty: the documented default list).

    Raises
    ------
    InvalidArgument
        An unknown metric mode or name.
    """
    if not ids:
        return list(DEFAULT_METRICS)
    out = []
    for mode, name in ids:
        if mode not in MetricMode._value2member_map_:
            raise InvalidArgument(f"unknown metric mode {mode} (BASE=0, AVG=1, STREAM=2)")
        if name not in MetricName._value2member_map_:
            raise InvalidArgument(f"unknown metric name {name} (0..{len(MetricName) - 1})")
        out.append((MetricMode(mode), MetricName(name)))
    return out


class MetricsEngine:
    """Parameters, scans and on-demand computation of signal metrics.

    Parameters
    ----------
    dataset_view : callable
        ``dataset_id -> SignalView`` of a linked dataset (the catalog's ``view``).
    live_view : callable, optional
        ``() -> SignalView`` of the live cache.
    """

    def __init__(
        self, dataset_view: ViewOf, live_view: Callable[[], SignalView] | None = None
    ) -> None:
        self._dataset_view = dataset_view
        self._live_view = live_view
        self._lock = threading.RLock()
        self._params: dict[str, MetricsParams] = {}
        self._scans: dict[str, _Scan] = {}
        self._wanted: set[str] = set()

    # -- targets ------------------------------------------------------------------------
    def view(self, target: str) -> SignalView:
        """The view of a target (``''`` or ``'Live Signals'``: the live cache)."""
        if target in ("", LIVE_DATASET_ID):
            if self._live_view is None:
                raise FailedPrecondition("this hub has no live stream")
            return self._live_view()
        return self._dataset_view(target)

    @staticmethod
    def _key(target: str) -> str:
        return LIVE_DATASET_ID if target in ("", LIVE_DATASET_ID) else target

    def _amp(self, view: SignalView) -> ChannelPick:
        return resolve_columns(view, None, ("amp",))

    def params(self, target: str) -> tuple[MetricsParams, ChannelPick, SignalView]:
        """Current parameters of a target (``standard`` until changed)."""
        return self._params_of(target, self.view(target))

    def _params_of(
        self, target: str, view: SignalView
    ) -> tuple[MetricsParams, ChannelPick, SignalView]:
        pick = self._amp(view)
        key = self._key(target)
        with self._lock:
            p = self._params.get(key)
            if p is None or p.n_channels != pick.columns.size:
                p = MetricsParams.standard(pick.columns.size)
                self._params[key] = p
        return p, pick, view

    def set_param(
        self,
        target: str,
        command: int,
        floats: Sequence[float],
        bools: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> MetricsParams:
        """Apply one parameter command (the sorter's protocol, plus PACKET_DUR).

        Raises
        ------
        InvalidArgument
            Unknown command, malformed registers, unknown channel, out-of-range value.
        """
        p, pick, _view = self.params(target)
        if len(floats) != 2 or len(bools) != 2:
            raise InvalidArgument(
                f"parameter command {command} needs 2 float and 2 bool register slots,"
                f" got {len(floats)} and {len(bools)}"
            )
        ntv = pick.ntv_idxs["amp"]
        if ntv_idxs:
            unknown = sorted(set(ntv_idxs) - set(ntv))
            if unknown:
                raise InvalidArgument(f"amp native index {unknown[:5]} is not a channel")
            rows = np.asarray([ntv.index(i) for i in ntv_idxs], np.intp)
        else:
            rows = np.arange(len(ntv), dtype=np.intp)
        slots = tuple(float(f) if b else None for f, b in zip(floats, bools, strict=True))
        if command in (THR_LEVEL, THR_LEVEL_SD, WEAK_THR_LEVEL, WEAK_THR_LEVEL_SD):
            ref = "uV" if command in (THR_LEVEL, WEAK_THR_LEVEL) else "sd"
            weak = command in (WEAK_THR_LEVEL, WEAK_THR_LEVEL_SD)
            new = p.with_levels(rows, (slots[0], slots[1]), ref, weak)
        elif command in (THR_ACTIVATE, WEAK_THR_ACTIVATE):
            states = tuple(None if s is None else s != 0.0 for s in slots)
            new = p.with_active(rows, (states[0], states[1]), command == WEAK_THR_ACTIVATE)
        elif command == THR_WDW:
            pre, post = float(floats[0]), float(floats[1])
            if not (0 <= pre <= MAX_WINDOW_S and 0 <= post <= MAX_WINDOW_S):
                raise InvalidArgument(
                    f"event window pre/post must be in [0, {MAX_WINDOW_S * 1e3:g}] ms,"
                    f" got {pre * 1e3:g}, {post * 1e3:g}"
                )
            new = replace(p, pre_s=pre, post_s=post)
        elif command == SHADOW:
            shadow = float(floats[0])
            if not 0 < shadow <= MAX_WINDOW_S:
                raise InvalidArgument(
                    f"event shadow must be in (0, {MAX_WINDOW_S * 1e3:g}] ms, got {shadow * 1e3:g}"
                )
            new = replace(p, shadow_s=shadow)
        elif command == PACKET_DUR:
            dur = float(floats[0])
            if not 0 < dur <= MAX_PACKET_S:
                raise InvalidArgument(
                    f"packet duration must be in (0, {MAX_PACKET_S:g}] s, got {dur:g}"
                )
            new = replace(p, packet_dur_s=dur)
        else:
            raise InvalidArgument(
                f"unknown signal metrics parameter command {command} (THR_LEVEL=1, THR_LEVEL_SD=4,"
                " THR_WDW=8, WEAK_THR_LEVEL=10, WEAK_THR_LEVEL_SD=13, SHADOW=17, THR_ACTIVATE=19,"
                " WEAK_THR_ACTIVATE=21, PACKET_DUR=100)"
            )
        key = self._key(target)
        with self._lock:
            self._params[key] = new
        self._restart(key)
        return new

    # -- scans --------------------------------------------------------------------------
    def calculate(self, target: str, cmd: str = "standard") -> None:
        """Scan a dataset in the background (``standard``: reset thresholds to ±2 V_rms).

        Raises
        ------
        InvalidArgument
            ``cmd`` not ``standard`` / ``custom``.
        FailedPrecondition
            For the live stream (metrics are computed on demand there).
        """
        if cmd not in ("standard", "custom"):
            raise InvalidArgument("cmd must be `standard` or `custom`")
        key = self._key(target)
        if key == LIVE_DATASET_ID:
            raise FailedPrecondition("metrics calculate is not available for allego")
        p, _pick, _view = self.params(target)
        if cmd == "standard":
            with self._lock:
                self._params[key] = MetricsParams.standard(p.n_channels, p.packet_dur_s)
        with self._lock:
            self._wanted.add(key)
        self._restart(key, force=True)

    def _restart(self, key: str, force: bool = False) -> None:
        with self._lock:
            old = self._scans.pop(key, None)
            if old is not None and old.cancel is not None:
                old.cancel.set()
            if key not in self._wanted or key == LIVE_DATASET_ID:
                return
            if not force and old is None:
                return
        try:
            p, pick, view = self.params(key)
        except Exception:  # the dataset is gone: nothing to scan
            return
        pts = max(1, round(p.packet_dur_s * view.fs))
        scan = _Scan(p, view.version, -(-view.n_samples // pts), started=time.time())
        scan.cancel = threading.Event()
        with self._lock:
            self._scans[key] = scan
        threading.Thread(
            target=self._run_scan, args=(scan, view, pick), name=f"kpi-scan-{key}", daemon=True
        ).start()

    def _run_scan(self, scan: _Scan, view: SignalView, pick: ChannelPick) -> None:
        try:
            base, isi = self._compute(view, pick, scan.params, 0, view.n_samples, True, scan)
            scan.base, scan.isi_mean = base, isi
        except Exception as exc:  # reported through the status; the hub keeps serving
            scan.error = f"{type(exc).__name__}: {exc}"
        scan.finished = time.time()

    def clear(self, target: str) -> None:
        """Drop a dataset's scan and parameters.

        Raises
        ------
        FailedPrecondition
            For the live stream (``metrics clear is not available for allego``).
        """
        key = self._key(target)
        if key == LIVE_DATASET_ID:
            raise FailedPrecondition("metrics clear is not available for allego")
        self.view(target)  # NotFound for an unknown dataset
        self.forget(key)

    def forget(self, dataset_id: str) -> None:
        """Drop everything about a dataset (it was unlinked) or restart its scan (files changed)."""
        with self._lock:
            self._params.pop(dataset_id, None)
            self._wanted.discard(dataset_id)
            scan = self._scans.pop(dataset_id, None)
            if scan is not None and scan.cancel is not None:
                scan.cancel.set()

    def files_changed(self, dataset_id: str) -> None:
        """The dataset's files changed: its scan is stale; rescan if one was wanted."""
        self._restart(dataset_id, force=dataset_id in self._wanted)

    # -- status -------------------------------------------------------------------------
    def status(self, target: str) -> dict[str, Any]:
        """What ``get_metrics_status`` reports (see the SignalMetricsStatus model)."""
        p, pick, view = self.params(target)
        key = self._key(target)
        with self._lock:
            scan = self._scans.get(key)
        pts = max(1, round(p.packet_dur_s * view.fs))
        is_live = key == LIVE_DATASET_ID
        if is_live:
            complete, frac, mode = True, 1.0, "off"
        elif scan is None:
            complete, frac, mode = False, 0.0, "off"
        else:
            complete = scan.base is not None
            frac = 1.0 if complete else scan.done / max(1, scan.n_packets)
            mode = "off" if complete or scan.error else "sprinting"
        beta = 0.0
        if scan is not None and scan.finished and scan.n_packets:
            data_dur = view.n_samples / view.fs
            beta = 1.0 - (scan.finished - scan.started) / max(data_dur, 1e-9)
        return {
            "dataset_id": key,
            "view": view,
            "packet_dur_sec": p.packet_dur_s,
            "num_packets": view.n_samples // pts,
            "num_sigs": pick.columns.size,
            "is_complete": complete,
            "frac_complete": frac,
            "is_tracking_cache": is_live,
            "beta": beta,
            "persistence_sec": view.n_samples / view.fs if is_live else 0.0,
            "update_period_sec": p.packet_dur_s,
            "wall_time_start": view.walltime,
            "source_type": "cache" if is_live else "file",
            "scanner_mode": mode,
            "error": scan.error if scan is not None else "",
        }

    # -- metrics ------------------------------------------------------------------------
    def get_metrics(
        self,
        target: str,
        window: tuple[int, int] | None,
        metric_ids: Sequence[tuple[int, int]],
        tail: bool,
    ) -> MetricsResult:
        """Metrics of the packets of a window (positions; None: the default window).

        Packets start at the window's start and last the packet duration; ``tail`` adds the last,
        partial packet. The default window is the whole dataset, or the last 5 s of the live cache.
        """
        ids = parse_metric_ids(metric_ids)
        return self._metrics(target, self.view(target), window, ids, tail)

    def get_metrics_sec(
        self,
        target: str,
        sec: Sequence[float],
        metric_ids: Sequence[tuple[int, int]],
        tail: bool,
    ) -> MetricsResult:
        """:meth:`get_metrics` of a window in seconds, as the API gives it.

        For the live cache ``sec`` is ``[]`` or ``[lag]`` (the last ``lag`` seconds); for a
        dataset ``[]`` or ``[start, end]`` of its stream time. The window is resolved on the same
        view snapshot the metrics are computed from.

        Raises
        ------
        InvalidArgument
            A malformed or out-of-range window, or an unknown metric.
        """
        view = self.view(target)
        window: tuple[int, int] | None = None
        if view.is_live and sec:
            if len(sec) != 1:
                raise InvalidArgument(
                    "allego: time_range must be None or scalar lag time (sec) from head of"
                    " primary cache"
                )
            window = resolve_window(view, TrsMode.FROM_HEAD, sec)
        elif sec:
            if len(sec) != 2:
                raise InvalidArgument(
                    "videre: time_range must be None or [start, end] (sec) with respect to"
                    " datasource time range"
                )
            window = resolve_window(view, TrsMode.SUBSET, sec)
        ids = parse_metric_ids(metric_ids)
        return self._metrics(target, view, window, ids, tail)

    def _metrics(
        self,
        target: str,
        view: SignalView,
        window: tuple[int, int] | None,
        ids: list[tuple[MetricMode, MetricName]],
        tail: bool,
    ) -> MetricsResult:
        p, pick, view = self._params_of(target, view)
        if window is None:
            if view.is_live:
                lag = round(DEFAULT_LIVE_LAG_S * view.fs)
                window = (max(0, view.n_samples - lag), view.n_samples)
            else:
                window = (0, view.n_samples)
        p0, p1 = window
        pts = max(1, round(p.packet_dur_s * view.fs))
        base, isi = self._from_scan(target, view, p, p0, p1, tail, pts)
        if base is None or isi is None:
            base, isi = self._compute(view, pick, p, p0, p1, tail)
        n_packets = base.shape[0]
        if n_packets == 0:
            raise InvalidArgument(
                f"the window holds no whole packet of {p.packet_dur_s:g} s; use tail=True or a"
                " longer window"
            )
        cols = np.empty((n_packets, base.shape[1], len(ids)), np.float64)
        modes: dict[MetricMode, npt.NDArray[np.float64]] = {}
        for j, (mode, name) in enumerate(ids):
            if mode not in modes:
                modes[mode] = combine_modes(base, mode, isi)
            cols[:, :, j] = modes[mode][:, :, name]
        starts = p0 + pts * np.arange(n_packets, dtype=np.int64)
        return MetricsResult(
            dataset_id=self._key(target),
            t0_pos=p0,
            t1_pos=min(p1, int(starts[-1]) + pts),
            view=view,
            packet_dur_s=p.packet_dur_s,
            ntv_idxs=pick.ntv_idxs["amp"],
            metric_ids=ids,
            packet_idxs=starts // pts,
            packet_first_sample=view.first_sample + starts,
            val=cols,
        )

    def _from_scan(
        self,
        target: str,
        view: SignalView,
        p: MetricsParams,
        p0: int,
        p1: int,
        tail: bool,
        pts: int,
    ) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
        with self._lock:
            scan = self._scans.get(self._key(target))
        if (
            scan is None
            or scan.base is None
            or scan.isi_mean is None
            or scan.params is not p
            or scan.version != view.version
            or p0 % pts
        ):
            return None, None
        k0 = p0 // pts
        full = (p1 - p0) // pts
        k1 = k0 + full + (1 if tail and (p1 - p0) % pts else 0)
        last_end = min(p0 + (k1 - k0) * pts, view.n_samples)
        if k1 > scan.base.shape[0] or (tail and last_end != p1):
            return None, None
        return scan.base[k0:k1], scan.isi_mean[k0:k1]

    def _compute(
        self,
        view: SignalView,
        pick: ChannelPick,
        p: MetricsParams,
        p0: int,
        p1: int,
        tail: bool,
        scan: _Scan | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        pts = max(1, round(p.packet_dur_s * view.fs))
        bounds = []
        start = p0
        while start + pts <= p1:
            bounds.append((start, start + pts))
            start += pts
        if tail and start < p1:
            bounds.append((start, p1))
        n_ch = pick.columns.size
        base = np.empty((len(bounds), n_ch, len(MetricName)))
        isi = np.empty((len(bounds), n_ch))
        cols = pick.slice_or_columns()
        for k, (a, b) in enumerate(bounds):
            if scan is not None and scan.cancel is not None and scan.cancel.is_set():
                raise RuntimeError("cancelled")
            x = view.read(a, b, cols)
            base[k], isi[k] = packet_metrics_and_isi_mean(x, view.first_sample + a, view.fs, p)
            if scan is not None:
                scan.done = k + 1
        return base, isi


def walltime_iso(value: datetime | None) -> str:
    """ISO text of a wall time ('' when unknown)."""
    if value is None:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
