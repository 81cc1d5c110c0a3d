"""The live DSP group of the stream: hardware, stage-1 and stage-2 filters and references.

Plain domain code (no gRPC). An Allego stream carries three lists of DSP steps
(:class:`DspParams`): *hardware* (on the acquisition hardware), *stage 1* (software, before the
cache and the recording: recorded samples include them) and *stage 2* (software, applied when
the signal is read and never stored: KPI metrics, the live spike sorter and
``GetHDSnapshot2(applyDSPstage2=True)`` see it). :class:`LiveDspGroup` holds the lists of one
device, validates a new list as a whole (nothing changes when one step is bad) and compiles it
into a :class:`DspChain` of steps over stream rows (sys indices).

Filters are causal (an online filter cannot look ahead), run in second-order sections from the
designs of :mod:`radiens_async.dsp.filters`; references use :mod:`radiens_async.dsp.references`.
Steps run in list order. A filter applies to the amplifier channels of its ``port`` (or to one
analog-in channel with ``is_aux``); CAR subtracts the mean of the port's amplifier channels,
a virtual reference subtracts one amplifier channel from the port's others, a paired reference
subtracts one channel from another (as the Curate kernels do, the reference row becomes zero).

Stage 2 of a window read from the cache (:meth:`LiveDspGroup.read_stage2`) is the stage-2
filter run over the whole stream, approximated by starting :attr:`DspChain.margin` samples
before the window (the filters' settling time, to ``1e-7`` of their gain, clipped to what the
cache holds) and dropping the warm-up. The spike feeder and stage 1 filter block by block with
per-row state (:class:`ChainState`), which is the same causal filter.

Examples
--------
>>> group = LiveDspGroup(layout, 30000.0)  # doctest: +SKIP
>>> hp = DspParams(DspType.HIGHPASS, "A", freq=300.0)
>>> group.set_stage(FilterStage.STAGE2, [hp])  # doctest: +SKIP
>>> window = group.read_stage2(device.cache, start, stop, rows)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt
from scipy import signal

from radiens_async.dsp.filters import butterworth_sos, notch_sos, settle_samples
from radiens_async.dsp.references import (
    common_average_reference,
    paired_difference,
    virtual_reference,
)
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq.channel_layout import ChannelLayout, StreamSignalType
from radiens_async.hub.daq.signal_cache import CacheWindow, SignalCache

if TYPE_CHECKING:
    from radiens_async.hub.daq.sample_source import SampleSource
    from radiens_async.hub.datasets.signal_view import SignalView

__all__ = [
    "MAX_FILTER_ORDER",
    "ChainState",
    "DspChain",
    "DspParams",
    "DspType",
    "FilterFamily",
    "FilterStage",
    "LiveDspGroup",
    "Stage1Source",
    "Stage2Reader",
    "stage2_signal_view",
]

F32 = npt.NDArray[np.float32]
Rows = npt.NDArray[np.intp]

#: Highest filter order accepted (higher designs gain nothing and risk precision).
MAX_FILTER_ORDER = 16
#: Chebyshev-I passband ripple when a step gives none (radiens-core documents 0.05 dB).
DEFAULT_RIPPLE_DB = 0.05
#: Samples per cache read while a window's filters warm up (bounds the memory of a read).
WARMUP_CHUNK = 1 << 16
#: Relative tolerance the warm-up margin is computed for (see ``settle_samples``).
SETTLE_TOL = 1e-7
#: Longest warm-up margin, in seconds (the cache holds about this much history anyway).
MAX_MARGIN_S = 10.0


class DspType(IntEnum):
    """What a DSP step does (the wire's ``DSPType`` numbers)."""

    LOWPASS = 0
    HIGHPASS = 1
    BANDPASS = 2
    NOTCH = 3
    BANDSTOP = 4
    CAR = 5
    VIRTUAL_REFERENCE = 6
    PAIRED_REFERENCE = 7


class FilterStage(IntEnum):
    """Where a DSP step runs (the wire's ``FilterStage`` numbers)."""

    HARDWARE = 0
    STAGE1 = 1
    STAGE2 = 2


class FilterFamily(IntEnum):
    """IIR design family (the wire's ``FilterFamily`` numbers)."""

    BUTTERWORTH = 0
    CHEBYSHEV_I = 1


_FILTERS = {DspType.LOWPASS, DspType.HIGHPASS, DspType.BANDPASS, DspType.NOTCH, DspType.BANDSTOP}
_ONE_EDGE = {DspType.LOWPASS: "lowpass", DspType.HIGHPASS: "highpass"}
_BANDS = {DspType.BANDPASS: "bandpass", DspType.BANDSTOP: "bandstop"}
_PORTS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class DspParams:
    """One DSP step, as ``DSPParams`` describes it on the wire (units Hz, native indices).

    Attributes
    ----------
    type : DspType
    port : str
        ``'A'`` .. ``'H'``: the amplifier port whose channels the step applies to.
    stage : FilterStage
        Set by :meth:`LiveDspGroup.set_stage` to the stage the step is stored in.
    freq : float, optional
        Cut-off (low/high-pass) or centre (notch) frequency.
    band : (float, float), optional
        Low and high edge of a band-pass / band-stop.
    ref_ntv_idx : int, optional
        Amplifier native index of the reference (virtual and paired references).
    notch_bandwidth : float, optional
        -3 dB width of a notch.
    user_label : str
    target_ntv_idx : int, optional
        Amplifier native index a paired reference applies to.
    is_aux : bool
        The step filters the analog-in channel ``aux_ntv_idx`` instead of a port.
    aux_ntv_idx : int, optional
    filter_order : int, optional
        Overall order (default 4; band designs take an even order, half per edge).
    zero_phase : bool
        Refused: the live stream is filtered causally.
    force_sos : bool
        Kept as given (every design runs as second-order sections).
    family : FilterFamily, optional
        Default Butterworth; ignored by notches and references.
    ripple_db : float, optional
        Chebyshev-I passband ripple (default 0.05 dB); unused by Butterworth.
    """

    type: DspType
    port: str = "A"
    stage: FilterStage = FilterStage.STAGE2
    freq: float | None = None
    band: tuple[float, float] | None = None
    ref_ntv_idx: int | None = None
    notch_bandwidth: float | None = None
    user_label: str = ""
    target_ntv_idx: int | None = None
    is_aux: bool = False
    aux_ntv_idx: int | None = None
    filter_order: int | None = None
    zero_phase: bool = False
    force_sos: bool = False
    family: FilterFamily | None = None
    ripple_db: float | None = None


# -- compiled steps ------------------------------------------------------------------------
@dataclass(frozen=True)
class _SosStep:
    """A causal IIR filter over some rows."""

    rows: Rows
    sos: npt.NDArray[np.float64]
    settle: int


@dataclass(frozen=True)
class _RefStep:
    """A re-reference: ``rows`` are all the rows it reads and writes."""

    type: DspType
    rows: Rows
    ref_row: int = -1  # virtual / paired reference
    target_row: int = -1  # paired reference


_Step = _SosStep | _RefStep


def _as_slice(rows: Rows) -> slice | Rows:
    """A slice for contiguous rows (views, no gather/scatter copies)."""
    if rows.size and np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size)):
        return slice(int(rows[0]), int(rows[0]) + rows.size)
    return rows


