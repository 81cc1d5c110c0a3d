"""The Neurons service: the live spike sorter's controls, tables and the spike stream."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import numpy as np

from radiens_async._generated.radiens.v1 import common_pb2, neurons_pb2, neurons_pb2_grpc
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.live_notifier import LiveNotifier
from radiens_async.hub.spikes.spike_engine import SpikeBatch, SpikeEngine
from radiens_async.hub.status_codes import server_stream, unary
from radiens_async.hub.summary_stats import summary_vector

if TYPE_CHECKING:
    from radiens_async.hub.datasets.catalog import DatasetCatalog

_Reply = TypeVar("_Reply")

CMD_ON, CMD_OFF, CMD_CLEAR_SORT, CMD_REBASE, CMD_INIT = 0, 1, 2, 4, 5
THR_LEVEL, THR_LEVEL_SD, THR_WDW = 1, 4, 8
WEAK_THR_LEVEL, WEAK_THR_LEVEL_SD, SHADOW = 10, 13, 17
THR_ACTIVATE, WEAK_THR_ACTIVATE = 19, 21
_LEVELS = {
    THR_LEVEL: ("uV", False),
    THR_LEVEL_SD: ("sd", False),
    WEAK_THR_LEVEL: ("uV", True),
    WEAK_THR_LEVEL_SD: ("sd", True),
}
MAX_BATCH_SPIKES = 4096
WAKE_TIMEOUT_S = 0.25
LIVE_SORTER_ID = "Live Signals"
NEIGHBOR_RADIUS_UM = 60.0


def _registers(request: neurons_pb2.SorterParamRequest) -> tuple[list[float], list[bool]]:
    floats, bools = list(request.reg_float64), list(request.reg_bool)
    if len(floats) != 2 or len(bools) != 2:
        raise InvalidArgument(
            f"parameter command {request.command} needs 2 float and 2 bool register slots, "
            f"got {len(floats)} and {len(bools)}"
        )
    return floats, bools


def _spike_arrays(batch: SpikeBatch, pre_pts: int, fs: float) -> neurons_pb2.SpikeArrays:
    waves = np.ascontiguousarray(batch.waveform, dtype="<f4")
    return neurons_pb2.SpikeArrays(
        sample_index=batch.sample_index.tolist(),
        channel=batch.channel.tolist(),
        label=batch.label.tolist(),
        waveforms=waves.tobytes(),
        n_pts=int(waves.shape[1]) if waves.ndim == 2 else 0,
        pre_pts=pre_pts,
        fs=fs,
    )


class SorterClock:
    """When the sorter was initialized, launched, and its streaming session started/stopped."""

    def __init__(self) -> None:
        self.init_time = time.time()
        self.launch_time = 0.0
        self.session_start_time = 0.0
        self.session_stop_time = 0.0


class NeuronsService(neurons_pb2_grpc.NeuronsServicer):
    """gRPC face of the device's :class:`SpikeEngine`.

    Parameters
    ----------
    device : AllegoDevice
        Holds the engine (rebuilt when the channel layout changes) and the streaming state.
    notifier : LiveNotifier
        Woken by the spike feeder after each processed block.
    datasets : DatasetCatalog, optional
        Linked datasets, for the spikes of a recording (``get_spike_timestamps`` ...).
    """

    def __init__(
        self, device: AllegoDevice, notifier: LiveNotifier, datasets: DatasetCatalog | None = None
    ) -> None:
        self.device = device
        self.notifier = notifier
        self.datasets = datasets
        self.clock = SorterClock()

    @property
    def engine(self) -> SpikeEngine:
        return self.device.spike_engine

    # -- control ----------------------------------------------------------------------------
    @unary
    async def SorterCommand(
        self, request: neurons_pb2.SorterCommandRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        engine = self.engine
        if request.command == CMD_ON:
            if not engine.sorting:
                self.clock.launch_time = time.time()
            engine.set_sorting(True)
        elif request.command == CMD_OFF:
            engine.set_sorting(False)
        elif request.command == CMD_CLEAR_SORT:
            engine.clear_spikes()
        elif request.command == CMD_REBASE:
            engine.rebase()
        elif request.command == CMD_INIT:
            engine.initialize()
            self.clock = SorterClock()
        else:
            raise InvalidArgument(
                f"unknown sorter command {request.command} "
                "(ON=0, OFF=1, CLEAR_SORT=2, REBASE=4, INIT=5)"
            )
        return common_pb2.Empty()

    @unary
    async def SetSorterParam(
        self, request: neurons_pb2.SorterParamRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        engine = self.engine
        idxs: Sequence[int] | None = list(request.ntv_idxs) or None
        floats, bools = _registers(request)
        if request.command in _LEVELS:
            scale, weak = _LEVELS[request.command]
            neg = floats[0] if bools[0] else None
            pos = floats[1] if bools[1] else None
            engine.set_threshold_level(neg, pos, scale, idxs, weak)
        elif request.command in (THR_ACTIVATE, WEAK_THR_ACTIVATE):
            neg_on = bool(floats[0]) if bools[0] else None
            pos_on = bool(floats[1]) if bools[1] else None
            engine.set_threshold_active(neg_on, pos_on, idxs, request.command == WEAK_THR_ACTIVATE)
        elif request.command == THR_WDW:
            engine.set_window(floats[0] * 1000.0, floats[1] * 1000.0)
        elif request.command == SHADOW:
            engine.set_shadow(floats[0] * 1000.0)
        else:
            raise InvalidArgument(f"unknown sorter parameter command {request.command}")
        return common_pb2.Empty()

    # -- tables -----------------------------------------------------------------------------
    @unary
    async def GetSorterParams(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.SorterParamsReply:
        noise = self.engine.noise_sd_uv()
        channels = []
        for row in self.engine.params_rows():
            channels.append(
                neurons_pb2.SorterChannelParams(
                    ntv_idx=int(row["ntv_idx"]),
                    chan_enabled=bool(row["chan_enabled"]),
                    thr_activated=[bool(x) for x in row["thr_activated"]],
                    thr=[float(x) for x in row["thr"]],
                    thr_sd=[float(x) for x in row["thr_sd"]],
                    thr_wdw_s=[float(x) / 1000.0 for x in row["thr_wdw"]],
                    shadow_s=float(row["shadow"]) / 1000.0,
                    weak_thr=[float(x) for x in row["weak_thr"]],
                    thr_wdw_pts=[int(x) for x in row["thr_wdw_pts"]],
                    shadow_pts=int(row["shadow_pts"]),
                    weak_thr_activated=[bool(x) for x in row.get("weak_thr_activated", ())],
                    weak_thr_sd=[float(x) for x in row.get("weak_thr_sd", ())],
                    noise_sd_uv=float(noise[int(row["ntv_idx"])]),
                )
            )
        return neurons_pb2.SorterParamsReply(channels=channels, fs=self.device.fs)

    def _state(self) -> neurons_pb2.SorterStateReply:
        on = bool(self.engine.sorting)
        streaming = self.device.streaming
        feeder = self.device.spike_feeder
        warn = ""
        if feeder is not None and feeder.dropped_samples:
            warn = f"detection fell behind: {feeder.dropped_samples} samples skipped"
        return neurons_pb2.SorterStateReply(
            mode="SYS_ON" if on else "SYS_OFF",
            frac_complete=1.0 if streaming else 0.0,
            message="sorting" if on else ("detecting" if streaming else "idle"),
            init_time=self.clock.init_time,
            launch_time=self.clock.launch_time,
            session_start_time=self.clock.session_start_time,
            session_stop_time=self.clock.session_stop_time,
            is_on=on,
            kernel_err_message=feeder.error if feeder is not None else "",
            kernel_warn_message=warn,
        )

    @unary
    async def GetSorterState(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.SorterStateReply:
        return self._state()

    def _time_range(self) -> list[float]:
        cache = self.device.cache
        if cache is None:
            return [0.0, 0.0]
        return [cache.oldest / self.device.fs, cache.head / self.device.fs]

    def _site_stats(self) -> dict[str, np.ndarray]:
        """Per amplifier channel: spike counts, labeled counts, units, noise, SNR."""
        engine = self.engine
        n_amp = self.device.spike_engine_rows
        counts = engine.counts()
        spikes = np.asarray(counts.get("spike_count", np.zeros(n_amp)), dtype=np.float64)
        labeled = np.asarray(counts.get("spike_count_labeled", np.zeros(n_amp)), dtype=np.float64)
        noise = np.asarray(engine.noise_sd_uv(), dtype=np.float64)
        units = engine.units()
        n_units = np.zeros(n_amp)
        snr = np.zeros(n_amp)
        for u in units:
            n_units[u["ntv_idx"]] += 1
            snr[u["ntv_idx"]] = max(snr[u["ntv_idx"]], float(u.get("snr", 0.0)))
        return {"spikes": spikes, "labeled": labeled, "noise": noise, "units": n_units, "snr": snr}

    @unary
    async def GetSorterDashboard(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.DashboardReply:
        stats = self._site_stats()
        amp = self.device.layout.of_type(StreamSignalType.AMP)
        ports = sorted({c.port for c in amp})
        port_of = np.array([c.port for c in amp])
        port_stats = []
        for port in ports:
            mine = port_of == port
            port_stats.append(
                neurons_pb2.PortSummary(
                    port=port,
                    snr=neurons_pb2.SummaryVector(values=summary_vector(stats["snr"][mine])),
                    noise=neurons_pb2.SummaryVector(values=summary_vector(stats["noise"][mine])),
                    units=neurons_pb2.SummaryVector(values=summary_vector(stats["units"][mine])),
                )
            )
        recorder = self.device.recorder
        spikes_path, spikes_base = "", ""
        if recorder is not None:
            spikes_path = str(recorder.writer.paths.json.parent)
            spikes_base = recorder.writer.paths.json.name.split(".", 1)[0]
        return neurons_pb2.DashboardReply(
            ports=ports,
            time_range=self._time_range(),
            num_sites_total=len(amp),
            num_sites_enabled=len(amp),
            num_sites_active=int((stats["spikes"] > 0).sum()),
            num_units=int(stats["units"].sum()),
            num_spikes_processed=int(stats["spikes"].sum()),
            num_spikes_labeled=int(stats["labeled"].sum()),
            spikes_file_path=spikes_path,
            spikes_file_base_name=spikes_base,
            probe_snr=neurons_pb2.SummaryVector(values=summary_vector(stats["snr"])),
            probe_noise=neurons_pb2.SummaryVector(values=summary_vector(stats["noise"])),
            probe_units=neurons_pb2.SummaryVector(values=summary_vector(stats["units"])),
            port_stats=port_stats,
            state=self._state(),
        )

    def _neurons(self) -> list[neurons_pb2.NeuronInfo]:
        out = []
        duration = max(self._time_range()[1], 1e-9)
        for k, u in enumerate(self.engine.units()):
            pos = u.get("pos", (0.0, 0.0))
            out.append(
                neurons_pb2.NeuronInfo(
                    id=k,
                    ntv_idx=int(u["ntv_idx"]),
                    label=int(u["label"]),
                    probe_x=float(pos[0]),
                    probe_y=float(pos[1]),
                    spike_count=int(u["spike_count"]),
                    spike_rate=int(u["spike_count"]) / duration,
                    mean_abs_peak_waveform=float(u.get("mean_abs_peak_waveform", 0.0)),
                    snr=float(u.get("snr", 0.0)),
                )
            )
        return out

    @unary
    async def GetNeurons(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.NeuronsReply:
        return neurons_pb2.NeuronsReply(neurons=self._neurons())

    @unary
    async def GetSpikesMetadata(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.SpikesMetadataReply:
        stats = self._site_stats()
        amp = self.device.layout.of_type(StreamSignalType.AMP)
        xy = self.device.amp_site_xy_um
        duration = max(self._time_range()[1], 1e-9)
        sites = []
        for i, c in enumerate(amp):
            d = np.hypot(*(xy - xy[i]).T)
            near = np.flatnonzero((d <= NEIGHBOR_RADIUS_UM) & (np.arange(len(amp)) != i))
            sites.append(
                neurons_pb2.SpikeSiteInfo(
                    ntv_idx=c.ntv_idx,
                    enabled=True,
                    probe_x=float(xy[i, 0]),
                    probe_y=float(xy[i, 1]),
                    spike_count=int(stats["spikes"][i]),
                    spike_count_labeled=int(stats["labeled"][i]),
                    spike_rate=float(stats["spikes"][i]) / duration,
                    noise=float(stats["noise"][i]),
                    snr=float(stats["snr"][i]),
                    num_neurons=int(stats["units"][i]),
                    neighbor_ntv_idxs=near.tolist(),
                    neighbor_distance_um=d[near].tolist(),
                )
            )
        return neurons_pb2.SpikesMetadataReply(
            id=LIVE_SORTER_ID,
            time_range=self._time_range(),
            fs=self.device.fs,
            n_pts_waveform=int(self.engine.n_pts),
            sites=sites,
            neurons=self._neurons(),
            neighbor_radius_um=NEIGHBOR_RADIUS_UM,
        )

    # -- spikes -----------------------------------------------------------------------------
    def _amp_channels(self, ntv_idxs: Sequence[int]) -> np.ndarray | None:
        if not ntv_idxs:
            return None
        idxs = np.asarray(ntv_idxs, dtype=np.int64)
        n = self.device.spike_engine_rows
        bad = idxs[(idxs < 0) | (idxs >= n)]
        if bad.size:
            raise InvalidArgument(
                f"unknown amplifier channel ntv indices {bad.tolist()} (valid: 0..{n - 1})"
            )
        return idxs.astype(np.int32)

    @unary
    async def GetSpikeRasters(
        self, request: neurons_pb2.RasterRequest, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.RasterReply:
        if request.start_sample < 0:
            raise InvalidArgument(f"start_sample must be >= 0, got {request.start_sample}")
        head = self.device.cache.head if self.device.cache is not None else 0
        stop = request.stop_sample if request.stop_sample > 0 else head + 1
        start, time_range, fs = request.start_sample, self._time_range(), self.device.fs

        def build() -> neurons_pb2.RasterReply:
            batch = self.engine.rasters(start, stop)
            ts = batch.sample_index
            return neurons_pb2.RasterReply(
                time_range=time_range,
                timestamp_range=[int(ts[0]), int(ts[-1])] if ts.size else [0, 0],
                ntv_chan_idx=batch.channel.tolist(),
                timestamps=ts.tolist(),
                labels=batch.label.tolist(),
                gpio_data=b"",
                gpio_rows=0,
                gpio_cols=0,
                fs=fs,
            )

        # every spike of the cache may be asked for: gathered and listed off the event loop
        return await asyncio.to_thread(build)

    @unary
    async def GetRecentSpikes(
        self, request: neurons_pb2.RecentSpikesRequest, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.RecentSpikesReply:
        if not (math.isfinite(request.time_wdw_sec) and request.time_wdw_sec > 0):
            raise InvalidArgument(
                f"time_wdw_sec must be a finite number of seconds > 0, got {request.time_wdw_sec}"
            )
        if request.max_spikes_per_chan < 1:
            raise InvalidArgument(
                f"max_spikes_per_chan must be >= 1, got {request.max_spikes_per_chan}"
            )
        channels = self._amp_channels(list(request.ntv_chan_idxs))
        fs = self.device.fs
        head = self.device.cache.head if self.device.cache is not None else 0
        since = max(0, head - round(request.time_wdw_sec * fs))
        n_channels = self.device.spike_engine_rows if channels is None else len(channels)
        per_channel = request.max_spikes_per_chan

        def build() -> neurons_pb2.RecentSpikesReply:
            batch = self.engine.recent(since, channels, per_channel)
            return neurons_pb2.RecentSpikesReply(
                spikes=_spike_arrays(batch, self.engine.pre_pts, fs),
                envelope_time_range=[since / fs, head / fs],
                num_channels=n_channels,
            )

        # waveforms of up to max_spikes_per_chan spikes per channel: built off the event loop
        return await asyncio.to_thread(build)

    @unary
    async def ConvertKilosortOutput(
        self, request: neurons_pb2.KilosortRequest, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.KilosortReply:
        return await convert_kilosort(request)

    # -- spikes of linked datasets ---------------------------------------------------------
    @unary
    async def GetDatasetSpikeTimestamps(
        self, request: neurons_pb2.DatasetSpikesRequest, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.DatasetSpikeTimestampsReply:
        def read() -> neurons_pb2.DatasetSpikeTimestampsReply:
            with self._dataset_spikes(request.dataset_id) as reader:
                table = reader.spike_timestamps_table(_time_range(request))
            return neurons_pb2.DatasetSpikeTimestampsReply(
                n_spikes=int(table["timestamps"].size),
                timestamps=np.ascontiguousarray(table["timestamps"], "<i8").tobytes(),
                labels=np.ascontiguousarray(table["labels"], "<i4").tobytes(),
                dset_idxs=np.ascontiguousarray(table["dset_idxs"], "<i4").tobytes(),
            )

        return await asyncio.to_thread(_as_invalid_argument, read)

    @unary
    async def GetDatasetSpikeWaveforms(
        self, request: neurons_pb2.DatasetSpikesRequest, context: grpc.aio.ServicerContext
    ) -> neurons_pb2.DatasetSpikeWaveformsReply:
        if request.max_spikes_per_channel < 0:
            raise InvalidArgument(
                f"max_spikes_per_channel must be >= 0, got {request.max_spikes_per_channel}"
            )

        def read() -> neurons_pb2.DatasetSpikeWaveformsReply:
            with self._dataset_spikes(request.dataset_id) as reader:
                waves = reader.waveforms(
                    _time_range(request), None, request.max_spikes_per_channel or None
                )
            return neurons_pb2.DatasetSpikeWaveformsReply(
                n_spikes=int(waves.shape[0]),
                n_pts=int(waves.shape[1]),
                waveforms=np.ascontiguousarray(waves, "<f4").tobytes(),
            )

        return await asyncio.to_thread(_as_invalid_argument, read)

    def _dataset_spikes(self, dataset_id: str) -> Any:
        if self.datasets is None:
            raise FailedPrecondition("this hub has no dataset catalog")
        if not dataset_id:
            raise InvalidArgument("dataset_id is required")
        return self.datasets.spikes_reader_for(dataset_id)

    @server_stream
    async def StreamSpikes(
        self, request: neurons_pb2.StreamSpikesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[neurons_pb2.SpikeBatchMsg]:
        device = self.device
        if not device.streaming:
            raise InvalidArgument("streaming is off: call set_streaming('on') first")
        if request.max_batch_spikes < 0:
            raise InvalidArgument(f"max_batch_spikes must be >= 0, got {request.max_batch_spikes}")
        channels = self._amp_channels(list(request.ntv_chan_idxs))
        engine = self.engine
        epoch = device.epoch
        which = request.WhichOneof("start")
        if which == "from_seq":
            if request.from_seq < 0:
                raise InvalidArgument(f"from_seq must be >= 0, got {request.from_seq}")
            cursor = request.from_seq
        elif which == "from_oldest":
            cursor = 0
        else:
            cursor = engine.next_seq
        limit = request.max_batch_spikes or MAX_BATCH_SPIKES
        fs = device.fs
        loop = device.acquisition_loop
        with device.live_spike_reader():  # the feeder then publishes block by block

            def ready() -> bool:  # spikes to send, or the stream this call followed ended
                live = device.streaming and device.epoch == epoch and engine is device.spike_engine
                return engine.next_seq > cursor or not live

            while True:
                if not await self.notifier.wait_until(ready, WAKE_TIMEOUT_S):
                    continue
                if engine.next_seq <= cursor:
                    break  # the stream ended and every spike was sent
                batch = engine.read(cursor, limit, channels)
                first = cursor
                cursor = (
                    batch.next_seq if batch.next_seq >= 0 else batch.seq + batch.sample_index.size
                )
                if batch.sample_index.size == 0 and batch.missed == 0:
                    continue
                acquired = (
                    loop.acquired_ns_of(batch.sample_index)
                    if loop is not None
                    else np.zeros(batch.sample_index.size, np.int64)
                )
                msg = neurons_pb2.SpikeBatchMsg(
                    spikes=_spike_arrays(batch, engine.pre_pts, fs),
                    first_seq=first,
                    next_seq=cursor,
                    missed_spikes=batch.missed,
                    detected_ns=batch.detected_ns.tolist(),
                    acquired_ns=acquired.tolist(),
                )
                msg.sent_ns = time.monotonic_ns()
                yield msg


def _time_range(request: neurons_pb2.DatasetSpikesRequest) -> tuple[float, float] | None:
    if not request.has_time_range:
        return None
    t0, t1 = request.start_s, request.end_s
    if not (np.isfinite(t0) and np.isfinite(t1)):
        raise InvalidArgument(f"time_range must be finite seconds, got [{t0}, {t1}]")
    if t1 < t0:
        raise InvalidArgument(f"time_range [{t0}, {t1}] is reversed")
    return (t0, t1)


def _as_invalid_argument(read: Callable[[], _Reply]) -> _Reply:
    """The spikes reader reports bad selections as ValueError: a client error."""
    try:
        return read()
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from exc


async def convert_kilosort(request: neurons_pb2.KilosortRequest) -> neurons_pb2.KilosortReply:
    """Run the Kilosort conversion in a worker thread; map file errors to typed ones."""
    from radiens_async.errors import AlreadyExists
    from radiens_async.formats.kilosort import convert_kilosort_output
    from radiens_async.formats.spikes_file import SpikesReader

    def run() -> neurons_pb2.KilosortReply:
        try:
            paths = convert_kilosort_output(
                request.source_bio_path,
                request.source_bio_basename,
                request.source_vex_path,
                request.source_vex_basename,
                request.sink_bio_path,
                request.sink_bio_basename,
            )
        except FileExistsError as exc:
            raise AlreadyExists(f"{exc}; not overwriting an existing spikes file") from exc
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise InvalidArgument(str(exc)) from exc
        with SpikesReader(paths.json) as reader:
            n = reader.n_spikes
        return neurons_pb2.KilosortReply(spikes_file=str(paths.json), n_spikes=n)

    return await asyncio.to_thread(run)
