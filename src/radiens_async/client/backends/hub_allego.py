"""``HubAllegoBackend``: the Allego operations over our hub's ``radiens.v1`` protocol.

Every method builds ``radiens.v1`` requests, calls the hub through the client's
:class:`~radiens_async.client.transport.HubTransport` and converts the reply with the
converters of :mod:`radiens_async.models.converters`. Live signals and spikes are push streams
of the hub (each on a connection of its own); the simulator's ground truth is an extension of
this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radiens_async._generated.radiens.v1 import (
    allego_grpc,
    allego_pb2,
    common_pb2,
    neurons_grpc,
    neurons_pb2,
    workspace_grpc,
    workspace_pb2,
)
from radiens_async.client.backends.allego_backend import BackendCapabilities
from radiens_async.client.backends.arguments import (
    KilosortPaths,
    MetricsParam,
    PsdSettings,
    SignalWindow,
    SorterCommand,
    SorterParam,
    SpikeStreamStart,
    StreamStart,
)
from radiens_async.client.backends.hub_dataset_calls import LIVE_DATASET_ID, HubDatasetCalls
from radiens_async.client.transport import HubTransport
from radiens_async.client.tuned_channel import flow_window_bytes
from radiens_async.hub_contract import is_loopback
from radiens_async.models.allego_state import AllegoState, RecordingConfig
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.converters.allego import (
    channel_metadata_to_model,
    ground_truth_to_model,
    status_to_model,
)
from radiens_async.models.converters.instrument_outputs import (
    analog_out_to_dict,
    dout_states_to_dict,
    stim_params_from_proto,
    stim_params_to_proto,
    stim_reply_to_dict,
    stim_trigger_to_model,
)
from radiens_async.models.converters.neurons import (
    batch_to_model,
    dashboard_to_model,
    metadata_to_model,
    neuron_to_model,
    rasters_to_dict,
    recent_to_model,
    state_to_model,
)
from radiens_async.models.converters.samples import chunk_to_model, signals_to_model
from radiens_async.models.converters.signal_chunk_wire import SignalChunkWire
from radiens_async.models.converters.workspace import workspaces_to_frame
from radiens_async.models.dataset_signals import DatasetSignals
from radiens_async.models.ground_truth import SimGroundTruth
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.models.signals import SignalChunk, Signals
from radiens_async.models.spike_sorter import PARAMS_COLUMNS, Dashboard, SorterState
from radiens_async.models.spikes import NEURON_COLUMNS, SpikeBatch, SpikesMetadata, SpikesSet
from radiens_async.utils.enums import Port, SystemMode

__all__ = ["HUB_CAPABILITIES", "HubAllegoBackend"]

HUB_CAPABILITIES = BackendCapabilities(
    protocol="radiens.v1",
    push_streams=True,
    ground_truth=True,
    simulator_options=True,
    kilosort_conversion=True,
    hub_service=True,
)
SPIKE_STREAM_WINDOW = 4 << 20


class HubAllegoBackend:
    """The Allego side of our hub (``radiens.v1``: Allego, Neurons, SignalMetrics, Videre and
    Workspace services on the hub's one port).

    Parameters
    ----------
    transport : HubTransport
        The client's hub connection; the client owns it (and closes it).
    """

    def __init__(self, transport: HubTransport) -> None:
        self._transport = transport
        self._datasets = HubDatasetCalls(transport)

    @property
    def capabilities(self) -> BackendCapabilities:
        """``radiens.v1``: push streams, ground truth, simulator options, hub service."""
        return HUB_CAPABILITIES

    async def open(self) -> None:
        """Connect to the hub (starting the embedded hub for the default one if needed)."""
        await self._transport.open()

    async def aclose(self) -> None:
        """Nothing of its own to release: the client closes the transport."""

    async def _call(
        self, service: str, method: str, request: Any, timeout: float | None = None
    ) -> Any:
        await self._transport.open()
        stub = getattr(self._transport, service)
        return await self._transport.call(getattr(stub, method), request, timeout=timeout)

    async def _allego(self, method: str, request: Any, timeout: float | None = None) -> Any:
        return await self._call("allego", method, request, timeout)

    async def _neurons(self, method: str, request: Any, timeout: float | None = None) -> Any:
        return await self._call("neurons", method, request, timeout)

    # -- the instrument -----------------------------------------------------------------
    async def restart(self, mode: SystemMode, seed: int | None, num_channels: int | None) -> None:
        """``Allego.Restart``."""
        request = allego_pb2.RestartRequest(system_mode=int(mode))
        if seed is not None:
            request.seed = seed
        if num_channels is not None:
            request.num_channels = num_channels
        await self._allego("Restart", request)

    async def get_status(self) -> AllegoState:
        """``Allego.GetStatus``."""
        return status_to_model(await self._allego("GetStatus", common_pb2.Empty()))

    async def set_streaming(self, on: bool) -> None:
        """``Allego.SetStreaming``."""
        await self._allego("SetStreaming", allego_pb2.SetModeRequest(on=on))

    async def set_recording(self, on: bool) -> None:
        """``Allego.SetRecording`` (stopping waits for the file set: a long deadline)."""
        await self._allego("SetRecording", allego_pb2.SetModeRequest(on=on), timeout=90.0)

    async def set_recording_config(self, config: RecordingConfig) -> None:
        """``Allego.SetRecordingConfig``."""
        request = allego_pb2.RecordingConfig(
            path=config.path,
            base_name=config.base_name,
            index=config.index,
            time_stamp=config.time_stamp,
        )
        await self._allego("SetRecordingConfig", request)

    async def get_recording_config(self) -> RecordingConfig:
        """``Allego.GetRecordingConfig``."""
        msg = await self._allego("GetRecordingConfig", common_pb2.Empty())
        return RecordingConfig(
            path=msg.path, base_name=msg.base_name, index=msg.index, time_stamp=msg.time_stamp
        )

    async def set_sampling_freq(self, fs: float) -> None:
        """``Allego.SetSamplingFreq``."""
        await self._allego("SetSamplingFreq", allego_pb2.SetSamplingFreqRequest(fs=float(fs)))

    async def get_stream_loop_dur_ms(self) -> float:
        """``Allego.GetStreamLoopDur``."""
        return float((await self._allego("GetStreamLoopDur", common_pb2.Empty())).ms)

    async def get_channel_metadata(self) -> ChannelMetadata:
        """``Allego.GetChannelMetadata``."""
        return channel_metadata_to_model(
            await self._allego("GetChannelMetadata", common_pb2.Empty())
        )

    async def get_available_sensors(self) -> dict[str, dict[str, int]]:
        """``Allego.GetAvailableSensors``."""
        reply = await self._allego("GetAvailableSensors", common_pb2.Empty())
        return {
            "headstages": dict(sorted(reply.headstages.items())),
            "probes": dict(sorted(reply.probes.items())),
        }

    async def set_sensor(self, port: Port, headstage_id: str, probe_id: str) -> None:
        """``Allego.SetSensor``."""
        request = allego_pb2.SetSensorRequest(
            port=port.name, headstage_id=headstage_id, probe_id=probe_id
        )
        await self._allego("SetSensor", request)

    # -- live signals -------------------------------------------------------------------
    async def set_time_to_cache_head(self, component_id: str) -> None:
        """``Allego.SetTimeToCacheHead``."""
        await self._allego(
            "SetTimeToCacheHead", allego_pb2.CursorRequest(component_id=component_id)
        )

    async def get_signals(self, component_id: str, max_samples: int) -> Signals:
        """``Allego.GetSignals`` (the hub keeps the cursor of ``component_id``)."""
        request = allego_pb2.GetSignalsRequest(component_id=component_id, max_samples=max_samples)
        return signals_to_model(await self._allego("GetSignals", request))

    async def stream_signals(
        self,
        start: StreamStart,
        channels: Sequence[int],
        max_chunk_samples: int,
        max_lag_s: float,
    ) -> AsyncIterator[SignalChunk]:
        """``Allego.StreamSignals`` on a connection whose flow-control window holds
        ``max_lag_s`` of signal (the hub skips ahead, counting the gap, beyond it)."""
        request = allego_pb2.StreamSignalsRequest(
            sys_idxs=list(channels), max_chunk_samples=max_chunk_samples
        )
        if start == "head":
            request.from_head = True
        elif start == "oldest":
            request.from_oldest = True
        else:
            request.from_sample = int(start)
        status = await self._allego("GetStatus", common_pb2.Empty())
        n_rows = len(request.sys_idxs) or _total_channels(status)
        window = flow_window_bytes(n_rows * status.sample_freq * 4.0 * max_lag_s)
        messages = self._transport.stream(
            _signal_stream_stub, "StreamSignals", request, window=window
        )
        try:
            async for message in messages:
                yield chunk_to_model(message)
        finally:
            await messages.aclose()  # now, not when the loop gets round to finalising it

    async def get_ground_truth(self, start_sample: int, stop_sample: int) -> SimGroundTruth:
        """``Allego.GetGroundTruth`` (a ``radiens.v1`` extension)."""
        request = allego_pb2.GroundTruthRequest(start_sample=start_sample, stop_sample=stop_sample)
        return ground_truth_to_model(await self._allego("GetGroundTruth", request))

    # -- stimulation --------------------------------------------------------------------
    async def get_stim_params(self) -> dict[int, dict[str, Any]]:
        """``Allego.GetStimParams``."""
        return stim_reply_to_dict(await self._allego("GetStimParams", common_pb2.Empty()))

    async def set_stim_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``Allego.SetStimParams``."""
        request = stim_params_to_proto(dict(params))
        return stim_params_from_proto(await self._allego("SetStimParams", request))

    async def set_manual_stim_trigger(self, trigger: int) -> StimTrigger:
        """``Allego.ManualStimTrigger``."""
        request = allego_pb2.ManualStimTriggerRequest(trigger=trigger)
        return stim_trigger_to_model(await self._allego("ManualStimTrigger", request))

    # -- digital and analog out ---------------------------------------------------------
    async def get_digital_out_states(self) -> dict[str, Any]:
        """``Allego.GetDigitalOutStates``."""
        return dout_states_to_dict(await self._allego("GetDigitalOutStates", common_pb2.Empty()))

    async def set_digital_out_manual(self, dout1_state: bool, dout2_state: bool) -> int:
        """``Allego.SetDigitalOutManual`` (digital outs 1 and 2 are ntv 0 and 1)."""
        request = allego_pb2.SetDigitalOutRequest(
            states=[
                allego_pb2.DigitalOutState(chan_idx=0, state=dout1_state),
                allego_pb2.DigitalOutState(chan_idx=1, state=dout2_state),
            ]
        )
        return int((await self._allego("SetDigitalOutManual", request)).sample_index)

    async def get_analog_out_settings(self) -> dict[str, Any]:
        """``Allego.GetAnalogOutSettings``."""
        return analog_out_to_dict(await self._allego("GetAnalogOutSettings", common_pb2.Empty()))

    async def set_analog_out_high_pass(self, cutoff_freq: float, enable: bool) -> dict[str, Any]:
        """``Allego.SetAnalogOutHighPass``."""
        request = allego_pb2.SetAnalogOutHighPassRequest(
            cutoff_freq=float(cutoff_freq), enable=enable
        )
        return analog_out_to_dict(await self._allego("SetAnalogOutHighPass", request))

    # -- spike sorter -------------------------------------------------------------------
    async def sorter_command(self, command: SorterCommand) -> None:
        """``Neurons.SorterCommand``."""
        await self._neurons("SorterCommand", neurons_pb2.SorterCommandRequest(command=int(command)))

    async def set_sorter_param(
        self,
        command: SorterParam,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> None:
        """``Neurons.SetSorterParam``."""
        request = neurons_pb2.SorterParamRequest(
            command=int(command),
            reg_float64=list(values),
            reg_bool=list(flags),
            ntv_idxs=list(ntv_idxs),
        )
        await self._neurons("SetSorterParam", request)

    async def get_sorter_params(self) -> pd.DataFrame:
        """``Neurons.GetSorterParams``: seconds on the wire, ms in the table."""
        reply = await self._neurons("GetSorterParams", common_pb2.Empty())
        rows = [
            {
                "ntv_idx": c.ntv_idx,
                "chan_enabled": c.chan_enabled,
                "thr_activated": np.array(c.thr_activated, dtype=bool),
                "thr": np.array(c.thr),
                "thr_sd": np.array(c.thr_sd),
                "thr_wdw": np.round(np.array(c.thr_wdw_s) * 1000.0, 5),
                "shadow": round(c.shadow_s * 1000.0, 5),
                "weak_thr": np.array(c.weak_thr),
                "thr_wdw_pts": np.array(c.thr_wdw_pts, dtype=np.int64),
                "shadow_pts": int(c.shadow_pts),
                "weak_thr_activated": np.array(c.weak_thr_activated, dtype=bool),
                "weak_thr_sd": np.array(c.weak_thr_sd),
            }
            for c in reply.channels
        ]
        return pd.DataFrame(rows, columns=list(PARAMS_COLUMNS))

    async def get_sorter_state(self) -> SorterState:
        """``Neurons.GetSorterState``."""
        return state_to_model(await self._neurons("GetSorterState", common_pb2.Empty()))

    async def get_sorter_dashboard(self) -> Dashboard:
        """``Neurons.GetSorterDashboard``."""
        return dashboard_to_model(await self._neurons("GetSorterDashboard", common_pb2.Empty()))

    # -- spikes -------------------------------------------------------------------------
    async def get_spikes_metadata(self) -> SpikesMetadata:
        """``Neurons.GetSpikesMetadata``."""
        return metadata_to_model(await self._neurons("GetSpikesMetadata", common_pb2.Empty()))

    async def get_spike_rasters(self) -> dict[str, Any]:
        """``Neurons.GetSpikeRasters``."""
        return rasters_to_dict(await self._neurons("GetSpikeRasters", neurons_pb2.RasterRequest()))

    async def get_recent_spikes(
        self, time_wdw_sec: float, ntv_chan_idxs: Sequence[int], max_spikes_per_chan: int
    ) -> SpikesSet:
        """``Neurons.GetRecentSpikes``."""
        idxs = list(ntv_chan_idxs)
        request = neurons_pb2.RecentSpikesRequest(
            time_wdw_sec=float(time_wdw_sec),
            ntv_chan_idxs=idxs,
            max_spikes_per_chan=max_spikes_per_chan,
        )
        return recent_to_model(await self._neurons("GetRecentSpikes", request), idxs)

    async def get_neurons(self) -> pd.DataFrame:
        """``Neurons.GetNeurons``."""
        reply = await self._neurons("GetNeurons", common_pb2.Empty())
        rows = [neuron_to_model(n).model_dump() for n in reply.neurons]
        return pd.DataFrame(rows, columns=list(NEURON_COLUMNS))

    async def stream_spikes(
        self, start: SpikeStreamStart, ntv_chan_idxs: Sequence[int], max_batch_spikes: int
    ) -> AsyncIterator[SpikeBatch]:
        """``Neurons.StreamSpikes`` on a connection of its own."""
        request = neurons_pb2.StreamSpikesRequest(
            ntv_chan_idxs=list(ntv_chan_idxs), max_batch_spikes=max_batch_spikes
        )
        if start == "now":
            request.from_now = True
        elif start == "oldest":
            request.from_oldest = True
        else:
            request.from_seq = int(start)
        messages = self._transport.stream(
            neurons_grpc.NeuronsStub,
            "StreamSpikes",
            request,
            window=flow_window_bytes(SPIKE_STREAM_WINDOW),
        )
        try:
            async for message in messages:
                yield batch_to_model(message)
        finally:
            await messages.aclose()  # now, not when the loop gets round to finalising it

    async def convert_kilosort_output(self, paths: KilosortPaths) -> None:
        """``Neurons.ConvertKilosortOutput`` (long deadline: the hub reads the whole folder)."""
        request = neurons_pb2.KilosortRequest(
            source_bio_path=paths.source_bio_path,
            source_bio_basename=paths.source_bio_basename,
            source_vex_path=paths.source_vex_path,
            source_vex_basename=paths.source_vex_basename,
            sink_bio_path=paths.sink_bio_path,
            sink_bio_basename=paths.sink_bio_basename,
        )
        await self._neurons("ConvertKilosortOutput", request, timeout=600.0)

    # -- live signal metrics (the hub's live cache is dataset '') -----------------------
    async def set_metrics_param(
        self,
        command: MetricsParam,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> pd.DataFrame:
        """``SignalMetrics.SetParam`` of the live cache."""
        return await self._datasets.set_metrics_param(
            LIVE_DATASET_ID, command, values, flags, ntv_idxs
        )

    async def set_metrics_packet_duration(self, packet_dur_s: float) -> pd.DataFrame:
        """``SignalMetrics.SetParam`` (packet duration) of the live cache."""
        return await self._datasets.set_metrics_packet_duration(LIVE_DATASET_ID, packet_dur_s)

    async def get_metrics_params(self) -> pd.DataFrame:
        """``SignalMetrics.GetParams`` of the live cache."""
        return await self._datasets.get_metrics_params(LIVE_DATASET_ID)

    async def get_metrics_status(self) -> SignalMetricsStatus:
        """``SignalMetrics.GetStatus`` of the live cache."""
        return await self._datasets.get_metrics_status(LIVE_DATASET_ID)

    async def get_metrics(
        self, lag_s: float | None, metrics: Sequence[MetricID], tail: bool
    ) -> SignalMetrics:
        """``SignalMetrics.GetMetrics`` of the last ``lag_s`` seconds of the live cache."""
        sec = [] if lag_s is None else [float(lag_s)]
        return await self._datasets.get_metrics(LIVE_DATASET_ID, sec, metrics, tail)

    # -- live signals and PSD -----------------------------------------------------------
    async def get_live_signals(self, window: SignalWindow) -> DatasetSignals:
        """``Videre.GetSignals`` of the live cache."""
        await self._transport.open()
        allow_local = is_loopback(self._transport.address.host)
        return await self._datasets.get_signals(LIVE_DATASET_ID, window, allow_local)

    async def get_live_psd(self, window: SignalWindow, settings: PsdSettings) -> PSD:
        """``Videre.GetPsd`` of the live cache."""
        return await self._datasets.get_psd(LIVE_DATASET_ID, window, settings)

    # -- workspaces ---------------------------------------------------------------------
    async def _workspace(self, method: str, request: Any) -> Any:
        stub = await self._transport.stub(workspace_grpc.WorkspaceStub)
        return await self._transport.call(getattr(stub, method), request)

    async def workspace_save(
        self, workspace_id: str | None, tags: str, notes: str, force: bool
    ) -> None:
        """``Workspace.Save``."""
        request = workspace_pb2.WorkspaceSaveRequest(force=force, tags=tags, notes=notes)
        if workspace_id is not None:
            request.workspace_id = workspace_id
        await self._workspace("Save", request)

    async def workspace_switch(self, workspace_id: str) -> None:
        """``Workspace.Switch``."""
        await self._workspace("Switch", workspace_pb2.WorkspaceIdRequest(workspace_id=workspace_id))

    async def workspace_delete(self, workspace_id: str) -> None:
        """``Workspace.Delete``."""
        await self._workspace("Delete", workspace_pb2.WorkspaceIdRequest(workspace_id=workspace_id))

    async def workspace_current(self) -> pd.DataFrame:
        """``Workspace.Current``."""
        reply = await self._workspace("Current", common_pb2.Empty())
        return workspaces_to_frame([reply.workspace] if reply.HasField("workspace") else [])

    async def workspace_list(self) -> pd.DataFrame:
        """``Workspace.List``."""
        return workspaces_to_frame(
            list((await self._workspace("List", common_pb2.Empty())).workspaces)
        )


def _total_channels(status: allego_pb2.AllegoStatus) -> int:
    """Rows of a full-width stream: amplifier channels of every port plus aux and digital."""
    return sum(p.n_channels for p in status.ports) + status.n_ain + status.n_din + status.n_dout


def _signal_stream_stub(channel: Any) -> allego_grpc.AllegoStub:
    """The Allego stub, with ``StreamSignals`` replies decoded without copying the samples
    (:func:`~radiens_async.models.converters.signal_chunk_wire.decode_signal_chunk`)."""
    stub = allego_grpc.AllegoStub(channel)
    stub.StreamSignals.reply_type = SignalChunkWire
    return stub