class DspChain:
    """A compiled DSP stage: steps in order over the rows of a block.

    Parameters
    ----------
    steps : sequence
        Compiled steps (built by :class:`LiveDspGroup`).
    n_rows : int
        Rows of the blocks the chain takes (stream rows, in sys-index order).

    Attributes
    ----------
    margin : int
        Warm-up samples after which the chain's output no longer depends on where it started
        (sum of its filters' settling times; 0 for references only).
    """

    def __init__(self, steps: Sequence[_Step], n_rows: int) -> None:
        self.steps: tuple[_Step, ...] = tuple(steps)
        self.n_rows = n_rows
        self.margin = sum(s.settle for s in self.steps if isinstance(s, _SosStep))

    def __len__(self) -> int:
        return len(self.steps)

    def needed_rows(self, rows: Rows | None) -> Rows:
        """The rows the chain must read to produce ``rows`` (None: all rows).

        A re-reference makes its rows depend on one another (and on their earlier steps), so
        the closure over re-references is taken, latest step first.
        """
        if rows is None:
            return np.arange(self.n_rows, dtype=np.intp)
        need = np.zeros(self.n_rows, dtype=bool)
        need[rows] = True
        for step in reversed(self.steps):
            if isinstance(step, _RefStep) and need[step.rows].any():
                need[step.rows] = True
        return np.flatnonzero(need).astype(np.intp)

    def on_rows(self, rows: Rows) -> DspChain:
        """The chain restated over a block holding only ``rows`` (in that order).

        ``rows`` must include :meth:`needed_rows` of whatever the caller keeps; steps on
        other rows are dropped, filters are cut down to the rows present.
        """
        pos = np.full(self.n_rows, -1, dtype=np.intp)
        pos[rows] = np.arange(len(rows), dtype=np.intp)
        out: list[_Step] = []
        for step in self.steps:
            mapped = pos[step.rows]
            if isinstance(step, _SosStep):
                kept = mapped[mapped >= 0]
                if kept.size:
                    out.append(_SosStep(kept, step.sos, step.settle))
            elif (mapped >= 0).all():
                out.append(
                    _RefStep(
                        step.type,
                        mapped,
                        int(pos[step.ref_row]) if step.ref_row >= 0 else -1,
                        int(pos[step.target_row]) if step.target_row >= 0 else -1,
                    )
                )
        return DspChain(out, len(rows))

    def new_state(self) -> ChainState:
        """Filter state at rest, for block-by-block processing."""
        return ChainState(self)


