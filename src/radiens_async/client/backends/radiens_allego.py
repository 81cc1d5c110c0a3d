"""``RadiensAllegoBackend``: the Allego operations over the Radiens protocol (package ``allego``).

This is what the Allego desktop app serves on localhost:50051-50055, and what our hub serves with
``--radiens-ports``. Every method builds ``allego`` requests, calls the service on its port
through :class:`~radiens_async.client.radiens_transport.RadiensTransport` and converts the
reply with the ``radiens_*`` converters into the same models the hub backend returns.

The protocol has no server stream of signals or spikes: ``stream_signals`` and
``stream_spikes`` poll (``Pcache1.GetHDSnapshot2`` from the last sample received, with exact
gap accounting by :class:`~radiens_async.client.backends.radiens_live_cursor.LiveCursor`;
``Neurons1.BiointerfaceGetSpikesDense`` over advancing time ranges). What the protocol does not
carry at all (the simulator's ground truth and options, Kilosort conversion, live PSD) raises
:class:`~radiens_async.errors.NotSupported`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from ssl import SSLContext
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from radiens_async._generated.allego import (
    allegoserver_pb2,
    biointerface_pb2,
    common_pb2,
    spikesorter_pb2,
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
from radiens_async.client.backends.radiens_live_cursor import LiveCursor, StreamRestarted
from radiens_async.client.hub_registry import HubAddress
from radiens_async.client.radiens_transport import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    RadiensTransport,
)
from radiens_async.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    NotSupported,
    RemoteError,
)
from radiens_async.models.allego_state import AllegoState, RecordingConfig
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.converters.radiens_channels import (
    available_sensors_to_dict,
    headstage_wire_id,
    probe_wire_id,
    signal_group_to_model,
)
from radiens_async.models.converters.radiens_kpi import (
    DEFAULT_LIVE_METRICS,
    kpi_status_to_model,
    metrics_request,
    metrics_to_model,
)
from radiens_async.models.converters.radiens_outputs import (
    analog_out_to_dict,
    dio_register_to_dict,
    stim_params_to_proto,
    stim_reply_to_dict,
)
from radiens_async.models.converters.radiens_signals import (
    LiveBlock,
    RowSelection,
    row_selection,
    snapshot_request,
    snapshot_to_block,
)
from radiens_async.models.converters.radiens_sorter import (
    dashboard_to_model,
    set_param_request,
    sorter_params_frame,
    state_to_model,
)
from radiens_async.models.converters.radiens_spikes import (
    dense_to_arrays,
    dense_to_spikes_set,
    neurons_frame,
    rasters_to_dict,
    spec_to_metadata,
)
from radiens_async.models.converters.radiens_status import (
    backbone_mode_of,
    config_recording_to_proto,
    recording_config_to_model,
    status_to_model,
)
from radiens_async.models.converters.radiens_workspace import control_request, workspace_frame
from radiens_async.models.dataset_metadata import make_time_range
from radiens_async.models.dataset_signals import DatasetSignals, SignalArrays
from radiens_async.models.ground_truth import SimGroundTruth
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.models.signals import SignalChunk, Signals
from radiens_async.models.spike_sorter import Dashboard, SorterState
from radiens_async.models.spikes import SpikeBatch, SpikesMetadata, SpikesSet
from radiens_async.models.stim_params import checked_update
from radiens_async.utils.constants import (
    PRIMARY_CACHE_STREAM_GROUP_ID,
    SORTER_SINK_ID,
    SPIKE_SORTER_ID,
)
from radiens_async.utils.enums import Port, SignalType, SystemMode, TrsMode

__all__ = ["RADIENS_CAPABILITIES", "RadiensAllegoBackend"]

RADIENS_CAPABILITIES: Final = BackendCapabilities(protocol="Radiens")
PROTOCOL: Final = RADIENS_CAPABILITIES.protocol
RECORDING_TIMEOUT_S: Final = 90.0  # stopping a recording waits for the file set to be complete
CHUNK_BYTES: Final = 16 << 20  # the most one polled chunk carries when the caller sets no bound
MIN_POLL_S: Final = 0.01  # a poll costs ~2 ms of client CPU: at most ~100 polls/s
SPIKE_HORIZON_S: Final = 0.25  # spikes this close to the head may still be detected: re-read
SPIKES_PER_CHANNEL: Final = 10_000  # per poll; a channel that hits it is read again from there
_LIVE = common_pb2.SignalGroupIDRequest(streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID)
_STD = common_pb2.StandardRequest


class _Snapshots:
    """A :class:`SnapshotSource` over ``Pcache1.GetHDSnapshot2`` for one row selection."""

    def __init__(self, backend: RadiensAllegoBackend, rows: RowSelection, fs: float) -> None:
        self.backend, self.rows, self.fs = backend, rows, fs

    async def read(self, start: int, stop: int | None, early: bool = True) -> LiveBlock | None:
        request = snapshot_request(start, stop, self.fs, self.rows, early=early)
        try:
            reply = await self.backend._call("pcache", "GetHDSnapshot2", request)
        except RemoteError as exc:
            if exc.status == "OUT_OF_RANGE":
                return None
            raise
        return snapshot_to_block(reply, self.rows)

    async def cache_range(self) -> tuple[int, int]:
        return await self.backend._cache_range(self.fs)


class RadiensAllegoBackend:
    """The Allego app's own protocol, on the core port and the four ports after it.

    Parameters
    ----------
    address : HubAddress
        The ``AllegoCore`` port (an Allego app: ``localhost:50051``).
    timeout, connect_timeout : float
        Deadline of each call, and of the first contact, in seconds.
    ssl : ssl.SSLContext, optional
        TLS (default: plain HTTP/2, as the app serves).

    Examples
    --------
    >>> backend = RadiensAllegoBackend(HubAddress("127.0.0.1", 50051))  # doctest: +SKIP
    >>> await backend.open()  # doctest: +SKIP
    >>> (await backend.get_status()).stream.mode  # doctest: +SKIP
    'S_OFF'
    """

    def __init__(
        self,
        address: HubAddress,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        ssl: SSLContext | None = None,
    ) -> None:
        self.address = address
        self._transport = RadiensTransport(
            str(address), timeout=timeout, connect_timeout=connect_timeout, ssl=ssl
        )
        self._cursors: dict[str, int] = {}

    @property
    def capabilities(self) -> BackendCapabilities:
        """The Radiens protocol: no push streams, ground truth, simulator options or hub service."""
        return RADIENS_CAPABILITIES

    @property
    def transport(self) -> RadiensTransport:
        return self._transport

    async def open(self) -> None:
        """Build the channels and resolve the authorization (``GetOfflineLicenseStatus``)."""
        await self._transport.open()

    async def aclose(self) -> None:
        """Close the five channels."""
        await self._transport.close()

    async def _call(
        self, service: Any, method: str, request: Any, timeout: float | None = None
    ) -> Any:
        return await self._transport.call(service, method, request, timeout=timeout)

    async def _core(self, method: str, request: Any, timeout: float | None = None) -> Any:
        return await self._call("core", method, request, timeout)

    async def _neurons(self, method: str, request: Any) -> Any:
        return await self._call("neurons", method, request)

    # -- the instrument -----------------------------------------------------------------
    async def restart(self, mode: SystemMode, seed: int | None, num_channels: int | None) -> None:
        """``AllegoCore.Restart`` (the simulator options are not part of this protocol).

        An Allego refuses to restart while streaming; the documented ``restart`` stops the
        stream first, so this does too (``SetStreamState`` off, then ``Restart``).
        """
        if seed is not None or num_channels is not None:
            raise NotSupported(
                "restart(seed=..., num_channels=...)",
                PROTOCOL,
                "an Allego has no simulator options; use our hub's own port for them",
            )
        request = allegoserver_pb2.RestartRequest(
            mode=cast("allegoserver_pb2.BackboneMode", backbone_mode_of(mode))
        )
        status = await self._core("GetStatus", _STD())
        if status.streaming.streamMode == allegoserver_pb2.S_ON:
            await self.set_streaming(False)
        await self._core("Restart", request, timeout=RECORDING_TIMEOUT_S)
        self._cursors.clear()

    async def _config_and_status(self) -> allegoserver_pb2.ConfigAndStatus:
        return await self._core("GetConfigAndStatus", _STD())

    async def get_status(self) -> AllegoState:
        """``AllegoCore.GetConfigAndStatus`` and ``GetConfig`` (the stream loop duration)."""
        status, config = await asyncio.gather(
            self._config_and_status(), self._core("GetConfig", _STD())
        )
        return status_to_model(status, config)

    async def set_streaming(self, on: bool) -> None:
        """``AllegoCore.SetStreamState``."""
        mode = allegoserver_pb2.S_ON if on else allegoserver_pb2.S_OFF
        await self._core("SetStreamState", allegoserver_pb2.SetStreamRequest(mode=mode))

    async def set_recording(self, on: bool) -> None:
        """``AllegoCore.SetRecordState`` (every port)."""
        mode = allegoserver_pb2.R_ON if on else allegoserver_pb2.R_OFF
        await self._core(
            "SetRecordState",
            allegoserver_pb2.SetRecordRequest(mode=mode),
            timeout=RECORDING_TIMEOUT_S,
        )

    async def set_recording_config(self, config: RecordingConfig) -> None:
        """``AllegoCore.SetConfigRecording``, keeping the settings the documented API lacks."""
        current = await self._core("GetConfigRecording", _STD())
        await self._core("SetConfigRecording", config_recording_to_proto(config, current))

    async def get_recording_config(self) -> RecordingConfig:
        """``AllegoCore.GetConfigRecording``."""
        return recording_config_to_model(await self._core("GetConfigRecording", _STD()))

    async def set_sampling_freq(self, fs: float) -> None:
        """``AllegoCore.SetConfigCore(sampFreq)``."""
        await self._core("SetConfigCore", allegoserver_pb2.SetConfigCoreRequest(sampFreq=fs))

    async def get_stream_loop_dur_ms(self) -> float:
        """``AllegoCore.GetConfig`` -> ``streamLoopDurMs``."""
        return float((await self._core("GetConfig", _STD())).streamLoopDurMs)

    async def get_channel_metadata(self) -> ChannelMetadata:
        """``AllegoCore.GetSignalGroup("Live Signals")``."""
        return signal_group_to_model(await self._core("GetSignalGroup", _LIVE))

    async def get_available_sensors(self) -> dict[str, dict[str, int]]:
        """``AllegoCore.ListSensorSpecs`` (wire prefixes ``hstg__`` / ``probe__`` removed)."""
        request = common_pb2.ListSensorSpecsRequest(streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID)
        return available_sensors_to_dict(await self._core("ListSensorSpecs", request))

    async def set_sensor(self, port: Port, headstage_id: str, probe_id: str) -> None:
        """``AllegoCore.SetSensor`` with the wire ids ``hstg__<id>`` / ``probe__<id>``."""
        request = common_pb2.SetSensorRequest(
            streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID,
            port=cast("common_pb2.Port", int(port)),
            headstageId=headstage_wire_id(headstage_id),
            probeId=probe_wire_id(probe_id),
        )
        await self._core("SetSensor", request)

    # -- live signals -------------------------------------------------------------------
    async def _cache_range(self, fs: float | None = None) -> tuple[int, int]:
        """``(oldest, head)`` sample indices of the live cache (from ``primaryCacheTRange``)."""
        status = await self._config_and_status()
        rate = fs or status.baseSampFreq
        t = [*list(status.streaming.primaryCacheTRange), 0.0, 0.0]
        return round(t[0] * rate), round(t[1] * rate)

    async def _live_rows(
        self, sys_idxs: Sequence[int] = ()
    ) -> tuple[ChannelMetadata, RowSelection]:
        meta = await self.get_channel_metadata()
        try:
            return meta, row_selection(meta, sys_idxs)
        except KeyError as exc:
            raise InvalidArgument(f"unknown channel (sys index {exc.args[0]})") from None

    async def set_time_to_cache_head(self, component_id: str) -> None:
        """Put ``component_id``'s cursor at the cache head (kept by this client: the
        documented server cursor cannot say what was skipped; this one can)."""
        self._cursors[component_id] = (await self._cache_range())[1]

    async def get_signals(self, component_id: str, max_samples: int) -> Signals:
        """``Pcache1.GetHDSnapshot2`` from ``component_id``'s cursor on; the cursor moves on."""
        meta, rows = await self._live_rows()
        fs = meta.fs
        empty = np.zeros((rows.n_rows, 0), dtype=np.float32)
        if component_id not in self._cursors:  # a cursor never set starts at the head
            head = (await self._cache_range(fs))[1]
            self._cursors[component_id] = head
            return Signals(data=empty, first_sample=head, fs=fs)
        cursor = LiveCursor(_Snapshots(self, rows, fs), self._cursors[component_id])
        try:
            read = await cursor.read(max_samples)
        except StreamRestarted:
            # a new stream: its samples start at 0 again
            cursor = LiveCursor(_Snapshots(self, rows, fs), 0)
            read = await cursor.read(max_samples)
        self._cursors[component_id] = cursor.next_sample
        data = read.block.data if read.block.n_samples else empty
        return Signals(
            data=data, first_sample=read.block.first_sample, fs=fs, missed_samples=read.missed
        )

    async def stream_signals(
        self,
        start: StreamStart,
        channels: Sequence[int],
        max_chunk_samples: int,
        max_lag_s: float,
    ) -> AsyncIterator[SignalChunk]:
        """Live signals by polling ``Pcache1.GetHDSnapshot2`` from the last sample received.

        The poll period adapts: right away again while a backlog remains, else about one stream
        loop later. Ends when streaming stops (or a new stream begins).
        """
        status = await self._config_and_status()
        if status.streaming.streamMode != allegoserver_pb2.S_ON:
            raise FailedPrecondition("streaming is off: start it before streaming signals")
        meta, rows = await self._live_rows(channels)
        fs = meta.fs
        loop_s = max(
            MIN_POLL_S, float((await self._core("GetConfig", _STD())).streamLoopDurMs) / 1e3
        )
        source = _Snapshots(self, rows, fs)
        oldest, head = await source.cache_range()
        if start == "head":
            first = head
        elif start == "oldest":
            first = oldest
        else:
            first = int(start)
        bound = max_chunk_samples or max(1, CHUNK_BYTES // (4 * max(rows.n_rows, 1)))
        cursor = LiveCursor(source, first, max_lag=max(1, math.ceil(max_lag_s * fs)))
        behind = start != "head"
        while True:
            began = time.monotonic()
            try:
                if behind:  # only a reader with a backlog can be too far behind the head
                    await cursor.catch_up()
                read = await cursor.read(bound)
            except StreamRestarted:
                return
            block = read.block
            if block.n_samples:
                yield SignalChunk(
                    data=block.data,
                    first_sample=block.first_sample,
                    fs=fs,
                    missed_samples=read.missed,
                    received_ns=time.monotonic_ns(),
                    head_sample=block.stop_sample,
                )
                behind = read.reached_stop
                if behind:
                    continue  # a backlog: read on at once
            else:
                status = await self._config_and_status()
                if status.streaming.streamMode != allegoserver_pb2.S_ON:
                    return
            await asyncio.sleep(max(0.0, loop_s - (time.monotonic() - began)))

    async def get_ground_truth(self, start_sample: int, stop_sample: int) -> SimGroundTruth:
        """Not in the Radiens protocol (only our hub's ``radiens.v1`` knows it)."""
        raise NotSupported(
            "get_ground_truth", PROTOCOL, "connect to our hub's own port for the ground truth"
        )

    # -- stimulation --------------------------------------------------------------------
    async def _din_sys_of_ntv(self) -> dict[int, int]:
        idx = (await self.get_channel_metadata()).index(SignalType.DIN)
        return dict(zip(idx.ntv, idx.sys, strict=True))

    async def get_stim_params(self) -> dict[int, dict[str, Any]]:
        """``AllegoCore.GetStimParams`` (digital-input trigger sources as ntv indices)."""
        reply, din = await asyncio.gather(
            self._core("GetStimParams", _STD()), self._din_sys_of_ntv()
        )
        return stim_reply_to_dict(reply, {s: n for n, s in din.items()})

    async def set_stim_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``AllegoCore.SetStimParams`` with the channel's current values merged in (the
        message is complete: every field is required)."""
        idx = int(params["stim_sys_chan_idx"])
        current = await self.get_stim_params()
        if idx not in current:
            raise NotFound(f"stim_sys_chan_idx {idx} is not a stim channel")
        merged = checked_update(current[idx], params)
        din = await self._din_sys_of_ntv()
        await self._core("SetStimParams", stim_params_to_proto(merged, din))
        return (await self.get_stim_params())[idx]

    async def set_manual_stim_trigger(self, trigger: int) -> StimTrigger:
        """``AllegoCore.ManualStimTriggerToggle``.

        The protocol reports nothing about the trigger: ``sample_index`` is the cache head once
        the toggle was acknowledged (the stimulus starts at or before it) and the fired
        channels are the enabled ones armed on keypress ``trigger``.
        """
        params = await self.get_stim_params()
        # keypresses are 1..8 at the API and 0..7 on the wire (radiens-core)
        request = allegoserver_pb2.ManualStimTriggerToggleRequest(trigger=trigger - 1)
        await self._core("ManualStimTriggerToggle", request)
        head = (await self._cache_range())[1]
        armed = tuple(
            idx
            for idx, p in params.items()
            if p["enabled"]
            and p["trigger_source_is_keypress"]
            and p["trigger_source_idx"] == trigger
        )
        return StimTrigger(
            sample_index=head,
            fired_sys_chan_idxs=armed,
            first_pulse_sample=tuple(head for _ in armed),
            refractory_sys_chan_idxs=(),
            trigger_level=False,
            stream_epoch=0,
        )

    # -- digital and analog out ---------------------------------------------------------
    async def get_digital_out_states(self) -> dict[str, Any]:
        """``AllegoCore.GetDIOReg``."""
        return dio_register_to_dict(await self._core("GetDIOReg", _STD()))

    async def set_digital_out_manual(self, dout1_state: bool, dout2_state: bool) -> int:
        """``AllegoCore.SetDIOManual`` for digital outs 1 (ntv 0) and 2 (ntv 1).

        Returns the cache head once both were acknowledged: the new states hold from that
        sample on at the latest (the protocol does not say the exact sample).
        """
        for chan, state in ((0, dout1_state), (1, dout2_state)):
            request = allegoserver_pb2.DIOModeManualRequest(chanIdx=chan, state=state)
            await self._core("SetDIOManual", request)
        return (await self._cache_range())[1]

    async def get_analog_out_settings(self) -> dict[str, Any]:
        """``AllegoCore.GetDACReg``."""
        return analog_out_to_dict(await self._core("GetDACReg", _STD()))

    async def set_analog_out_high_pass(self, cutoff_freq: float, enable: bool) -> dict[str, Any]:
        """``AllegoCore.SetDACHighPass``, then the settings after it."""
        request = allegoserver_pb2.DACHighPassRegister(enable=enable, cutoffFreq=cutoff_freq)
        await self._core("SetDACHighPass", request)
        return await self.get_analog_out_settings()

    # -- spike sorter -------------------------------------------------------------------
    async def sorter_command(self, command: SorterCommand) -> None:
        """``Neurons1.SpikeSorterCommand`` (full sort: sub-command NULL)."""
        request = spikesorter_pb2.SpikeSorterCommandRequest(
            spikeSorterID=SPIKE_SORTER_ID,
            cmd=cast("spikesorter_pb2.SpikeSorterCommand", int(command)),
            subCmd=spikesorter_pb2.SORTER_SUBCMD_NULL,
        )
        await self._neurons("SpikeSorterCommand", request)

    async def _all_amp_ntv(self) -> list[int]:
        return list((await self.get_channel_metadata()).index(SignalType.AMP).ntv)

    async def set_sorter_param(
        self,
        command: SorterParam,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> None:
        """``Neurons1.SpikeSorterSetParams`` (no channels: every amplifier channel)."""
        idxs = list(ntv_idxs) or await self._all_amp_ntv()
        await self._neurons("SpikeSorterSetParams", set_param_request(command, values, flags, idxs))

    async def _sorter_param_reply(self) -> spikesorter_pb2.GetSpikeSorterParamCommandReply:
        request = spikesorter_pb2.SpikeSorterStandardRequest(spikeSorterID=SPIKE_SORTER_ID)
        return await self._neurons("SpikeSorterGetParam", request)

    async def get_sorter_params(self) -> pd.DataFrame:
        """``Neurons1.SpikeSorterGetParam``."""
        return sorter_params_frame(await self._sorter_param_reply())

    async def get_sorter_state(self) -> SorterState:
        """``Neurons1.SpikeSorterGetState``."""
        request = spikesorter_pb2.SpikeSorterStandardRequest(spikeSorterID=SPIKE_SORTER_ID)
        return state_to_model(await self._neurons("SpikeSorterGetState", request))

    async def get_sorter_dashboard(self) -> Dashboard:
        """``Neurons1.SpikeSorterGetDashboard`` with every element."""
        request = spikesorter_pb2.SpikeSorterDashboardRequest(
            spikeSorterID=SPIKE_SORTER_ID,
            dashElements=[
                cast("spikesorter_pb2.DashElement", v) for v in spikesorter_pb2.DashElement.values()
            ],
        )
        return dashboard_to_model(await self._neurons("SpikeSorterGetDashboard", request))

    # -- spikes -------------------------------------------------------------------------
    async def _neurons_reply(self) -> biointerface_pb2.BiointerfaceGetNeuronsReply:
        request = biointerface_pb2.BiointerfaceGetNeuronsRequest(dsourceID=SORTER_SINK_ID)
        return await self._neurons("BiointerfaceGetNeurons", request)

    async def get_spikes_metadata(self) -> SpikesMetadata:
        """``Neurons1.SpikesGetSpec`` and ``BiointerfaceGetNeurons``."""
        request = spikesorter_pb2.SpikeSorterStandardRequest(
            streamGroupID=PRIMARY_CACHE_STREAM_GROUP_ID, spikeSorterID=SPIKE_SORTER_ID
        )
        spec, neurons = await asyncio.gather(
            self._neurons("SpikesGetSpec", request), self._neurons_reply()
        )
        return spec_to_metadata(spec, neurons)

    async def get_spike_rasters(self) -> dict[str, Any]:
        """``Neurons1.SpikeSorterGetRasterData`` (CHANNELS mode, all the cache covers)."""
        request = spikesorter_pb2.SpikeSorterGetRasterDataRequest(
            spikeSorterID=SPIKE_SORTER_ID,
            timeWindow=0.0,  # with no timeRange: all the cache covers
            plotWidthPoints=0.0,
            componentID="radiens_async",
            mode=spikesorter_pb2.CHANNELS,
        )
        return rasters_to_dict(await self._neurons("SpikeSorterGetRasterData", request))

    def _dense_request(
        self,
        start_s: float,
        stop_s: float,
        ntv_chan_idxs: Sequence[int],
        max_per_channel: int,
    ) -> biointerface_pb2.SpikesGetSpikesRequest:
        return biointerface_pb2.SpikesGetSpikesRequest(
            dsourceID=SORTER_SINK_ID,
            mode=biointerface_pb2.Spikes,
            ntvChanIdx=list(ntv_chan_idxs),
            timeStart=start_s,
            timeStop=stop_s,
            maxSpikesPerChannel=max_per_channel,
            spikeComp=[
                biointerface_pb2.CTimestamp,
                biointerface_pb2.CLabel,
                biointerface_pb2.CWaveform,
            ],
        )

    async def get_recent_spikes(
        self, time_wdw_sec: float, ntv_chan_idxs: Sequence[int], max_spikes_per_chan: int
    ) -> SpikesSet:
        """``Neurons1.BiointerfaceGetSpikesDense`` of the look-back ``[window, NaN]``."""
        request = self._dense_request(time_wdw_sec, math.nan, ntv_chan_idxs, max_spikes_per_chan)
        reply = await self._neurons("BiointerfaceGetSpikesDense", request)
        return dense_to_spikes_set(reply, list(ntv_chan_idxs))

    async def get_neurons(self) -> pd.DataFrame:
        """``Neurons1.BiointerfaceGetNeurons``, one row per neuron."""
        return neurons_frame(await self._neurons_reply())

    async def stream_spikes(
        self, start: SpikeStreamStart, ntv_chan_idxs: Sequence[int], max_batch_spikes: int
    ) -> AsyncIterator[SpikeBatch]:
        """Live spikes by polling ``BiointerfaceGetSpikesDense`` over advancing time ranges.

        Each poll reads from a horizon :data:`SPIKE_HORIZON_S` behind the last read (spikes
        are detected a little after they happen) and keeps a spike only if it was not
        delivered before, so every spike is delivered once, in sample order per poll.
        ``first_seq`` / ``next_seq`` count the spikes of this stream.
        """
        if not isinstance(start, str):
            raise NotSupported(
                "spikes().stream(start=<sequence number>)",
                PROTOCOL,
                "spike sequence numbers belong to our hub's push stream",
            )
        status = await self._config_and_status()
        if status.streaming.streamMode != allegoserver_pb2.S_ON:
            raise FailedPrecondition("streaming is off: start it before streaming spikes")
        fs = status.baseSampFreq
        loop_s = max(
            MIN_POLL_S, float((await self._core("GetConfig", _STD())).streamLoopDurMs) / 1e3
        )
        _oldest, head = await self._cache_range(fs)
        horizon = head if start == "now" else 0
        start_sample = horizon
        delivered: set[tuple[int, int]] = set()
        seq = 0
        while True:
            began = time.monotonic()
            _, head = await self._cache_range(fs)
            if head < horizon:  # a new stream began
                return
            request = self._dense_request(horizon / fs, math.inf, ntv_chan_idxs, SPIKES_PER_CHANNEL)
            spikes = dense_to_arrays(await self._neurons("BiointerfaceGetSpikesDense", request))
            keys = list(zip(spikes.sample_index.tolist(), spikes.channel.tolist(), strict=True))
            keep = np.fromiter(
                (k[0] >= start_sample and k not in delivered for k in keys), bool, len(keys)
            )
            new_horizon = max(horizon, head - round(SPIKE_HORIZON_S * fs))
            delivered = {k for k in delivered if k[0] >= new_horizon}
            delivered.update(k for k, new in zip(keys, keep, strict=True) if new)
            horizon = new_horizon
            idx = np.flatnonzero(keep)
            limit = max_batch_spikes or idx.size
            for lo in range(0, idx.size, max(limit, 1)):
                part = idx[lo : lo + limit]
                now = time.monotonic_ns()
                yield SpikeBatch(
                    sample_index=spikes.sample_index[part],
                    channel=spikes.channel[part],
                    label=spikes.label[part],
                    waveforms=spikes.waveforms[part],
                    pre_pts=0,
                    fs=fs,
                    first_seq=seq,
                    next_seq=seq + part.size,
                    missed_spikes=0,
                    detected_ns=np.full(part.size, now, np.int64),
                    acquired_ns=np.zeros(part.size, np.int64),
                    sent_ns=0,
                )
                seq += part.size
            if not idx.size:
                status = await self._config_and_status()
                if status.streaming.streamMode != allegoserver_pb2.S_ON:
                    return
            await asyncio.sleep(max(0.0, loop_s - (time.monotonic() - began)))

    async def convert_kilosort_output(self, paths: KilosortPaths) -> None:
        """Not an Allego operation (Radiens does it on its spike-sorter service)."""
        raise NotSupported(
            "spikes().convert_kilosort_output", PROTOCOL, "an Allego has no Kilosort import"
        )

    # -- live signal metrics ------------------------------------------------------------
    async def set_metrics_param(
        self,
        command: MetricsParam,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> pd.DataFrame:
        """The live metrics' event thresholds are the sorter's: ``SpikeSorterSetParams``."""
        await self.set_sorter_param(command, values, flags, ntv_idxs)
        return await self.get_metrics_params()

    async def set_metrics_packet_duration(self, packet_dur_s: float) -> pd.DataFrame:
        """``Kpi1.SetKpiPacketDur``."""
        request = common_pb2.SetKpiParamRequest(
            streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID, param=packet_dur_s
        )
        await self._call("kpi", "SetKpiPacketDur", request)
        return await self.get_metrics_params()

    async def get_metrics_params(self) -> pd.DataFrame:
        """The sorter's detection parameters (``SpikeSorterGetParam``) with the KPI packet
        duration (``GetKpiStatus``)."""
        params, status = await asyncio.gather(self.get_sorter_params(), self._kpi_status())
        frame = params.copy()
        frame["thr_ref"] = [["uV", "uV"] for _ in range(len(frame))]
        frame["packet_dur_sec"] = status.packetDur
        return frame

    async def _kpi_status(self) -> common_pb2.KpiStatusReply:
        request = common_pb2.GetKpiStatusRequest(streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID)
        return await self._call("kpi", "GetKpiStatus", request)

    async def get_metrics_status(self) -> SignalMetricsStatus:
        """``Kpi1.GetKpiStatus``."""
        status, fs = await asyncio.gather(self._kpi_status(), self._fs())
        return kpi_status_to_model(status, fs)

    async def _fs(self) -> float:
        return float((await self._core("GetConfig", _STD())).baseSampFreq)

    async def get_metrics(
        self, lag_s: float | None, metrics: Sequence[MetricID], tail: bool
    ) -> SignalMetrics:
        """``Kpi1.KpiGetMetrics`` in stream mode over the last ``lag_s`` s (one packet)."""
        ids = list(metrics) or list(DEFAULT_LIVE_METRICS)
        lag = 5.0 if lag_s is None else float(lag_s)
        fs, ntv = await asyncio.gather(self._fs(), self._all_amp_ntv())
        reply = await self._call("kpi", "KpiGetMetrics", metrics_request(ids, ntv, lag, fs))
        return metrics_to_model(reply, ids, fs)

    # -- live signals and PSD of a window -----------------------------------------------
    async def get_live_signals(self, window: SignalWindow) -> DatasetSignals:
        """``Pcache1.GetHDSnapshot2`` of a window of the live cache (float64 arrays)."""
        meta = await self.get_channel_metadata()
        ntv = _window_ntv(meta, window)
        rows = RowSelection(ntv=ntv)
        sec: list[float]
        mode = common_pb2.TRS_SUBSET
        if window.timestamp:
            sec = [t / meta.fs for t in window.timestamp]
        elif window.mode == TrsMode.FROM_HEAD:
            sec, mode = [window.sec[0], math.nan], common_pb2.TRS_FROM_HEAD
        elif window.mode == TrsMode.TO_HEAD:
            sec = [window.sec[0], math.inf]
        else:
            sec = list(window.sec) or [-math.inf, math.inf]
        request = common_pb2.HDSnapshotRequest2(
            dsourceID=PRIMARY_CACHE_STREAM_GROUP_ID,
            tR=common_pb2.TimeRange(timeRangeSec=sec, fs=meta.fs),
            selMode=mode,
            sigSel=rows.selector(),
        )
        reply = await self._call("pcache", "GetHDSnapshot2", request)
        block = snapshot_to_block(reply, rows)
        arrays, at = [], 0
        for n in ntv:
            arrays.append(block.data[at : at + len(n)].astype(np.float64))
            at += len(n)
        return DatasetSignals(
            dsource_id=PRIMARY_CACHE_STREAM_GROUP_ID,
            channel_metadata=meta,
            time_range=make_time_range(
                timestamp=[block.first_sample, block.stop_sample], fs=meta.fs
            ),
            signals=SignalArrays(*arrays),
        )

    async def get_live_psd(self, window: SignalWindow, settings: PsdSettings) -> PSD:
        """An Allego computes no PSD of its live cache."""
        raise NotSupported(
            "signals().get_psd on the live cache",
            PROTOCOL,
            "read the window with signals().get_signals and compute it locally",
        )

    # -- workspaces ---------------------------------------------------------------------
    async def workspace_save(
        self, workspace_id: str | None, tags: str, notes: str, force: bool
    ) -> None:
        """``AllegoCore.WorkspaceControl(WSPACE_Save)``."""
        request = control_request(
            common_pb2.WSPACE_Save, workspace_id, tags=tags, notes=notes, force=force
        )
        await self._core("WorkspaceControl", request)

    async def workspace_switch(self, workspace_id: str) -> None:
        """``AllegoCore.WorkspaceControl(WSPACE_Switch)``."""
        await self._core(
            "WorkspaceControl", control_request(common_pb2.WSPACE_Switch, workspace_id)
        )

    async def workspace_delete(self, workspace_id: str) -> None:
        """``AllegoCore.WorkspaceControl(WSPACE_Delete)``."""
        await self._core(
            "WorkspaceControl", control_request(common_pb2.WSPACE_Delete, workspace_id)
        )

    async def _workspaces(self, command: int) -> pd.DataFrame:
        request = common_pb2.GetWorkspaceRequest(
            cmd=cast("common_pb2.GetWorkspaceCommands", command), appMask=common_pb2.Allego
        )
        reply = await self._core("GetWorkspace", request)
        return workspace_frame(reply.workspaceDesc.values())

    async def workspace_current(self) -> pd.DataFrame:
        """``AllegoCore.GetWorkspace(GET_WSPACE_Current)``."""
        return await self._workspaces(common_pb2.GET_WSPACE_Current)

    async def workspace_list(self) -> pd.DataFrame:
        """``AllegoCore.GetWorkspace(GET_WSPACE_List)``."""
        return await self._workspaces(common_pb2.GET_WSPACE_List)


def _window_ntv(
    meta: ChannelMetadata, window: SignalWindow
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Native indices per signal type of a window's selection (None: every channel;
    ``-2`` all of a type, ``-3`` its selected ones)."""
    out: list[tuple[int, ...]] = []
    sel = window.selection
    for i, stype in enumerate(SignalType):
        every = tuple(meta.index(stype).ntv)
        if sel is None:
            out.append(every)
            continue
        asked = [int(v) for v in (sel.amp, sel.gpio_ain, sel.gpio_din, sel.gpio_dout)[i]]
        if asked == [-2]:
            out.append(every)
        elif asked == [-3]:
            out.append(tuple(meta.sel_index(stype).ntv))
        else:
            unknown = set(asked) - set(every)
            if unknown:
                raise InvalidArgument(f"unknown {stype.name} channels (ntv): {sorted(unknown)}")
            out.append(tuple(asked))
    return (out[0], out[1], out[2], out[3])
