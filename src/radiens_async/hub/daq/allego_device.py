"""The Allego instrument as the hub holds it: mode, sampling rate, sensors, streaming, the cache.

Plain domain code: it raises :mod:`radiens_async.errors` exceptions (the servicer maps them to
gRPC status codes) and knows nothing about gRPC. All methods are called from the hub's event loop
thread; the acquisition loop runs in its own thread and only touches the simulator and the cache.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from radiens_async.formats.spikes_file import channels_from_xdat
from radiens_async.formats.xdat import XdatChannel, XdatWriter
from radiens_async.formats.xdat_metadata import SignalKind
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.acquisition_loop import MAX_CATCHUP_BLOCKS, AcquisitionLoop, BlockSink
from radiens_async.hub.daq.channel_layout import ChannelLayout, PortSensor, StreamSignalType
from radiens_async.hub.daq.channel_selection import ChannelSelection
from radiens_async.hub.daq.instrument_outputs import InstrumentOutputs
from radiens_async.hub.daq.live_dsp_group import LiveDspGroup, Stage1Source
from radiens_async.hub.daq.recorder import DEFAULT_MAX_QUEUE_BYTES, Recorder
from radiens_async.hub.daq.recording_config import RecordingConfig
from radiens_async.hub.daq.recording_triggers import TriggeredRecordings, check_streaming_start
from radiens_async.hub.daq.signal_cache import CacheWindow, SignalCache
from radiens_async.hub.daq.simulator import DeviceSimulator
from radiens_async.hub.daq.spike_feeder import SpikeFeeder
from radiens_async.hub.daq.spikes_recorder import SpikesRecorder
from radiens_async.hub.spikes.spike_engine import SpikeEngine
from radiens_async.utils.aliases import hardware_name, is_simulator
from radiens_async.utils.constants import VALID_SAMPLING_FREQS
from radiens_async.utils.enums import SystemMode

DEFAULT_SIM_CHANNELS = 32
N_AIN, N_DIN, N_DOUT = 2, 2, 2
PORTS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A snapshot of the instrument for ``get_status``."""

    streaming: bool
    oldest_sample: int
    head_sample: int
    hw_mem_level: float
    sample_freq: float
    system_mode: SystemMode
    port_num_channels: dict[str, int]
    n_ain: int
    n_din: int
    n_dout: int
    stream_loop_dur_ms: float
    stream_epoch: int
    seed: int
    acquisition_error: str
    recording: bool
    active_file_name: str
    recording_dur_s: float
    recording_error: str