class ChainState:
    """A :class:`DspChain` with per-row filter state: feed consecutive blocks to :meth:`process`.

    Processing a signal in consecutive blocks gives the same result as processing it at once.
    The state arrays are allocated once and updated in place.

    Examples
    --------
    >>> state = chain.new_state()  # doctest: +SKIP
    >>> y = np.concatenate([state.process(b) for b in blocks], axis=1)  # doctest: +SKIP
    """

    def __init__(self, chain: DspChain) -> None:
        self.chain = chain
        self._zi = [
            np.zeros((s.sos.shape[0], s.rows.size, 2)) if isinstance(s, _SosStep) else None
            for s in chain.steps
        ]
        self._sel = [_as_slice(s.rows) for s in chain.steps]

    def process(self, block: F32) -> F32:
        """The chain's output for the next block ``(n_rows, n)`` (a new float32 array).

        The input is never modified (other sinks share the acquisition's blocks).
        """
        if block.shape[0] != self.chain.n_rows:
            raise ValueError(f"block has {block.shape[0]} rows, the chain {self.chain.n_rows}")
        out = np.array(block, dtype=np.float32, copy=True)
        if block.shape[1] == 0:
            return out
        for step, zi, sel in zip(self.chain.steps, self._zi, self._sel, strict=True):
            if isinstance(step, _SosStep):
                assert zi is not None
                y, zf = signal.sosfilt(step.sos, out[sel], axis=-1, zi=zi)
                out[sel] = y
                zi[...] = zf
            elif step.type == DspType.CAR:
                out = common_average_reference(out, cast("Sequence[int]", step.rows))
            elif step.type == DspType.VIRTUAL_REFERENCE:
                out = virtual_reference(out, step.ref_row, cast("Sequence[int]", step.rows))
            else:
                out = paired_difference(out, step.target_row, step.ref_row)
        return out


# -- design and validation -----------------------------------------------------------------
def _finite(name: str, value: float | None) -> float:
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a finite number, got {value!r}")
    return float(value)


