"""``allego.AllegoCore`` over the hub's domain: status, configuration, streaming and recording,
sensors, workspaces; the signal group, DSP group and instrument outputs come from mixins."""

from __future__ import annotations

from radiens_async._generated.allego import allegoserver_pb2_grpc
from radiens_async.hub.radiens.dsp_group_calls import DspGroupCalls
from radiens_async.hub.radiens.outputs_calls import InstrumentOutputCalls
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.signal_group_calls import SignalGroupCalls


class AllegoCoreService(
    SignalGroupCalls,
    DspGroupCalls,
    InstrumentOutputCalls,
    allegoserver_pb2_grpc.AllegoCoreServicer,
):
    """``allego.AllegoCore`` of an Allego app, translated onto the hub's domain objects."""

    def __init__(self, domain: RadiensDomain) -> None:
        self.domain = domain
