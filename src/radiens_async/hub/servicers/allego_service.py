"""The Allego service: validates requests, calls :class:`AllegoDevice`, converts replies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import numpy as np

from radiens_async._generated.radiens.v1 import allego_pb2, allego_pb2_grpc, common_pb2
from radiens_async.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import ChannelLayout
from radiens_async.hub.daq.channel_selection import ChannelSelection
from radiens_async.hub.daq.instrument_outputs import AnalogOutSettings
from radiens_async.hub.daq.signal_cache import CacheWindow
from radiens_async.hub.live_notifier import LiveNotifier
from radiens_async.hub.read_ahead import ReadAhead
from radiens_async.hub.status_codes import server_stream, unary
from radiens_async.models.converters.instrument_outputs import (
    analog_out_to_proto,
    stim_params_from_proto,
    stim_params_to_proto,
)
from radiens_async.models.converters.signal_chunk_wire import encode_signal_chunk
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID

# samples per stream message: up to ~512 KiB, fewer when live. 1 and 2 MiB messages drained a
# backlog no faster (every copy of a message leaves the CPU caches)
MAX_CHUNK_BYTES = 512 << 10
MAX_SIGNALS_BYTES = 256 << 20  # get_signals replies above this continue on the next call
WAKE_TIMEOUT_S = 0.25
READ_AHEAD_CHUNKS = 2  # chunks encoded ahead of the one being sent
RECORDER_CLOSE_TIMEOUT_S = 60.0  # a slow disk may still hold queued blocks
#: Longest ground-truth range one GetGroundTruth call covers, in seconds of stream time. The
#: trains are computed block by block (~6 ms per second at 1024 channels, in a worker thread);
#: a longer range is asked for in pieces.
MAX_GROUND_TRUTH_S = 300.0
#: Largest chunk a StreamSignals client may ask for (max_chunk_samples x channels x 4 bytes);
#: chunks are cut and encoded on the event loop, so they stay small.
MAX_STREAM_CHUNK_BYTES = 16 << 20


def _block(window: CacheWindow, fs: float) -> common_pb2.SampleBlock:
    data = window.data
    return common_pb2.SampleBlock(
        first_sample=window.first_sample,
        n_channels=data.shape[0],
        n_samples=data.shape[1],
        samples=data.tobytes(),
        fs=fs,
    )


def layout_to_proto(
    layout: ChannelLayout, fs: float, selection: ChannelSelection | None = None
) -> allego_pb2.ChannelMetadataReply:
    """The channel table of the live stream, in sys-index order, with the instrument's channel
    selection and colour groups (what the Radiens protocol's ``UpdateSignalGroup`` changes)."""
    channels = []
    for c in layout.channels:
        msg = allego_pb2.ChannelInfo(
            signal_type=int(c.signal_type),
            ntv_idx=c.ntv_idx,
            dset_idx=c.dset_idx,
            sys_idx=c.sys_idx,
            port=c.port,
            chan_name=c.chan_name,
            ntv_chan_name=c.ntv_chan_name,
            site_num=c.site_num,
            headstage_id=c.headstage_id,
            probe_id=c.probe_id,
            sensor_uid=c.sensor_uid,
        )
        if selection is not None:
            msg.selected = selection.is_selected(c)
            msg.color_group_idx = selection.color_group(c)
        if c.site is not None:
            msg.site.CopyFrom(
                allego_pb2.SiteInfo(
                    x_um=c.site.x_um,
                    y_um=c.site.y_um,
                    z_um=c.site.z_um,
                    shape=c.site.shape,
                    area_um2=c.site.area_um2,
                    shank=c.site.shank,
                )
            )
        channels.append(msg)
    sensors = []
    for s in layout.sensors:
        probe = sensors_catalog.get_probe(s.probe_id)
        sensors.append(
            allego_pb2.SensorInfo(
                port=s.port,
                headstage_id=s.headstage_id,
                probe_id=s.probe_id,
                sensor_uid=f"{s.port}-{s.headstage_id}-{s.probe_id}",
                n_channels=s.n_channels,
                wireframe_x=list(probe.wireframe_x),
                wireframe_y=list(probe.wireframe_y),
            )
        )
    return allego_pb2.ChannelMetadataReply(
        channels=channels,
        fs=fs,
        dataset_uid=PRIMARY_CACHE_STREAM_GROUP_ID,
        source_label=PRIMARY_CACHE_STREAM_GROUP_ID,
        sensors=sensors,
        neighbor_max_radius_um=100.0,
    )


class AllegoService(allego_pb2_grpc.AllegoServicer):
    """Live acquisition on the hub's (simulated) device."""

    def __init__(self, device: AllegoDevice, notifier: LiveNotifier) -> None:
        self.device = device
        self.notifier = notifier

    @unary
    async def Restart(
        self, request: allego_pb2.RestartRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.device.restart(
            request.system_mode,
            seed=request.seed if request.HasField("seed") else None,
            num_channels=request.num_channels if request.HasField("num_channels") else None,
        )
        return common_pb2.Empty()

    @unary
    async def GetStatus(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.AllegoStatus:
        st = self.device.status()
        return allego_pb2.AllegoStatus(
            streaming=st.streaming,
            stream_t_start=st.oldest_sample / st.sample_freq,
            stream_t_end=st.head_sample / st.sample_freq,
            hw_mem_level=st.hw_mem_level,
            recording=st.recording,
            active_file_name=st.active_file_name,
            recording_dur_s=st.recording_dur_s,
            recording_error=st.recording_error,
            acquisition_error=st.acquisition_error,
            sample_freq=st.sample_freq,
            system_mode=int(st.system_mode),
            ports=[
                allego_pb2.PortChannels(port=p, n_channels=n)
                for p, n in st.port_num_channels.items()
            ],
            connected=bool(st.port_num_channels),
            n_ain=st.n_ain,
            n_din=st.n_din,
            n_dout=st.n_dout,
            stream_loop_dur_ms=st.stream_loop_dur_ms,
            head_sample=st.head_sample,
            oldest_sample=st.oldest_sample,
            stream_epoch=st.stream_epoch,
            seed=st.seed,
        )

    @unary
    async def SetStreaming(
        self, request: allego_pb2.SetModeRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.device.set_streaming(request.on)
        return common_pb2.Empty()

    @unary
    async def SetRecording(
        self, request: allego_pb2.SetModeRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        if request.on:
            self.device.start_recording()
        else:
            recorder = self.device.stop_recording()
            if recorder is not None:
                # the file set is complete on disk when the call returns
                await asyncio.to_thread(recorder.join, RECORDER_CLOSE_TIMEOUT_S)
        return common_pb2.Empty()

    @unary
    async def SetRecordingConfig(
        self, request: allego_pb2.RecordingConfig, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.device.set_recording_config(
            request.path, request.base_name, request.index, request.time_stamp
        )
        return common_pb2.Empty()

    @unary
    async def GetRecordingConfig(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.RecordingConfig:
        cfg = self.device.recording_config
        return allego_pb2.RecordingConfig(
            path=str(cfg.path), base_name=cfg.base_name, index=cfg.index, time_stamp=cfg.time_stamp
        )

    @unary
    async def SetSamplingFreq(
        self, request: allego_pb2.SetSamplingFreqRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.device.set_sampling_freq(request.fs)
        return common_pb2.Empty()

    @unary
    async def GetStreamLoopDur(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.StreamLoopDurReply:
        return allego_pb2.StreamLoopDurReply(ms=self.device.status().stream_loop_dur_ms)

    @unary
    async def GetChannelMetadata(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.ChannelMetadataReply:
        device = self.device
        return layout_to_proto(device.layout, device.fs, device.channel_selection)

    @unary
    async def GetAvailableSensors(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.SensorsReply:
        return allego_pb2.SensorsReply(
            headstages=sensors_catalog.headstages(), probes=sensors_catalog.probes()
        )

    @unary
    async def SetSensor(
        self, request: allego_pb2.SetSensorRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.device.set_sensor(request.port, request.headstage_id, request.probe_id)
        return common_pb2.Empty()

    @unary
    async def SetTimeToCacheHead(
        self, request: allego_pb2.CursorRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.device.set_time_to_cache_head(request.component_id)
        return common_pb2.Empty()

    @unary
    async def GetSignals(
        self, request: allego_pb2.GetSignalsRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        """The reply in wire format (registered pre-encoded in server.py): up to
        MAX_SIGNALS_BYTES read, built and serialized in a worker thread, never on the loop."""
        if request.max_samples < 0:
            raise InvalidArgument(f"max_samples must be >= 0, got {request.max_samples}")
        cap = MAX_SIGNALS_BYTES // (4 * self.device.layout.n_channels)
        limit = min(request.max_samples, cap) if request.max_samples else cap
        return await asyncio.to_thread(self._signals_reply, request.component_id, limit)

    def _signals_reply(self, component_id: str, limit: int) -> bytes:
        window = self.device.get_signals(component_id, limit)
        return allego_pb2.SignalsReply(
            block=_block(window, self.device.fs),
            missed_samples=window.missed,
            stream_epoch=self.device.epoch,
        ).SerializeToString()

    @server_stream
    async def StreamSignals(
        self, request: allego_pb2.StreamSignalsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        # SignalChunk wire bytes (registered with a pass-through serializer in server.py); the
        # next chunk is cut and encoded while the previous one is being sent
        ahead: ReadAhead[bytes] = ReadAhead(READ_AHEAD_CHUNKS)
        async for chunk in ahead.run(self._signal_chunks(request, ahead)):
            yield chunk

    async def _signal_chunks(
        self, request: allego_pb2.StreamSignalsRequest, ahead: ReadAhead[bytes]
    ) -> AsyncIterator[bytes]:
        device = self.device
        cache = device.cache
        if cache is None or not device.streaming:
            raise FailedPrecondition("streaming is off: call set_streaming('on') first")
        rows = device.rows_for(list(request.sys_idxs))
        if request.max_chunk_samples < 0:
            raise InvalidArgument(
                f"max_chunk_samples must be >= 0, got {request.max_chunk_samples}"
            )
        n_rows = cache.n_channels if rows is None else len(rows)
        chunk_cap = max(1, MAX_STREAM_CHUNK_BYTES // (4 * n_rows))
        if request.max_chunk_samples > chunk_cap:
            raise ResourceExhausted(
                f"max_chunk_samples={request.max_chunk_samples} x {n_rows} channels exceeds "
                f"MAX_STREAM_CHUNK_BYTES ({MAX_STREAM_CHUNK_BYTES >> 20} MiB per chunk): ask "
                f"for at most {chunk_cap} samples per chunk, fewer channels, or 0 (the default)"
            )
        max_chunk = request.max_chunk_samples or max(1, MAX_CHUNK_BYTES // (4 * n_rows))
        which = request.WhichOneof("start")
        if which == "from_sample":
            if request.from_sample < 0:
                raise InvalidArgument(f"from_sample must be >= 0, got {request.from_sample}")
            head = cache.head
            if request.from_sample > head + cache.capacity:
                raise InvalidArgument(
                    f"from_sample={request.from_sample} is more than the cache length "
                    f"({cache.capacity} samples) ahead of the head ({head}): start at most at "
                    f"sample {head + cache.capacity}, or stream from the head"
                )
            cursor = request.from_sample
        elif which == "from_oldest":
            cursor = cache.oldest
        else:
            cursor = cache.head
        fs = device.fs
        pending_missed = 0

        def ready() -> bool:  # samples to send, or the stream ended
            return cache.head > cursor or cache.closed

        while True:
            if not await self.notifier.wait_until(ready, WAKE_TIMEOUT_S):
                continue
            head = cache.head
            if head <= cursor:
                break  # the stream ended and everything was sent
            if head - cursor < max_chunk:
                # less than a full chunk (live): cut it only when it can leave, so that it
                # takes every sample that arrived while the previous one was being sent
                await ahead.until_hungry()
                head = cache.head
            window = cache.read(cursor, min(head, cursor + max_chunk), rows)
            cursor = window.stop_sample
            pending_missed += window.missed
            if window.n_samples == 0:
                continue
            yield encode_signal_chunk(
                window.first_sample,
                window.data,
                fs,
                missed_samples=pending_missed,
                acquired_ns=cache.acquired_ns if window.stop_sample == head else 0,
                # stamped when cut: a live chunk goes at once; in a drain it may wait behind
                # READ_AHEAD_CHUNKS others
                sent_ns=time.monotonic_ns(),
                head_sample=head,
            )
            pending_missed = 0
        if pending_missed:
            empty = np.empty((n_rows, 0), np.float32)
            yield encode_signal_chunk(cursor, empty, fs, missed_samples=pending_missed)

    @unary
    async def GetGroundTruth(
        self, request: allego_pb2.GroundTruthRequest, context: grpc.aio.ServicerContext
    ) -> allego_pb2.GroundTruthReply:
        head = self.device.cache.head if self.device.cache is not None else 0
        start = request.start_sample
        stop = request.stop_sample if request.stop_sample > 0 else head
        if start < 0 or stop < start:
            raise InvalidArgument(
                f"invalid sample range [{start}, {stop}): need 0 <= start <= stop"
            )
        fs = self.device.fs
        max_samples = max(1, int(MAX_GROUND_TRUTH_S * fs))
        if stop - start > max_samples:
            raise ResourceExhausted(
                f"ground-truth range [{start}, {stop}) spans {stop - start} samples; one call "
                f"covers at most MAX_GROUND_TRUTH_S = {MAX_GROUND_TRUTH_S:g} s ({max_samples} "
                f"samples at {fs:g} Hz): ask for the range in pieces"
            )
        # the trains are computed block by block and the reply holds one entry per spike:
        # both off the event loop
        return await asyncio.to_thread(self._ground_truth_reply, start, stop)

    def _ground_truth_reply(self, start: int, stop: int) -> allego_pb2.GroundTruthReply:
        sim = self.device.simulator
        truth = sim.ground_truth(start, stop)
        return allego_pb2.GroundTruthReply(
            sample_index=truth["sample_index"].tolist(),
            unit_id=truth["unit_id"].tolist(),
            channel=truth["channel"].tolist(),
            units=[
                allego_pb2.SimUnitInfo(
                    unit_id=u.unit_id,
                    peak_channel=u.peak_channel,
                    trough_uv=u.trough_uv,
                    snr=u.snr,
                    rate_hz=u.rate_hz,
                )
                for u in sim.units()
            ],
            sine_frequencies_hz=_as_list(sim.sine_frequencies_hz),
            band_frequencies_hz=_as_list(sim.band_frequencies_hz),
            band_names=list(sim.band_names) if sim.band_frequencies_hz is not None else [],
            noise_uv=sim.noise_uv,
            mode=sim.mode,
            seed=self.device.seed,
        )

    # -- stimulation, digital out, analog out ------------------------------------------------
    @unary
    async def GetStimParams(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.StimParamsReply:
        params = self.device.outputs.stim.get()
        return allego_pb2.StimParamsReply(
            channels=[stim_params_to_proto(params[i]) for i in sorted(params)]
        )

    @unary
    async def SetStimParams(
        self, request: allego_pb2.StimChannelParams, context: grpc.aio.ServicerContext
    ) -> allego_pb2.StimChannelParams:
        merged = self.device.outputs.set_stim_params(
            stim_params_from_proto(request), streaming=self.device.streaming
        )
        return stim_params_to_proto(merged)

    @unary
    async def ManualStimTrigger(
        self, request: allego_pb2.ManualStimTriggerRequest, context: grpc.aio.ServicerContext
    ) -> allego_pb2.StimTriggerReply:
        firing = self.device.outputs.manual_stim_trigger(request.trigger, self.device.streaming)
        return allego_pb2.StimTriggerReply(
            sample_index=firing.sample_index,
            fired_sys_chan_idxs=list(firing.fired),
            first_pulse_sample=list(firing.first_pulse_sample),
            refractory_sys_chan_idxs=list(firing.refractory),
            trigger_level=firing.level,
            stream_epoch=self.device.epoch,
        )

    @unary
    async def GetDigitalOutStates(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.DigitalOutStatesReply:
        outputs = self.device.outputs
        return allego_pb2.DigitalOutStatesReply(
            digital_outs_mode=outputs.dout_mode.name,
            states=[
                allego_pb2.DigitalOutState(chan_idx=i, state=s)
                for i, s in enumerate(outputs.dout_states)
            ],
        )

    @unary
    async def SetDigitalOutManual(
        self, request: allego_pb2.SetDigitalOutRequest, context: grpc.aio.ServicerContext
    ) -> allego_pb2.DigitalOutApplied:
        states: dict[int, object] = {}
        for s in request.states:
            if s.chan_idx in states:
                raise InvalidArgument(f"digital out {s.chan_idx} is given twice")
            states[s.chan_idx] = s.state
        sample = self.device.outputs.set_digital_outs(states)
        return allego_pb2.DigitalOutApplied(
            sample_index=sample, streaming=self.device.streaming, stream_epoch=self.device.epoch
        )

    @unary
    async def GetAnalogOutSettings(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> allego_pb2.AnalogOutSettings:
        return _analog_out_reply(self.device.outputs.analog_out)

    @unary
    async def SetAnalogOutHighPass(
        self, request: allego_pb2.SetAnalogOutHighPassRequest, context: grpc.aio.ServicerContext
    ) -> allego_pb2.AnalogOutSettings:
        settings = self.device.outputs.set_analog_out_high_pass(request.cutoff_freq, request.enable)
        return _analog_out_reply(settings)


def _analog_out_reply(settings: AnalogOutSettings) -> allego_pb2.AnalogOutSettings:
    return analog_out_to_proto(settings.as_dict())


def _as_list(values: np.ndarray | None) -> list[float]:
    """Flatten an optional array of frequencies into a list for a repeated proto field."""
    return [] if values is None else np.asarray(values, dtype=np.float64).ravel().tolist()