def design_sos(p: DspParams, fs: float) -> npt.NDArray[np.float64]:
    """Second-order sections of a filter step (validated).

    Butterworth of the default order comes from :func:`~radiens_async.dsp.filters.butterworth_sos`
    and notches from :func:`~radiens_async.dsp.filters.notch_sos`; other orders and Chebyshev-I
    are designed with :func:`scipy.signal.iirfilter` after the same edge checks.

    Raises
    ------
    InvalidArgument
        A missing or out-of-range frequency, band, bandwidth, order, family or ripple.
    """
    label = p.type.name.lower()
    if p.type == DspType.NOTCH:
        if p.band is not None:
            raise InvalidArgument("a notch takes freq and notch_bandwidth, not a band")
        freq = _finite("notch freq", p.freq)
        bandwidth = _finite("notch_bandwidth", p.notch_bandwidth)
        return notch_sos(freq, bandwidth, fs)
    if p.type in _ONE_EDGE:
        if p.freq is None or p.band is not None:
            raise InvalidArgument(f"a {label} filter takes freq (its cut-off), not a band")
        edges = [_finite(f"{label} freq", p.freq)]
        btype = _ONE_EDGE[p.type]
    else:
        if p.band is None:
            raise InvalidArgument(f"a {label} filter takes a band (freqSpecBand low, high)")
        edges = [_finite(f"{label} low freq", p.band[0]), _finite(f"{label} high freq", p.band[1])]
        btype = _BANDS[p.type]
    default = butterworth_sos(btype, edges, fs)  # the edge checks (and the default design)
    family = FilterFamily.BUTTERWORTH if p.family is None else p.family
    if family not in FilterFamily.__members__.values():
        raise InvalidArgument(f"unknown filter family {p.family!r} (BUTTERWORTH=0, CHEBYSHEV_I=1)")
    order = 4 if p.filter_order is None else p.filter_order
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_FILTER_ORDER:
        raise InvalidArgument(f"filter order must be in 1..{MAX_FILTER_ORDER}, got {order!r}")
    if btype in ("bandpass", "bandstop") and order % 2:
        raise InvalidArgument(
            f"a {label} filter needs an even order (half per band edge), got {order}"
        )
    if family == FilterFamily.BUTTERWORTH and order == 4:
        return default
    n = order // 2 if btype in ("bandpass", "bandstop") else order
    wn = edges[0] if len(edges) == 1 else edges
    if family == FilterFamily.CHEBYSHEV_I:
        ripple = DEFAULT_RIPPLE_DB if p.ripple_db is None else _finite("ripple_db", p.ripple_db)
        if not 0 < ripple <= 10:
            raise InvalidArgument(f"ripple_db must be in (0, 10] dB, got {ripple:g}")
        sos = signal.iirfilter(n, wn, rp=ripple, btype=btype, ftype="cheby1", fs=fs, output="sos")
    else:
        sos = signal.iirfilter(n, wn, btype=btype, ftype="butter", fs=fs, output="sos")
    sos = np.asarray(sos, dtype=np.float64)
    _z, poles, _k = signal.sos2zpk(sos)
    if not (np.all(np.isfinite(sos)) and np.all(np.abs(poles) < 1.0)):
        raise InvalidArgument(
            f"the {label} filter of order {order} at {edges} Hz (fs {fs:g} Hz) is not stable"
        )
    return sos


