"""``allego.AllegoCore`` calls: GetDSPGroup, SetDSPGroup (a mixin of :class:`AllegoCoreService`).

The device's :class:`~radiens_async.hub.daq.live_dsp_group.LiveDspGroup` is the one DSP group of
the live stream; our own protocol and this one see the same lists. ``SetDSPGroup`` replaces one
stage as a whole (radiens-core: "the other stages are left alone"); a bad step refuses the whole
request and changes nothing.
"""

from __future__ import annotations

import math

import grpc

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.live_dsp_group import (
    DspParams,
    DspType,
    FilterFamily,
    FilterStage,
    LiveDspGroup,
)
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.signal_group import check_stream_group
from radiens_async.hub.status_codes import unary

_PORTS = "ABCDEFGH"


def _integral(name: str, value: float) -> int:
    """A native index sent as a double (``targetNtvChanIdx``) as an int."""
    if not math.isfinite(value) or value != int(value):
        raise InvalidArgument(f"{name} must be a whole channel index, got {value!r}")
    return int(value)


def dsp_params_from_proto(msg: common_pb2.DSPParams) -> DspParams:
    """One wire ``DSPParams`` as a domain step (values are checked when the stage is set).

    Raises
    ------
    InvalidArgument
        An unknown type, port or family number, or a fractional target channel.
    """
    if msg.type not in DspType.__members__.values():
        raise InvalidArgument(f"unknown DSPType {msg.type} (LOWPASS=0 .. PAIRED_REFERENCE=7)")
    if not 0 <= msg.port < len(_PORTS):
        raise InvalidArgument(f"unknown port {msg.port} (A=0 .. H=7)")
    family = None
    if msg.HasField("family"):
        if msg.family not in FilterFamily.__members__.values():
            raise InvalidArgument(
                f"unknown FilterFamily {msg.family} (BUTTERWORTH=0, CHEBYSHEV_I=1)"
            )
        family = FilterFamily(msg.family)
    which = msg.WhichOneof("freqSpec")
    return DspParams(
        type=DspType(msg.type),
        port=_PORTS[msg.port],
        freq=msg.freq if which == "freq" else None,
        band=(msg.freqSpecBand.lowFreq, msg.freqSpecBand.highFreq)
        if which == "freqSpecBand"
        else None,
        ref_ntv_idx=msg.refNtvChanIdx if which == "refNtvChanIdx" else None,
        notch_bandwidth=msg.notchBandwidth if msg.HasField("notchBandwidth") else None,
        user_label=msg.userLabel,
        target_ntv_idx=_integral("targetNtvChanIdx", msg.targetNtvChanIdx)
        if msg.HasField("targetNtvChanIdx")
        else None,
        is_aux=msg.isAux,
        aux_ntv_idx=msg.auxChanIdx if msg.HasField("auxChanIdx") else None,
        filter_order=msg.filterOrder if msg.HasField("filterOrder") else None,
        zero_phase=msg.zeroPhase,
        force_sos=msg.forceSOS,
        family=family,
        ripple_db=msg.rippleDB if msg.HasField("rippleDB") else None,
    )


def dsp_params_to_proto(p: DspParams) -> common_pb2.DSPParams:
    """A domain step as a complete wire ``DSPParams`` (every required field set)."""
    msg = common_pb2.DSPParams(
        type=int(p.type),  # type: ignore[arg-type]
        stage=int(p.stage),  # type: ignore[arg-type]
        userLabel=p.user_label,
        port=_PORTS.index(p.port),  # type: ignore[arg-type]
        isAux=p.is_aux,
        zeroPhase=p.zero_phase,
        forceSOS=p.force_sos,
    )
    if p.freq is not None:
        msg.freq = p.freq
    elif p.band is not None:
        msg.freqSpecBand.lowFreq, msg.freqSpecBand.highFreq = p.band
    elif p.ref_ntv_idx is not None:
        msg.refNtvChanIdx = p.ref_ntv_idx
    if p.notch_bandwidth is not None:
        msg.notchBandwidth = p.notch_bandwidth
    if p.target_ntv_idx is not None:
        msg.targetNtvChanIdx = float(p.target_ntv_idx)
    if p.aux_ntv_idx is not None:
        msg.auxChanIdx = p.aux_ntv_idx
    if p.filter_order is not None:
        msg.filterOrder = p.filter_order
    if p.family is not None:
        msg.family = int(p.family)  # type: ignore[assignment]
    if p.ripple_db is not None:
        msg.rippleDB = p.ripple_db
    return msg


def dsp_group_to_proto(group: LiveDspGroup) -> common_pb2.DSPGroup:
    """The three lists of the device's DSP group."""
    return common_pb2.DSPGroup(
        hardware=[dsp_params_to_proto(p) for p in group.hardware],
        softwareStage1=[dsp_params_to_proto(p) for p in group.stage1],
        softwareStage2=[dsp_params_to_proto(p) for p in group.stage2],
    )


def filter_stage_from_proto(stage: int) -> FilterStage:
    """The stage a ``SetDSPGroupRequest`` replaces.

    Raises
    ------
    InvalidArgument
        ``SPIKE_SORTER`` (the sorter's own filter is not a DSP group stage) or an unknown value.
    """
    if stage == common_pb2.SPIKE_SORTER:
        raise InvalidArgument(
            "stage SPIKE_SORTER is not a DSP group stage; set STAGE_HARDWARE, STAGE1 or STAGE2"
            " (the sorter sees stage 2)"
        )
    if stage not in FilterStage.__members__.values():
        raise InvalidArgument(f"unknown FilterStage {stage} (STAGE_HARDWARE=0, STAGE1=1, STAGE2=2)")
    return FilterStage(stage)


class DspGroupCalls:
    """AllegoCore methods for GetDSPGroup, SetDSPGroup, over ``self.domain``."""

    domain: RadiensDomain

    @unary
    async def GetDSPGroup(
        self, request: common_pb2.SignalGroupIDRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.DSPGroup:
        check_stream_group(request.streamGroupId)
        return dsp_group_to_proto(self.domain.device.dsp_group)

    @unary
    async def SetDSPGroup(
        self, request: common_pb2.SetDSPGroupRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        check_stream_group(request.streamGroupId)
        stage = filter_stage_from_proto(request.stage)
        steps = []
        for k, msg in enumerate(request.dspParams):
            try:
                steps.append(dsp_params_from_proto(msg))
            except InvalidArgument as exc:
                raise InvalidArgument(f"DSP step {k}: {exc.message}") from None
        device = self.domain.device
        # designs take milliseconds (settling times of low cut-offs): short enough for the loop
        device.dsp_group.set_stage(stage, steps, recording=device.recording)
        return common_pb2.StandardReply()
