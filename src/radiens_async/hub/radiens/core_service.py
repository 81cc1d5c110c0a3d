"""``allego.AllegoCore`` over the hub's domain: status, configuration, streaming and recording,
sensors, workspaces; the signal group, DSP group and instrument outputs come from mixins.

Each method validates, calls the same domain objects our own ``radiens.v1`` servicers call
(:class:`AllegoDevice`, :class:`Workspaces`) and converts, so a change through either protocol is
seen through both. Where an Allego's rules differ from our own protocol's, the Allego's hold here
(radiens-core documents them): ``Restart`` and ``ScanPorts`` are refused while streaming,
``SetConfigCore`` too. Hardware-only calls answer as an Allego without that hardware does:
FAILED_PRECONDITION "no ... hardware detected", changing nothing.
"""

from __future__ import annotations

import asyncio
import math

import grpc

from radiens_async._generated.allego import (
    allegoserver_pb2,
    allegoserver_pb2_grpc,
    common_pb2,
    datasource_pb2,
    spikesorter_pb2,
)
from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.radiens import backbone_status as status_msgs
from radiens_async.hub.radiens import workspace_descriptors as ws_msgs
from radiens_async.hub.radiens.backbone_modes import (
    BackboneModes,
    backbone_mode_name,
    restart_target,
)
from radiens_async.hub.radiens.dsp_group_calls import DspGroupCalls
from radiens_async.hub.radiens.healthcheck import HealthcheckCalls
from radiens_async.hub.radiens.outputs_calls import InstrumentOutputCalls
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.sensor_specs import (
    check_stream_group,
    list_sensor_specs,
    sensor_change,
)
from radiens_async.hub.radiens.signal_group import signal_group
from radiens_async.hub.radiens.signal_group_calls import SignalGroupCalls
from radiens_async.hub.radiens.sorter_ids import LIVE_SORTER_IDS
from radiens_async.hub.status_codes import unary
from radiens_async.hub.workspaces import WorkspaceInfo
from radiens_async.hub.workspaces.workspace_files import export_workspace, import_workspace

DEFAULT_CORE_PORT = 50051  # an Allego app's AllegoCore port (radiens_ports.ALLEGO_BASE_PORT)
RECORDER_CLOSE_TIMEOUT_S = 60.0  # as our own SetRecording: a slow disk may still hold blocks

_SINAPS_HINT = "SiNAPS calls need a SmartBox Pro with a SiNAPS probe (a smartbox_pro_sinaps_* mode)"