class LiveDspGroup:
    """The DSP group of a device's live stream (see the module docstring).

    Parameters
    ----------
    layout : ChannelLayout
        The device's channels (rows of every block, in sys-index order).
    fs : float
        Sampling rate in Hz.
    has_hardware_filters : bool
        Whether the acquisition hardware filters (False for the simulator: a non-empty
        hardware list is refused).

    Attributes
    ----------
    hardware, stage1, stage2 : tuple of DspParams
        The lists as set.
    stage1_chain, stage2_chain : DspChain or None
        The compiled stages (None when empty); replaced, never mutated, so a thread that read
        one keeps a consistent chain.
    version : int
        Incremented at every change (lets consumers see that a chain was replaced).
    """

    def __init__(self, layout: ChannelLayout, fs: float, *, has_hardware_filters: bool = False):
        self.layout = layout
        self.fs = float(fs)
        self.has_hardware_filters = has_hardware_filters
        self.hardware: tuple[DspParams, ...] = ()
        self.stage1: tuple[DspParams, ...] = ()
        self.stage2: tuple[DspParams, ...] = ()
        self.stage1_chain: DspChain | None = None
        self.stage2_chain: DspChain | None = None
        self.version = 0
        amp = layout.of_type(StreamSignalType.AMP)
        ain = layout.of_type(StreamSignalType.AIN)
        self._amp_row = {c.ntv_idx: c.sys_idx for c in amp}
        self._ain_row = {c.ntv_idx: c.sys_idx for c in ain}
        self._port_rows: dict[str, Rows] = {}
        for c in amp:
            self._port_rows.setdefault(c.port, np.empty(0, np.intp))
        for port in self._port_rows:
            self._port_rows[port] = np.asarray(
                [c.sys_idx for c in amp if c.port == port], dtype=np.intp
            )

    # -- reading -----------------------------------------------------------------------
    def stage(self, stage: FilterStage) -> tuple[DspParams, ...]:
        """The list of one stage."""
        return {
            FilterStage.HARDWARE: self.hardware,
            FilterStage.STAGE1: self.stage1,
            FilterStage.STAGE2: self.stage2,
        }[stage]

    # -- changing ----------------------------------------------------------------------
    def set_stage(
        self, stage: FilterStage | int, params: Sequence[DspParams], *, recording: bool = False
    ) -> None:
        """Replace the list of one stage (every step is stored in ``stage``).

        The whole list is validated first; a bad step changes nothing.

        Raises
        ------
        InvalidArgument
            An unknown stage, or a step that is malformed (see :meth:`compile`).
        FailedPrecondition
            Hardware or stage 1 while recording; a hardware list on a device with no hardware
            filters.
        """
        try:
            stage = FilterStage(stage)
        except ValueError:
            raise InvalidArgument(
                f"unknown filter stage {stage!r} (STAGE_HARDWARE=0, STAGE1=1, STAGE2=2)"
            ) from None
        if stage != FilterStage.STAGE2 and recording:
            raise FailedPrecondition(
                f"cannot change the {stage.name.lower()} DSP while recording: stop the"
                " recording first (stage 2 can be changed at any time)"
            )
        steps = tuple(dataclasses.replace(p, stage=stage) for p in params)
        if stage == FilterStage.HARDWARE:
            if steps and not self.has_hardware_filters:
                raise FailedPrecondition(
                    "no acquisition hardware detected: the simulator has no hardware filters"
                    " (use stage 1 or stage 2)"
                )
            for p in steps:
                self._compile_step(p)  # validated, but run by the hardware
            self.hardware = steps
        elif stage == FilterStage.STAGE1:
            chain = self.compile(steps)
            self.stage1, self.stage1_chain = steps, chain
        else:
            chain = self.compile(steps)
            self.stage2, self.stage2_chain = steps, chain
        self.version += 1

    def compile(self, params: Sequence[DspParams]) -> DspChain | None:
        """Validate and compile a list of steps (None for an empty list).

        Raises
        ------
        InvalidArgument
            The step number and what is wrong: unknown type or port, a port that is not
            connected, an unknown channel, a missing or out-of-range frequency, a zero-phase
            request (the live stream is filtered causally), an aux reference.
        """
        if not params:
            return None
        steps = []
        for k, p in enumerate(params):
            try:
                steps.append(self._compile_step(p))
            except InvalidArgument as exc:
                raise InvalidArgument(f"DSP step {k} ({_describe(p)}): {exc.message}") from None
        return DspChain(steps, self.layout.n_channels)

    def _compile_step(self, p: DspParams) -> _Step:
        try:
            kind = DspType(p.type)
        except ValueError:
            raise InvalidArgument(
                f"unknown DSP type {p.type!r} (LOWPASS=0 .. PAIRED_REFERENCE=7)"
            ) from None
        if p.zero_phase:
            raise InvalidArgument(
                "zero-phase filtering is not supported on the live stream (filters are causal)"
            )
        if kind in _FILTERS:
            sos = design_sos(dataclasses.replace(p, type=kind), self.fs)
            rows = self._filter_rows(p)
            most = max(1, round(MAX_MARGIN_S * self.fs))
            return _SosStep(rows, sos, settle_samples(sos, SETTLE_TOL, max_samples=most))
        if p.is_aux:
            raise InvalidArgument(f"{kind.name} applies to amplifier ports, not to analog in")
        rows = self._port(p.port)
        if kind == DspType.CAR:
            if p.freq is not None or p.band is not None or p.ref_ntv_idx is not None:
                raise InvalidArgument("CAR takes no frequency and no reference channel")
            return _RefStep(kind, rows)
        ref = self._amp("reference channel (refNtvChanIdx)", p.ref_ntv_idx)
        if kind == DspType.VIRTUAL_REFERENCE:
            return _RefStep(kind, np.union1d(rows, [ref]).astype(np.intp), ref_row=ref)
        target = self._amp("target channel (targetNtvChanIdx)", p.target_ntv_idx)
        if target == ref:
            raise InvalidArgument(f"target and reference are the same channel ({p.ref_ntv_idx})")
        return _RefStep(
            kind, np.asarray(sorted((ref, target)), np.intp), ref_row=ref, target_row=target
        )

    def _port(self, port: str) -> Rows:
        if not isinstance(port, str) or port.upper() not in _PORTS or len(port) != 1:
            raise InvalidArgument(f"unknown port {port!r} (A .. H)")
        rows = self._port_rows.get(port.upper())
        if rows is None:
            connected = ", ".join(sorted(self._port_rows)) or "none"
            raise InvalidArgument(f"port {port} is not connected (connected: {connected})")
        return rows

    def _filter_rows(self, p: DspParams) -> Rows:
        if not p.is_aux:
            return self._port(p.port)
        idx = p.aux_ntv_idx
        if idx is None or isinstance(idx, bool) or idx not in self._ain_row:
            have = sorted(self._ain_row)
            raise InvalidArgument(f"analog-in channel {idx!r} does not exist (have {have})")
        return np.asarray([self._ain_row[idx]], np.intp)

    def _amp(self, what: str, ntv: int | None) -> int:
        if ntv is None or isinstance(ntv, bool) or ntv not in self._amp_row:
            n = len(self._amp_row)
            raise InvalidArgument(f"{what} {ntv!r} is not an amplifier channel (0..{n - 1})")
        return self._amp_row[ntv]

    # -- applying stage 2 --------------------------------------------------------------
    def read_stage2(
        self, cache: SignalCache, start: int, stop: int, rows: Rows | None = None
    ) -> CacheWindow:
        """Samples ``[start, stop)`` of ``rows`` with stage 2 applied (as ``cache.read``).

        This is the call for ``GetHDSnapshot2(applyDSPstage2=True)``: it takes the place of
        ``cache.read(start, stop, rows)`` and has its semantics (``stop`` clipped to the head,
        samples that left the cache counted in ``missed``). With no stage 2 set it *is*
        ``cache.read``. Otherwise the filters start :attr:`DspChain.margin` samples before
        ``start`` (clipped to the oldest cached sample) and the warm-up is dropped; the rows
        that re-references need are read as well, in chunks of :data:`WARMUP_CHUNK` samples.

        Parameters
        ----------
        cache : SignalCache
            The live cache.
        start, stop : int
            Absolute sample indices.
        rows : ndarray of intp, optional
            Cache rows (sys indices) to return, in that order; None for all rows.

        Returns
        -------
        CacheWindow
            float32 ``(len(rows), n)``.
        """
        chain = self.stage2_chain
        if chain is None:
            return cache.read(start, stop, rows)
        return Stage2Reader(chain).read(cache, start, stop, rows)


