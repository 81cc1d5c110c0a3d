"""The Allego instrument as the hub holds it: mode, sampling rate, sensors, streaming, the cache.

Plain domain code: it raises :mod:`radiens_async.errors` exceptions (the servicer maps them to
gRPC status codes) and knows nothing about gRPC. All methods are called from the hub's event loop
thread; the acquisition loop runs in its own thread and only touches the simulator and the cache.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.acquisition_loop import AcquisitionLoop
from radiens_async.hub.daq.channel_layout import PortSensor
from radiens_async.hub.daq.signal_cache import CacheWindow, SignalCache
from radiens_async.hub.daq.simulator import DeviceSimulator
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
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        cache_seconds: float = 10.0,
        cache_budget_bytes: int = 512 << 20,
        stream_loop_ms: float = 1.0,
    ) -> None:
        self.default_seed = seed
        self.cache_seconds = cache_seconds
        self.cache_budget_bytes = cache_budget_bytes
        self.stream_loop_ms = stream_loop_ms
        self.block_listeners: list[Callable[[SignalCache], None]] = []
        self.epoch = 0
        self.cache: SignalCache | None = None
        self._loop: AcquisitionLoop | None = None
        self._cursors: dict[str, tuple[int, int]] = {}  # component -> (epoch, next sample)
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
        self.mode, self.seed, self.fs = mode, seed, fs
        self.sensors, self.layout, self.simulator = sensors, layout, simulator

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
        self._configure(system_mode, seed, num_channels or DEFAULT_SIM_CHANNELS, 30000.0, sensors)
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
        """Start (clearing the cache, stream time restarts at 0) or stop acquisition."""
        if on == self.streaming:
            return
        if on:
            self.epoch += 1
            self.simulator.reset()
            block = self.block_samples
            capacity = int(
                min(
                    self.cache_seconds * self.fs,
                    self.cache_budget_bytes / (4 * self.layout.n_channels),
                )
            )
            capacity = max(capacity, 4 * block + 1)
            self.cache = SignalCache(self.layout.n_channels, capacity, block, epoch=self.epoch)
            self._loop = AcquisitionLoop(
                self.simulator, self.cache, self.fs, block, listeners=self.block_listeners
            )
            self._loop.start()
        else:
            assert self._loop is not None
            self._loop.stop()
            self._loop = None
            if self.cache is not None:
                self.cache.close()
                for listener in self.block_listeners:
                    listener(self.cache)

    def close(self) -> None:
        """Stop acquisition (the hub is shutting down)."""
        self.set_streaming(False)

    def status(self) -> DeviceStatus:
        cache = self.cache
        loop = self._loop
        lag = loop.lag_s if loop is not None else 0.0
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
        )

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
