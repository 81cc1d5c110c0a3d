"""``allego.AllegoCore`` calls: GetSignalGroupIDs, GetSignalGroup, UpdateSignalGroup.

A mixin of :class:`AllegoCoreService`.

``UpdateSignalGroup`` edits the device's :class:`ChannelSelection` the way radiens-core's
``set_selected_channels`` / ``select_channels`` / ``deselect_channels`` / ``set_channel_groups``
drive an Allego: ``SELECT`` and ``COLOR`` only ADD or REMOVE the listed channels of one signal
type (channels not named are left alone), ``COLOR`` ADD makes a new group of the listed
*selected* channels, ``SORT`` reorders the display by site position.
"""

from __future__ import annotations

import grpc

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.channel_selection import ChannelSelection
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.signal_group import (
    LIVE_SIGNAL_GROUP_ID,
    check_stream_group,
    signal_group,
    signal_type_of,
)
from radiens_async.hub.status_codes import unary

_Req = common_pb2.UpdateSignalGroupRequest
_SORT_AXES = {
    common_pb2.SubOpSort.SITE_CTR_X: "x",
    common_pb2.SubOpSort.SITE_CTR_Y: "y",
    common_pb2.SubOpSort.SITE_CTR_Z: "z",
}


def apply_update(selection: ChannelSelection, request: common_pb2.UpdateSignalGroupRequest) -> None:
    """Apply one ``UpdateSignalGroupRequest`` to ``selection`` (all or nothing).

    Raises
    ------
    InvalidArgument
        A missing or unusable sub-operation, unknown channels, the retired audio operation.
    """
    stype = signal_type_of(request.signalType)
    op = request.operation
    which = request.WhichOneof("subOperation")
    idxs = list(request.ntvChanIdx)
    if op == _Req.SORT:
        if which != "sortOp":
            raise InvalidArgument("operation SORT needs sortOp (the site coordinates to sort by)")
        selection.sort(stype, [_SORT_AXES[f] for f in request.sortOp.sort])
        return
    if op == _Req.DEPRECATED_AUDIO:
        raise InvalidArgument("operation DEPRECATED_AUDIO is no longer supported by Allego")
    if which != "addRemove":
        raise InvalidArgument(
            f"operation {_Req.Operation.Name(op)} needs addRemove (ADD or REMOVE)"
        )
    add = request.addRemove == _Req.ADD
    if op == _Req.SELECT:
        (selection.select if add else selection.deselect)(stype, idxs)
    elif add:
        selection.add_color_group(stype, idxs)
    else:
        selection.remove_color_group(stype, idxs)


class SignalGroupCalls:
    """AllegoCore methods for the live signal group (channel table and selection)."""

    domain: RadiensDomain

    @unary
    async def GetSignalGroupIDs(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.GetSignalGroupIDsReply:
        # one continuous group (the live stream); spike-descendant (discrete) groups: none
        return common_pb2.GetSignalGroupIDsReply(continuous=[LIVE_SIGNAL_GROUP_ID], discrete=[])

    @unary
    async def GetSignalGroup(
        self, request: common_pb2.SignalGroupIDRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.SignalGroup:
        check_stream_group(request.streamGroupId)
        return signal_group(self.domain.device)

    @unary
    async def UpdateSignalGroup(
        self, request: common_pb2.UpdateSignalGroupRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        check_stream_group(request.streamGroupId)
        apply_update(self.domain.device.channel_selection, request)
        return common_pb2.StandardReply(errMsg="")