class Stage2Reader:
    """Reads stage-2 windows out of the cache, keeping filter state between consecutive reads.

    A read that starts where the previous one (of the same rows) stopped continues from the
    kept state instead of warming up again: the metrics engine reads a window packet by packet.

    Parameters
    ----------
    chain : DspChain
        The compiled stage 2.
    """

    def __init__(self, chain: DspChain) -> None:
        self.chain = chain
        self._key: tuple[bytes | None, int] | None = None  # (rows, next sample) of the state
        self._state: ChainState | None = None
        self._keep: Rows | None = None  # positions of the asked rows in the chain's rows
        self._need: Rows | None = None  # rows read from the cache

    def read(
        self, cache: SignalCache, start: int, stop: int, rows: Rows | None = None
    ) -> CacheWindow:
        """See :meth:`LiveDspGroup.read_stage2`."""
        stop = min(stop, cache.head)
        rows_key = None if rows is None else np.asarray(rows, np.intp).tobytes()
        if (
            self._state is None
            or self._key != (rows_key, start)
            or self._keep is None
            or self._need is None
        ):
            need = self.chain.needed_rows(rows)
            if rows is None:
                keep = np.arange(need.size, dtype=np.intp)
            else:
                keep = np.searchsorted(need, np.asarray(rows, np.intp)).astype(np.intp)
            self._state, self._keep, self._need = self.chain.on_rows(need).new_state(), keep, need
            # warm up on the margin before the window (what the cache still holds of it)
            t = max(start - self.chain.margin, cache.oldest)
            while t < start:
                part = cache.read(t, min(start, t + WARMUP_CHUNK), need)
                if part.n_samples == 0:
                    break
                self._state.process(part.data)
                t = part.stop_sample
        window = cache.read(start, stop, self._need)
        data = self._state.process(window.data)
        self._key = (rows_key, window.stop_sample)
        out = data if rows is None and self._keep.size == data.shape[0] else data[self._keep]
        return CacheWindow(np.ascontiguousarray(out), window.first_sample, window.missed)