class AllegoCoreService(
    HealthcheckCalls,
    SignalGroupCalls,
    DspGroupCalls,
    InstrumentOutputCalls,
    allegoserver_pb2_grpc.AllegoCoreServicer,
):
    """``allego.AllegoCore`` of an Allego app, translated onto the hub's domain objects.

    Parameters
    ----------
    domain : RadiensDomain
        The hub's domain objects (shared with its radiens.v1 services).
    core_port : int
        The port this service is served on (what ``GetConfig`` reports).
    """

    def __init__(self, domain: RadiensDomain, core_port: int = DEFAULT_CORE_PORT) -> None:
        self.domain = domain
        self.core_port = core_port
        self.backbone_modes = BackboneModes()

    def _backbone_mode(self) -> int:
        device = self.domain.device
        return self.backbone_modes.reported(device.mode, device.simulator)

    def _no_hardware(self, what: str, hint: str) -> FailedPrecondition:
        name = backbone_mode_name(self._backbone_mode())
        return FailedPrecondition(f"no {what} hardware detected: {hint}; Allego runs {name}")

    # -- lifecycle and mode ------------------------------------------------------------------
    @unary
    async def Restart(
        self, request: allegoserver_pb2.RestartRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        if device.streaming:
            raise FailedPrecondition("cannot restart while streaming: stop streaming first")
        mode = restart_target(request.mode)
        device.restart(int(mode))
        self.backbone_modes.restarted(request.mode, device.mode, device.simulator)
        return common_pb2.StandardReply()

    # -- status and configuration ------------------------------------------------------------
    @unary
    async def GetStatus(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> allegoserver_pb2.BackboneStatus:
        return status_msgs.backbone_status(self.domain.device.status())

    @unary
    async def GetConfig(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> allegoserver_pb2.ConfigCore:
        st = self.domain.device.status()
        return status_msgs.config_core(st, self._backbone_mode(), self.core_port)

    @unary
    async def GetConfigAndStatus(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> allegoserver_pb2.ConfigAndStatus:
        st = self.domain.device.status()
        return status_msgs.config_and_status(st, self._backbone_mode())

    @unary
    async def SetConfigCore(
        self, request: allegoserver_pb2.SetConfigCoreRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        # everything is checked before anything changes
        for name in ("loopDur", "pcachePersistence"):
            if request.HasField(name):
                value = getattr(request, name)
                if not math.isfinite(value) or value <= 0:
                    raise InvalidArgument(f"{name} must be a finite number > 0, got {value}")
        if request.HasField("cableDelay") and request.cableDelay.cableDelay < 0:
            raise InvalidArgument(f"cableDelay must be >= 0, got {request.cableDelay.cableDelay}")
        if device.streaming:
            raise FailedPrecondition(
                "cannot change the core configuration while streaming: stop streaming first"
            )
        if request.HasField("cableDelay"):
            port = status_msgs.port_letter(request.cableDelay.port)
            raise self._no_hardware(
                "headstage cable", f"cable delays apply to hardware ports (port {port})"
            )
        # loopDur and pcachePersistence are not settable on an Allego: it ignores them
        if request.HasField("sampFreq"):
            before = device.simulator
            device.set_sampling_freq(request.sampFreq)
            self.backbone_modes.reconfigured(before, device.simulator)
        return common_pb2.StandardReply()

    @unary
    async def GetConfigRecording(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> allegoserver_pb2.ConfigRecording:
        return status_msgs.config_recording(self.domain.device.recording_config)

    @unary
    async def SetConfigRecording(
        self, request: allegoserver_pb2.ConfigRecording, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        args = status_msgs.recording_config_args(request, device.recording_config)
        device.set_recording_config(*args)
        return common_pb2.StandardReply()

    # -- streaming and recording -------------------------------------------------------------
    @unary
    async def SetStreamState(
        self, request: allegoserver_pb2.SetStreamRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.set_streaming(request.mode == allegoserver_pb2.S_ON)
        return common_pb2.StandardReply()

    @unary
    async def SetRecordState(
        self, request: allegoserver_pb2.SetRecordRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        if request.HasField("port"):
            self._check_record_port(request.port)
        if request.mode == allegoserver_pb2.R_ON:
            device.start_recording()
        else:
            recorder = device.stop_recording()
            if recorder is not None:
                # the file set is complete on disk when the call returns
                await asyncio.to_thread(recorder.join, RECORDER_CLOSE_TIMEOUT_S)
        return common_pb2.StandardReply()

    def _check_record_port(self, value: int) -> None:
        """A port-level record request is the system's when that port is the only one."""
        letter = status_msgs.port_letter(value)
        ports = list(self.domain.device.status().port_num_channels)
        if letter not in ports:
            raise InvalidArgument(
                f"port {letter} is not connected (connected: {', '.join(ports) or 'none'})"
            )
        if ports != [letter]:
            raise FailedPrecondition(
                f"cannot record port {letter} alone: the hub records all connected ports "
                f"({', '.join(ports)}) into one file set; omit the port"
            )

    # -- sensors and ports -------------------------------------------------------------------
    @unary
    async def ListSensorSpecs(
        self, request: common_pb2.ListSensorSpecsRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.ListSensorSpecsReply:
        check_stream_group(request.streamGroupId)
        return list_sensor_specs(self.domain.device)

    @unary
    async def SetSensor(
        self, request: common_pb2.SetSensorRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        change = sensor_change(device, request)
        before = device.simulator
        device.set_sensor(change.port, change.headstage_id, change.probe_id)
        self.backbone_modes.reconfigured(before, device.simulator)
        return common_pb2.StandardReply()

    @unary
    async def ScanPorts(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.SignalGroup:
        # the simulated ports are what a scan finds: the current signal group, unchanged
        if self.domain.device.streaming:
            raise FailedPrecondition("cannot scan ports while streaming: stop streaming first")
        return signal_group(self.domain.device)

    @unary
    async def GetSpikeSorterIDs(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> spikesorter_pb2.GetSpikeSorterIDsReply:
        # one live sorter, listed whether or not it runs
        return spikesorter_pb2.GetSpikeSorterIDsReply(spikeSorterIDs=list(LIVE_SORTER_IDS))

    # -- hardware only -----------------------------------------------------------------------
    @unary
    async def GetIntanImpedance(
        self, request: datasource_pb2.ImpedanceRequest, context: grpc.aio.ServicerContext
    ) -> datasource_pb2.Impedance:
        port = status_msgs.port_letter(request.port)
        raise self._no_hardware(
            "Intan", f"impedance (port {port}) is measured by Intan headstages on a hardware system"
        )

    @unary
    async def ReadWireOut(
        self, request: allegoserver_pb2.ReadWireOutRequest, context: grpc.aio.ServicerContext
    ) -> allegoserver_pb2.ReadWireOutReply:
        if request.wireOutAddress < 0:
            raise InvalidArgument(f"wireOutAddress must be >= 0, got {request.wireOutAddress}")
        raise self._no_hardware("SmartBox Pro", "wire-out registers are read from its FPGA")

    @unary
    async def LoadAllMosi(
        self, request: allegoserver_pb2.LoadAllMosiRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        if not request.registerVals:
            raise InvalidArgument("registerVals must hold at least one register value")
        raise self._no_hardware("SiNAPS", _SINAPS_HINT)

    @unary
    async def TransmitMosi(
        self, request: allegoserver_pb2.TransmitMosiRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        raise self._no_hardware("SiNAPS", _SINAPS_HINT)

    @unary
    async def GetSinapsStatusRegisters(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> allegoserver_pb2.SinapsStatusRegisters:
        raise self._no_hardware("SiNAPS", _SINAPS_HINT)

    @unary
    async def FlashSinaps(
        self, request: allegoserver_pb2.FlashSinapsRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        if not request.bitfile.strip():
            raise InvalidArgument("bitfile must name an FPGA bitfile")
        raise self._no_hardware("SiNAPS", _SINAPS_HINT)

    # -- workspaces --------------------------------------------------------------------------
    @unary
    async def WorkspaceControl(
        self, request: common_pb2.WorkspaceControlRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        ws_msgs.check_allego_app(request.app)
        workspaces = self.domain.workspaces
        cmd = request.cmd
        if cmd == common_pb2.WSPACE_Save:
            # Save overwrites unless told otherwise (the documented client always forces)
            wid = request.workspaceID if request.HasField("workspaceID") else None
            force = request.isForceOverwrite if request.HasField("isForceOverwrite") else True
            tags, notes = ws_msgs.annotation_text(request)
            workspaces.save(wid, tags, notes, force=force)
        elif cmd == common_pb2.WSPACE_SaveAs:
            wid = ws_msgs.required_workspace_id(request, "WSPACE_SaveAs")
            tags, notes = ws_msgs.annotation_text(request)
            workspaces.save(wid, tags, notes, force=request.isForceOverwrite)
        elif cmd == common_pb2.WSPACE_Switch:
            workspaces.switch(ws_msgs.required_workspace_id(request, "WSPACE_Switch"))
        elif cmd == common_pb2.WSPACE_Delete:
            workspaces.delete(ws_msgs.required_workspace_id(request, "WSPACE_Delete"))
        elif cmd == common_pb2.WSPACE_SwitchToLastUsed:
            workspaces.switch(self._last_used_workspace().id)
        elif cmd in (common_pb2.WSPACE_Export, common_pb2.WSPACE_Import):
            name = common_pb2.WorkspaceCommands.Name(cmd)
            if not request.targetFullFileName:
                raise InvalidArgument(f"{name} needs targetFullFileName (the workspace file)")
            wid = request.workspaceID if request.HasField("workspaceID") else None
            force = request.isForceOverwrite
            if cmd == common_pb2.WSPACE_Export:
                await asyncio.to_thread(
                    export_workspace, workspaces, wid, request.targetFullFileName, force=force
                )
            else:
                await asyncio.to_thread(
                    import_workspace, workspaces, request.targetFullFileName, wid, force=force
                )
        else:
            raise InvalidArgument(f"unknown workspace command {cmd}")
        return common_pb2.StandardReply()

    def _last_used_workspace(self) -> WorkspaceInfo:
        workspaces = self.domain.workspaces
        current = workspaces.current()
        if current is not None:
            return current
        every = workspaces.list()
        if not every:
            raise NotFound("no workspace to switch to: none has been saved")
        return max(every, key=lambda info: info.last_used)

    @unary
    async def GetWorkspace(
        self, request: common_pb2.GetWorkspaceRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.GetWorkspaceReply:
        workspaces = self.domain.workspaces
        if request.cmd == common_pb2.GET_WSPACE_Current:
            current = workspaces.current()
            infos = [] if current is None else [current]
        elif request.cmd == common_pb2.GET_WSPACE_List:
            infos = workspaces.list()
        else:
            raise InvalidArgument(f"Invalid GetWorkspaceCommands value: {request.cmd}")
        if request.HasField("workspaceID"):
            infos = [i for i in infos if i.id == request.workspaceID]
            if not infos and request.cmd == common_pb2.GET_WSPACE_List:
                raise NotFound(f"unknown workspace {request.workspaceID!r}")
        if request.HasField("appMask") and request.appMask != common_pb2.Allego:
            infos = []  # an Allego keeps Allego workspaces only
        return ws_msgs.workspace_reply(infos)
