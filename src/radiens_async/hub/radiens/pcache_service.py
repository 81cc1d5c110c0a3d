"""``allego.Pcache1`` over the hub's domain: windows of the live signal cache.

Two ways to read the cache, as an Allego offers them:

* ``GetHDSnapshot2`` (radiens-core's ``get_signals``): a time range (SUBSET, TO_HEAD or
  FROM_HEAD, see :mod:`.live_time_range`) and a channel subset per signal type, optionally with
  the stage-2 DSP applied; the reply carries the signal group, the range actually served and one
  float32 ``[n_ch, n_samp]`` matrix per signal type asked for.
* ``GetSignals`` + ``SetTimeRangeToHead`` (the documented radiens 4.0.1 cursor API): every call
  returns all channels from the component's cursor to the head, and moves the cursor on.

The samples are the cache's own (the same bytes our ``radiens.v1`` reads return), sent with one
``tobytes`` per matrix.
"""

from __future__ import annotations

import asyncio
import math

import grpc
import numpy as np
import numpy.typing as npt
from google.protobuf import unknown_fields

from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.signal_cache import CacheWindow, SignalCache
from radiens_async.hub.radiens.hd_snapshot_wire import encode_hd_snapshot2
from radiens_async.hub.radiens.healthcheck import HealthcheckCalls
from radiens_async.hub.radiens.live_time_range import LiveSelMode, SampleSpan, resolve_live_span
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.signal_group import (
    LIVE_SIGNAL_GROUP_ID,
    check_stream_group,
    signal_group_bytes,
)
from radiens_async.hub.status_codes import unary
from radiens_async.utils.constants import LIVE_CLIENT_COMPONENT_ID

MAX_SNAPSHOT_BYTES = 256 << 20
"""Largest sample payload of one ``GetHDSnapshot2`` reply (larger: RESOURCE_EXHAUSTED)."""

MAX_RAW_SIGNALS_BYTES = 256 << 20
"""Largest payload of one ``GetSignals`` reply; the rest comes with the next call."""

INLINE_READ_BYTES = 16 << 20
"""Windows up to this size are copied on the event loop (~ms); larger ones in a worker thread."""

# SigSelector field -> signal type, in the order of Signals2's matrices
_SIG_FIELDS: tuple[tuple[str, StreamSignalType, str], ...] = (
    ("ampNtvIdxs", StreamSignalType.AMP, "amp"),
    ("ainNtvIdxs", StreamSignalType.AIN, "ain"),
    ("dinNtvIdxs", StreamSignalType.DIN, "din"),
    ("doutNtvIdxs", StreamSignalType.DOUT, "dout"),
)


def _unknown_numbers(msg: common_pb2.HDSnapshotRequest2) -> set[int]:
    """Field numbers proto2 kept as unknown (e.g. an enum value this protocol lacks)."""
    fields = unknown_fields.UnknownFieldSet(msg)
    return {fields[i].field_number for i in range(len(fields))}


def _sel_mode(request: common_pb2.HDSnapshotRequest2) -> LiveSelMode:
    if 3 in _unknown_numbers(request):
        raise InvalidArgument(
            "unknown selMode value (TRS_SUBSET=0, TRS_TO_HEAD=1, TRS_FROM_HEAD=2)"
        )
    return LiveSelMode(request.selMode)


def picked_rows(
    device: AllegoDevice, sig_sel: common_pb2.SigSelector | None
) -> list[tuple[StreamSignalType, str, npt.NDArray[np.intp]]]:
    """Cache rows (sys indices) of a ``SigSelector``, per signal type asked for.

    Without a selector, every amplifier channel (radiens-core's default).

    Raises
    ------
    InvalidArgument
        A native index that is not a channel of its type, or a selector that names no channel.
    """
    layout = device.layout
    out: list[tuple[StreamSignalType, str, npt.NDArray[np.intp]]] = []
    for field, stype, name in _SIG_FIELDS:
        if sig_sel is None:
            if stype != StreamSignalType.AMP:
                continue
            wanted = [c.ntv_idx for c in layout.of_type(stype)]
        else:
            wanted = list(getattr(sig_sel, field))
        if not wanted:
            continue
        sys_of = {c.ntv_idx: c.sys_idx for c in layout.of_type(stype)}
        unknown = sorted({i for i in wanted if i not in sys_of})
        if unknown:
            n = len(sys_of)
            valid = f"0..{n - 1}" if n else "none"
            raise InvalidArgument(
                f"unknown {name} channel native indices {unknown[:8]} (valid: {valid})"
            )
        out.append((stype, name, np.asarray([sys_of[i] for i in wanted], dtype=np.intp)))
    if not out:
        raise InvalidArgument("empty channel selection: sigSel names no channel of any type")
    return out


def _check_selected_for_dsp(
    device: AllegoDevice, picks: list[tuple[StreamSignalType, str, npt.NDArray[np.intp]]]
) -> None:
    """Allego filters only selected channels: stage 2 of an unselected one cannot be read."""
    selection = device.channel_selection
    channels = device.layout.channels
    for _stype, name, rows in picks:
        off = sorted({channels[r].ntv_idx for r in rows if not selection.is_selected(channels[r])})
        if off:
            raise FailedPrecondition(
                f"applyDSPstage2 reads only selected channels; {name} channels {off[:8]} are "
                "not selected (select them first, or read without stage 2)"
            )


def time_range(span_start: int, span_stop: int, fs: float) -> common_pb2.TimeRange:
    """The served range: seconds of stream time and sample indices, ``[start, stop)``."""
    return common_pb2.TimeRange(
        timeRangeSec=[span_start / fs, span_stop / fs],
        timestamp=[span_start, span_stop],
        fs=fs,
    )