class AllegoDevice:
    """Simulated Allego acquisition: what ``restart``, streaming and the live reads act on.

    Parameters
    ----------
    seed : int
        Default simulator seed (a restart may override it).
    cache_seconds : float
        How much history the live cache keeps at most.
    cache_budget_bytes : int
        Memory cap of the cache; with many channels it keeps fewer seconds.
    stream_loop_ms : float
        Acquisition block duration (the documented stream loop duration).
    data_dir : Path, optional
        Default recording directory (default: the working directory).
    record_queue_bytes : int
        How much recorded data may wait for a slow disk before a recording fails.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        cache_seconds: float = 10.0,
        cache_budget_bytes: int = 512 << 20,
        stream_loop_ms: float = 1.0,
        data_dir: Path | None = None,
        record_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
    ) -> None:
        self.default_seed = seed
        self.cache_seconds = cache_seconds
        self.cache_budget_bytes = cache_budget_bytes
        self.stream_loop_ms = stream_loop_ms
        self.block_listeners: list[Callable[[SignalCache], None]] = []
        self.spike_listeners: list[Callable[[], None]] = []
        self._live_spike_readers = 0  # spike streams open now (see live_spike_reader)
        self.spike_feeder: SpikeFeeder | None = None
        self.epoch = 0
        self.cache: SignalCache | None = None
        self._loop: AcquisitionLoop | None = None
        self._cursors: dict[str, tuple[int, int]] = {}  # component -> (epoch, next sample)
        self.record_queue_bytes = record_queue_bytes
        self.recording_config = RecordingConfig(
            (data_dir or Path.cwd()).resolve(), "allego", 0, True
        )
        self.recorder: Recorder | None = None
        self._recorder_sink: BlockSink | None = None  # what feeds it (a trigger's gate or it)
        self.spikes_recorder: SpikesRecorder | None = None
        self._finished_spikes_recorder: SpikesRecorder | None = None
        self._spikes_recording_error = ""
        self._last_recording: tuple[str, float, str] = ("", 0.0, "")  # name, duration, error
        self._recording_note = ""  # why a triggered recording did not start (newest error)
        self._finished_recorder: Recorder | None = None
        # stimulation, digital and analog out: outlive simulators, reset by a restart
        self.outputs = InstrumentOutputs(N_DOUT)
        # the enabled recording trigger starts and stops recordings while streaming
        self.triggered_recordings = TriggeredRecordings(self.outputs.triggers, self)
        self.outputs.triggers.on_change = self.triggered_recordings.arm
        # selected channels, colour groups, display order: follow every layout _configure makes
        self.channel_selection = ChannelSelection(ChannelLayout(()))
        self._configure(SystemMode.SMARTBOX_SIM_GEN_SPIKES, seed, DEFAULT_SIM_CHANNELS, 30000.0)

    # -- configuration -------------------------------------------------------------------
    def _configure(
        self,
        mode: SystemMode,
        seed: int,
        num_channels: int,
        fs: float,
        sensors: tuple[PortSensor, ...] | None = None,
    ) -> None:
        if sensors is None:
            try:
                sensors = sensors_catalog.default_sim_sensors(num_channels)
            except ValueError as exc:
                raise InvalidArgument(str(exc)) from exc
        layout = sensors_catalog.build_layout(sensors, N_AIN, N_DIN, N_DOUT)
        simulator = DeviceSimulator(mode.name.lower(), fs, layout, seed=seed)
        amp = layout.of_type(StreamSignalType.AMP)
        # probe position of each amplifier channel, (n_amp, 2) µm (NaN where unplaced)
        self.amp_site_xy_um = np.array(
            [(c.site.x_um, c.site.y_um) if c.site is not None else (np.nan, np.nan) for c in amp],
            dtype=np.float64,
        ).reshape(len(amp), 2)
        self.spike_engine = SpikeEngine(fs, len(amp), self.amp_site_xy_um)
        self.mode, self.seed, self.fs = mode, seed, fs
        self.sensors, self.layout, self.simulator = sensors, layout, simulator
        # the live DSP group (stage 1 before the cache, stage 2 on reads): designed for this
        # layout and rate, so it starts empty whenever they change, like the other settings
        self.dsp_group = LiveDspGroup(layout, fs)
        self.outputs.attach(simulator, [c.sys_idx for c in amp])
        self.channel_selection.follow(layout)

    @property
    def streaming(self) -> bool:
        return self._loop is not None

    @property
    def block_samples(self) -> int:
        return max(1, round(self.fs * self.stream_loop_ms / 1000.0))

    def restart(self, mode: int, seed: int | None = None, num_channels: int | None = None) -> None:
        """Restart in ``mode``: every setting returns to its initial value for that mode.

        Streaming is stopped first. Hardware modes fail (no hardware is attached) and change
        nothing.
        """
        try:
            system_mode = SystemMode(mode)
        except ValueError:
            raise InvalidArgument(f"Invalid SystemMode value: {mode}") from None
        if not is_simulator(system_mode):
            raise FailedPrecondition(
                f"no {hardware_name(system_mode)} hardware detected: cannot restart in "
                f"{system_mode.name.lower()}; use a smartbox_sim_* mode"
            )
        self._refuse_while_recording("restart")
        if num_channels is not None and num_channels < 1:
            raise InvalidArgument(f"num_channels must be >= 1, got {num_channels}")
        seed = self.default_seed if seed is None else seed
        if seed < 0:
            raise InvalidArgument(f"seed must be >= 0, got {seed}")
        # validate everything before touching state
        sensors = None
        try:
            sensors = sensors_catalog.default_sim_sensors(num_channels or DEFAULT_SIM_CHANNELS)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from exc
        self.set_streaming(False)
        self.outputs.reset()
        self._configure(system_mode, seed, num_channels or DEFAULT_SIM_CHANNELS, 30000.0, sensors)
        self.channel_selection.reset()
        self._cursors.clear()

    def apply_configuration(
        self, mode: SystemMode, seed: int, fs: float, sensors: tuple[PortSensor, ...]
    ) -> None:
        """Reconfigure mode, seed, rate and sensors at once (a workspace switch).

        The caller has validated the values. Streaming stops; output states are kept (the
        caller restores them). Refused while recording.
        """
        self._refuse_while_recording("switch workspaces")
        self.set_streaming(False)
        self._configure(mode, seed, 0, fs, sensors)
        self._cursors.clear()

    def set_sampling_freq(self, fs: float) -> None:
        """Set the acquisition rate; one of the 18 documented rates, refused while streaming."""
        if not math.isfinite(fs) or round(fs) not in VALID_SAMPLING_FREQS or fs != round(fs):
            valid = ", ".join(str(f) for f in VALID_SAMPLING_FREQS)
            raise InvalidArgument(f"invalid sampling frequency {fs:g} Hz; valid rates: {valid}")
        if self.streaming:
            raise FailedPrecondition("cannot change the sampling frequency while streaming")
        self._configure(self.mode, self.seed, 0, float(fs), self.sensors)

    def set_sensor(self, port: str, headstage_id: str, probe_id: str) -> None:
        """Connect ``headstage_id`` + ``probe_id`` to a connected ``port``.

        The port keeps its position; its channel count becomes the headstage's. While
        streaming, the stream restarts (a new epoch) with the new channel layout.
        """
        self._refuse_while_recording("change sensors")
        port = port.strip().upper()
        connected = [s.port for s in self.sensors]
        if port not in connected:
            raise InvalidArgument(
                f"port {port} is not valid or is not connected (connected: {', '.join(connected)})"
            )
        try:
            headstage = sensors_catalog.get_headstage(headstage_id)
        except KeyError:
            raise InvalidArgument(
                f"headstage {headstage_id} is not an available headstage ID"
            ) from None
        try:
            probe = sensors_catalog.get_probe(probe_id)
        except KeyError:
            raise InvalidArgument(f"probe {probe_id} is not an available probe ID") from None
        new = PortSensor(port, headstage.id, probe.id, headstage.n_channels)
        sensors = tuple(new if s.port == port else s for s in self.sensors)
        was_streaming = self.streaming
        self.set_streaming(False)
        self._configure(self.mode, self.seed, 0, self.fs, sensors)
        if was_streaming:
            self.set_streaming(True)

    # -- streaming ---------------------------------------------------------------------
    def set_streaming(self, on: bool) -> None:
        """Start (clearing the cache, stream time restarts at 0) or stop acquisition.

        Stopping is refused while recording.
        """
        if on == self.streaming:
            return
        if not on:
            self._refuse_while_recording("stop streaming")
        if on:
            self.epoch += 1
            self.simulator.reset()
            self.outputs.new_stream(self.simulator)
            block = self.block_samples
            capacity = int(
                min(
                    self.cache_seconds * self.fs,
                    self.cache_budget_bytes / (4 * self.layout.n_channels),
                )
            )
            max_block = block * MAX_CATCHUP_BLOCKS  # a late acquisition loop catches up at once
            capacity = max(capacity, 4 * max_block + 1)
            self.cache = SignalCache(self.layout.n_channels, capacity, max_block, epoch=self.epoch)
            self.spike_engine.reset_stream()
            self.spike_feeder = SpikeFeeder(
                self.spike_engine,
                self.spike_engine_rows,
                on_processed=self._spikes_published,
                has_live_readers=lambda: self._live_spike_readers > 0,
                stage2=lambda: self.dsp_group.stage2_chain,
            )
            self._loop = AcquisitionLoop(
                Stage1Source(self.simulator, lambda: self.dsp_group),
                self.cache,
                self.fs,
                block,
                listeners=self.block_listeners,
                sinks=(self.spike_feeder.offer,),
            )
            self.triggered_recordings.arm()  # before the first block: no edge is missed
            self._loop.start()
        else:
            assert self._loop is not None
            self._loop.stop()
            self._loop = None
            self.triggered_recordings.arm()
            if self.spike_feeder is not None:
                self.spike_feeder.stop()
                self._spikes_published()
            if self.cache is not None:
                self.cache.close()
                for listener in self.block_listeners:
                    listener(self.cache)

    @property
    def acquisition_loop(self) -> AcquisitionLoop | None:
        return self._loop

    @property
    def spike_engine_rows(self) -> int:
        """Amplifier rows at the top of every block (what the spike engine sees)."""
        return self.layout.count(StreamSignalType.AMP)

    @contextlib.contextmanager
    def live_spike_reader(self) -> Iterator[None]:
        """Count a reader that waits for spikes as they are detected (a spike stream) while
        the ``with`` block runs. With none, the spike feeder works in 10 ms batches instead
        of block by block (see :mod:`.spike_feeder`). Call it from the event loop thread.

        Examples
        --------
        >>> with device.live_spike_reader():  # doctest: +SKIP
        ...     ...  # stream spikes
        """
        self._live_spike_readers += 1
        try:
            yield
        finally:
            self._live_spike_readers -= 1

    @property
    def live_spike_readers(self) -> int:
        """Spike streams open now."""
        return self._live_spike_readers

    def _spikes_published(self) -> None:
        for listener in self.spike_listeners:
            listener()

    def close(self) -> None:
        """Finish any recording and stop acquisition (the hub is shutting down)."""
        recorder = self.stop_recording()
        if recorder is not None:
            recorder.join(timeout=30)
        if self._finished_recorder is not None:  # e.g. one a trigger stopped a moment ago
            self._finished_recorder.join(timeout=30)
        if self._finished_spikes_recorder is not None:
            self._finished_spikes_recorder.join(timeout=10)
        self.set_streaming(False)

    # -- recording -----------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def _refuse_while_recording(self, what: str) -> None:
        if self.recorder is not None:
            raise FailedPrecondition(f"cannot {what} while recording: stop the recording first")

    def set_recording_config(self, path: str, base_name: str, index: int, time_stamp: bool) -> None:
        """Set where the next recording goes; refused while recording or for a missing path."""
        self._refuse_while_recording("change the recording configuration")
        self.recording_config = RecordingConfig.checked(path, base_name, index, time_stamp)

    def start_recording(
        self,
        *,
        start_sample: int | None = None,
        gate: Callable[[BlockSink], BlockSink] | None = None,
    ) -> None:
        """Record the live stream (starting streaming first if it is off) to a new XDAT set.

        The set is named after the configuration; an existing recording is never overwritten
        (the call fails and nothing is written). The index moves on by one after each start.

        Parameters
        ----------
        start_sample : int, optional
            Record from this acquired sample, still in the live cache, on (default: the next
            sample acquired); only while streaming. A recording trigger starts at its edge.
        gate : callable, optional
            Wraps the recorder's ``offer`` into what the acquisition loop feeds (a recording
            trigger's :class:`~.recording_triggers.RecordingGate` cuts it at the falling edge).
        """
        if self.recorder is not None:
            return
        config = self.recording_config
        started = datetime.now().astimezone()
        if start_sample is not None:
            live = check_streaming_start(self.streaming, self.cache, start_sample)
            started -= timedelta(seconds=(live.head - start_sample) / self.fs)
        base = config.path / config.file_set_name(started)
        for suffix in (".xdat.json", "_data.xdat", "_timestamp.xdat"):
            if Path(f"{base}{suffix}").exists():
                raise AlreadyExists(
                    f"recording {base}.xdat already exists; not overwriting it "
                    "(choose another base name or index)"
                )
        if not config.path.is_dir():
            raise FailedPrecondition(f"recording path {str(config.path)!r} no longer exists")
        was_streaming = self.streaming
        self.set_streaming(True)
        loop = self._loop
        cache = self.cache
        assert loop is not None and cache is not None
        start = cache.head if start_sample is None else start_sample
        try:
            writer = XdatWriter(
                base,
                self.fs,
                xdat_channels(self.layout),
                start_time=started,
                first_sample=start,
                extras={"radiens_system_mode": self.mode.name.lower(), "seed": self.seed},
            )
        except FileExistsError as exc:
            self._undo_start(was_streaming)
            raise AlreadyExists(f"{exc}; not overwriting an existing recording") from exc
        except (PermissionError, NotADirectoryError, FileNotFoundError, OSError) as exc:
            self._undo_start(was_streaming)
            raise FailedPrecondition(f"cannot create the recording {base}.xdat: {exc}") from exc
        except ValueError as exc:
            self._undo_start(was_streaming)
            raise InvalidArgument(str(exc)) from exc
        name = f"{base}.xdat"
        spikes_recorder = self._start_spikes_recording(Path(name), writer, start)
        recorder = Recorder(writer, start, cache, name, self.record_queue_bytes)
        sink = recorder.offer if gate is None else gate(recorder.offer)
        loop.sinks = (*loop.sinks, sink)  # it backfills from the cache if needed
        self.recorder = recorder
        self._recorder_sink = sink
        self._recording_note = ""
        self.spikes_recorder = spikes_recorder
        self.recording_config = config.next_index()

    def _start_spikes_recording(
        self, path: Path, writer: XdatWriter, start: int
    ) -> SpikesRecorder | None:
        """With the sorter on, the recording gets a ``.spikes`` set beside it."""
        feeder = self.spike_feeder
        if feeder is None or not self.spike_engine.sorting:
            return None
        try:
            spikes = SpikesRecorder(
                path, self.spike_engine, start, channels_from_xdat(writer.metadata)
            )
        except (OSError, ValueError) as exc:
            # the recording itself goes on; the status reports why there are no spikes
            self._spikes_recording_error = f"no spikes file for {path.name}: {exc}"
            return None
        self._spikes_recording_error = ""
        feeder.after_process = (*feeder.after_process, spikes.poll)
        return spikes

    def _stop_spikes_recording(self, stop_sample: int) -> None:
        spikes = self.spikes_recorder
        if spikes is None:
            return
        feeder = self.spike_feeder
        if feeder is not None:
            feeder.after_process = tuple(h for h in feeder.after_process if h != spikes.poll)
        spikes.finish(stop_sample)
        self.spikes_recorder = None
        self._finished_spikes_recorder = spikes

    def _undo_start(self, was_streaming: bool) -> None:
        if not was_streaming:
            self.set_streaming(False)

    def stop_recording(self) -> Recorder | None:
        """Stop recording; returns the recorder, which closes the file set in its thread."""
        recorder = self.recorder
        if recorder is None:
            return None
        if self._loop is not None:
            self._loop.sinks = tuple(s for s in self._loop.sinks if s is not self._recorder_sink)
        self._recorder_sink = None
        recorder.finish()
        self._stop_spikes_recording(recorder.start_sample + recorder.recorded_samples)
        self.recorder = None
        self._last_recording = (
            recorder.name,
            recorder.recorded_samples / self.fs,
            recorder.progress.error,
        )
        self._finished_recorder = recorder
        return recorder

    def note_recording_error(self, message: str) -> None:
        """Report ``message`` as the recording error (a recording a trigger could not start);
        the next recording replaces it."""
        self._recording_note = message

    def status(self) -> DeviceStatus:
        cache = self.cache
        loop = self._loop
        lag = loop.lag_s if loop is not None else 0.0
        recording, name, duration, error = self._recording_status()
        return DeviceStatus(
            streaming=self.streaming,
            oldest_sample=cache.oldest if cache else 0,
            head_sample=cache.head if cache else 0,
            hw_mem_level=min(1.0, lag / 1.0),
            sample_freq=self.fs,
            system_mode=self.mode,
            port_num_channels=self.layout.port_num_channels,
            n_ain=N_AIN,
            n_din=N_DIN,
            n_dout=N_DOUT,
            stream_loop_dur_ms=self.block_samples * 1000.0 / self.fs,
            stream_epoch=self.epoch,
            seed=self.seed,
            acquisition_error=repr(loop.error) if loop is not None and loop.error else "",
            recording=recording,
            active_file_name=name,
            recording_dur_s=duration,
            recording_error=error,
        )

    def _recording_status(self) -> tuple[bool, str, float, str]:
        """(recording, active file name, duration in s, error) of the current or last one."""
        recorder = self.recorder
        if recorder is None:
            name, duration, error = self._last_recording
            finished = self._finished_recorder
            if finished is not None and finished.progress.error:
                error = finished.progress.error
            error = self._recording_note or error
            return False, name, duration, error
        error = recorder.progress.error or self._spikes_recording_error
        spikes = self.spikes_recorder
        if not error and spikes is not None and spikes.error:
            error = spikes.error
        return True, recorder.name, recorder.recorded_samples / self.fs, error

    # -- live reads --------------------------------------------------------------------
    def set_time_to_cache_head(self, component_id: str) -> None:
        """Move ``component_id``'s read cursor to the newest cached sample."""
        head = self.cache.head if self.cache is not None else 0
        self._cursors[component_id] = (self.epoch, head)

    def get_signals(self, component_id: str, max_samples: int = 0) -> CacheWindow:
        """Everything from ``component_id``'s cursor to the cache head; the cursor moves on.

        A cursor never set starts at the head (the first call returns no samples). A cursor from
        an earlier stream starts at the beginning of the current one. At most ``max_samples``
        (when > 0) are returned; the rest comes with the next call.
        """
        cache = self.cache
        if cache is None:
            return CacheWindow(np.empty((self.layout.n_channels, 0), np.float32), 0, 0)
        epoch, cursor = self._cursors.get(component_id, (self.epoch, cache.head))
        if epoch != self.epoch:
            cursor = 0
        stop = cache.head if max_samples <= 0 else min(cache.head, cursor + max_samples)
        window = cache.read(cursor, stop)
        self._cursors[component_id] = (self.epoch, window.stop_sample)
        return window

    def rows_for(self, sys_idxs: list[int]) -> npt.NDArray[np.intp] | None:
        """Validate a channel selection (sys indices) and return it as cache rows."""
        if not sys_idxs:
            return None
        rows = np.asarray(sys_idxs, dtype=np.intp)
        n = self.layout.n_channels
        bad = rows[(rows < 0) | (rows >= n)]
        if bad.size:
            raise InvalidArgument(f"unknown channel sys indices {bad.tolist()} (valid: 0..{n - 1})")
        return rows

    def now_ns(self) -> int:
        return time.monotonic_ns()


_XDAT_TYPES: dict[StreamSignalType, SignalKind] = {
    StreamSignalType.AMP: "amp",
    StreamSignalType.AIN: "ain",
    StreamSignalType.DIN: "din",
    StreamSignalType.DOUT: "dout",
}


def xdat_channels(layout: ChannelLayout) -> list[XdatChannel]:
    """The XDAT column description of every channel of ``layout``, in stream order."""
    out = []
    for ch in layout.channels:
        site = ch.site
        out.append(
            XdatChannel(
                name=ch.chan_name,
                ntv_name=ch.ntv_chan_name,
                signal_type=_XDAT_TYPES[ch.signal_type],
                ntv_idx=ch.ntv_idx,
                sys_idx=ch.sys_idx,
                port=ch.port,
                site_num=ch.site_num if site is not None else None,
                site_x_um=site.x_um if site is not None else None,
                site_y_um=site.y_um if site is not None else None,
                site_z_um=site.z_um if site is not None else None,
                site_shape=site.shape if site is not None else None,
                site_area_um2=site.area_um2 if site is not None else None,
                shank=site.shank if site is not None else None,
                probe_id=ch.probe_id,
                headstage_id=ch.headstage_id,
            )
        )
    return out