def stage2_signal_view(view: SignalView, cache: SignalCache, group: LiveDspGroup) -> SignalView:
    """The live :class:`SignalView` with stage 2 applied to what it reads (the KPI's input).

    With no stage 2 set, ``view`` itself. Otherwise a copy whose ``read`` filters through one
    :class:`Stage2Reader` (consecutive reads continue its filter state).

    Raises (from ``read``)
    ----------------------
    FailedPrecondition
        When the cache moved past the window while it was read.
    """
    chain = group.stage2_chain
    if chain is None:
        return view
    reader = Stage2Reader(chain)
    oldest = view.first_sample

    def read(start: int, stop: int, columns: slice | Rows) -> F32:
        rows = np.arange(cache.n_channels, dtype=np.intp)[columns]
        window = reader.read(cache, oldest + start, oldest + stop, rows)
        if window.first_sample != oldest + start or window.n_samples != stop - start:
            raise FailedPrecondition(
                "the live cache moved past the requested window while it was read;"
                " ask for a more recent window"
            )
        return window.data

    return dataclasses.replace(view, read=read)


class Stage1Source:
    """A sample source with the device's stage 1 applied to every block it generates.

    Wraps the simulator for the acquisition loop: stage 1 runs in the acquisition thread,
    before the cache and the recorder, with per-row state. With no stage 1 set a block passes
    untouched (one attribute read per block).

    Parameters
    ----------
    source : SampleSource
        The device.
    group : callable
        Returns the current :class:`LiveDspGroup` (it is replaced when the device is
        reconfigured).
    """

    def __init__(self, source: SampleSource, group: Callable[[], LiveDspGroup]) -> None:
        self.source = source
        self._group = group
        self._chain: DspChain | None = None
        self._state: ChainState | None = None

    @property
    def next_sample(self) -> int:
        return self.source.next_sample

    def generate(self, n_samples: int) -> F32:
        block = self.source.generate(n_samples)
        chain = self._group().stage1_chain
        if chain is None:
            return block
        if chain is not self._chain or self._state is None:
            self._chain, self._state = chain, chain.new_state()
        return self._state.process(block)

    def reset(self) -> None:
        self.source.reset()
        self._chain = self._state = None


def _describe(p: DspParams) -> str:
    try:
        name = DspType(p.type).name
    except ValueError:
        name = f"type {p.type!r}"
    where = f"aux {p.aux_ntv_idx}" if p.is_aux else f"port {p.port}"
    return f"{name} on {where}"