def _read(
    device: AllegoDevice,
    cache: SignalCache,
    span: SampleSpan,
    rows: npt.NDArray[np.intp] | None,
    apply_stage2: bool,
) -> CacheWindow:
    if apply_stage2:
        # stage-2 DSP of the live group (hub/daq/live_dsp_group.py): causal filters warmed up
        # on the samples before the window; with no stage 2 set this is cache.read itself
        return device.dsp_group.read_stage2(cache, span.start, span.stop, rows)
    return cache.read(span.start, span.stop, rows)


class Pcache1Service(HealthcheckCalls, allegoserver_pb2_grpc.Pcache1Servicer):
    """``allego.Pcache1`` of an Allego app, translated onto the hub's domain objects."""

    def __init__(self, domain: RadiensDomain) -> None:
        self.domain = domain
        # components whose cursor a GetSignals on these ports has used: SetTimeRangeToHead
        # names only the stream group, so it moves all of them (and the documented one)
        self._components: set[str] = {LIVE_CLIENT_COMPONENT_ID}

    @unary
    async def GetHDSnapshot2(
        self, request: common_pb2.HDSnapshotRequest2, context: grpc.aio.ServicerContext
    ) -> bytes:
        """An ``HDSnapshot2`` in wire format (the servicer is registered to pass bytes on)."""
        device = self.domain.device
        check_stream_group(request.dsourceID, "dsourceID")
        mode = _sel_mode(request)
        fs_asked = request.tR.fs
        if math.isnan(fs_asked) or fs_asked < 0 or math.isinf(fs_asked):
            raise InvalidArgument(f"tR.fs must be a non-negative number, got {fs_asked}")
        fs = device.fs
        timestamps = list(request.tR.timestamp)
        if timestamps and fs_asked and fs_asked != fs:
            raise InvalidArgument(
                f"tR.timestamp counts samples at {fs_asked:g} Hz but the stream runs at {fs:g} Hz"
            )
        picks = picked_rows(device, request.sigSel if request.HasField("sigSel") else None)
        apply_stage2 = request.applyDSPstage2
        if apply_stage2:
            _check_selected_for_dsp(device, picks)
        cache = device.cache
        if (
            cache is None
            # a restart or new sensors leave the last stream's cache behind: not this layout's
            or cache.n_channels != device.layout.n_channels
            or (not device.streaming and cache.head <= cache.oldest)
        ):
            raise FailedPrecondition(
                "streaming is off and the live cache holds no samples: start streaming first"
            )
        span = resolve_live_span(
            mode, list(request.tR.timeRangeSec), fs, cache.oldest, cache.head, timestamps
        )
        picked = np.concatenate([r for _, _, r in picks])
        n_rows = picked.size
        # every row in order: the cache copies one block, no gather
        every = n_rows == cache.n_channels and np.array_equal(picked, np.arange(n_rows))
        rows = None if every else picked
        n_bytes = 4 * n_rows * span.n_samples
        if n_bytes > MAX_SNAPSHOT_BYTES:
            raise ResourceExhausted(
                f"{n_rows} channels x {span.n_samples} samples is {n_bytes / 2**20:.0f} MiB; "
                f"one reply holds at most {MAX_SNAPSHOT_BYTES >> 20} MiB: ask for a shorter "
                "range or fewer channels"
            )
        group_bytes = signal_group_bytes(device)

        def build() -> bytes:
            window = _read(device, cache, span, rows, apply_stage2)
            if window.n_samples == 0:
                raise FailedPrecondition(
                    "the live cache moved past the requested window while it was read; "
                    "ask for a more recent window"
                )
            matrices = []
            offset = 0
            for _stype, name, r in picks:
                matrices.append((name, window.data[offset : offset + r.size]))
                offset += r.size
            # written in the wire format: the samples copied once (hd_snapshot_wire)
            return encode_hd_snapshot2(
                LIVE_SIGNAL_GROUP_ID,
                group_bytes,
                time_range(window.first_sample, window.stop_sample, fs),
                matrices,
            )

        # a big window is read and encoded (two copies of up to MAX_SNAPSHOT_BYTES) off the loop
        return await asyncio.to_thread(build) if n_bytes > INLINE_READ_BYTES else build()

    @unary
    async def GetSignals(
        self, request: common_pb2.GetSignalsRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.RawSignals:
        # the display parameters (window, plot width, scaling, resampling) are the 4.0.1
        # client's way of asking for raw samples; raw samples are what every call returns
        check_stream_group(request.streamGroupId)
        device = self.domain.device
        component = request.params.componentID
        self._components.add(component)
        cap = max(1, MAX_RAW_SIGNALS_BYTES // (4 * device.layout.n_channels))

        def build() -> common_pb2.RawSignals:
            window = device.get_signals(component, cap)
            fs = device.fs
            t0, t1 = window.first_sample, window.stop_sample
            return common_pb2.RawSignals(
                shape=list(window.data.shape),
                timeRange=[t0 / fs, t1 / fs],
                data=window.data.tobytes(),
                tR=time_range(t0, t1, fs),
            )

        # up to MAX_RAW_SIGNALS_BYTES copied twice (cache, reply): off the event loop
        return await asyncio.to_thread(build)

    @unary
    async def SetTimeRangeToHead(
        self, request: common_pb2.SignalGroupIDRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        check_stream_group(request.streamGroupId)
        for component in self._components:
            self.domain.device.set_time_to_cache_head(component)
        return common_pb2.StandardReply(errMsg="")
