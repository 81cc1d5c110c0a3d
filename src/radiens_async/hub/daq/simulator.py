"""The deterministic SmartBox simulator behind every ``smartbox_sim_*`` mode.

Sample ``k`` of every channel depends only on ``(mode, fs, layout, seed, noise_uv, k)`` -- not on
how reads are split -- because the simulator synthesises fixed blocks of
:data:`~.sim_waveforms.BLOCK_SAMPLES` samples, each from generators seeded with the block index,
and serves slices of them. What the instrument drives is the exception: digital outputs hold what
:meth:`DeviceSimulator.set_digital_outs` set, and stimulus artifacts
(:meth:`DeviceSimulator.schedule_stimulation`, :mod:`.stimulation`) appear on their channels from
the sample at which the trigger landed. Both are applied to each block after it is copied out,
under the simulator's lock, so a change lands exactly at a sample boundary and the call that made
it learns that sample.

Modes
-----
``smartbox_sim_gen_sine``
    One sine per amplifier channel, 100 µV, frequencies evenly spread over 1-100 Hz in ntv order.
``smartbox_sim_gen_sine_mapped``
    As above, but the frequency follows the site position: channels are ranked by
    (port, shank, height above the tip, x) and the rank is spread over 1-100 Hz, so
    neighbouring sites have neighbouring frequencies. Channels without a site come last.
``smartbox_sim_gen_sine_high_freq``
    One sine per channel, 100 µV, spread over 300-5000 Hz in ntv order.
``smartbox_sim_gen_sine_multi_band``
    Each channel sums one component per band of :data:`BANDS` (delta .. high), each picked from
    six frequencies inside the band, with a per-channel phase.
``smartbox_sim_gen_spikes``
    Units with refractory spike trains and spatially spread templates (:mod:`.sim_units`), over
    a low-frequency background (~20 µV RMS, 1.5-90 Hz, smooth along the probe).

Every mode adds white Gaussian noise of SD ``noise_uv`` to the amplifier channels. A band whose
top exceeds ``0.4 * fs`` is scaled down as a whole by ``0.4 * fs / top``
(:func:`~.sim_waveforms.freq_scale`); with the documented rates (625 Hz and up) this only affects
``sine_high_freq`` below 12.5 kHz.

Units: amplifier channels in µV, analog inputs in V (channel ``i``: 0.5 V sine at ``1 + 0.5 i``
Hz), digital channels 0.0 / 1.0 (DIN 0: 1 Hz square wave, high during the first half of every
second; other DIN channels 0).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from radiens_async.hub.daq.channel_layout import ChannelLayout, ChannelSpec, StreamSignalType
from radiens_async.hub.daq.sim_units import (
    GROUND_TRUTH_DTYPE,
    SimUnit,
    SpikeTrains,
    amp_positions,
    make_units,
    render_spikes,
)
from radiens_async.hub.daq.sim_waveforms import (
    BLOCK_SAMPLES,
    F32,
    F64,
    ComponentSines,
    NoiseBank,
    RngStream,
    SineTable,
    block_rng,
    freq_scale,
)
from radiens_async.hub.daq.stimulation import ScheduledStim
from radiens_async.hub.thread_priority import lower_current_thread_priority

MODE_SINE: Final = "smartbox_sim_gen_sine"
MODE_SINE_MAPPED: Final = "smartbox_sim_gen_sine_mapped"
MODE_SINE_HIGH_FREQ: Final = "smartbox_sim_gen_sine_high_freq"
MODE_SINE_MULTI_BAND: Final = "smartbox_sim_gen_sine_multi_band"
MODE_SPIKES: Final = "smartbox_sim_gen_spikes"

SIM_MODES: Final = (
    MODE_SINE,
    MODE_SINE_MAPPED,
    MODE_SINE_HIGH_FREQ,
    MODE_SINE_MULTI_BAND,
    MODE_SPIKES,
)
"""Every simulator mode, in the documented order."""

SINE_AMPLITUDE_UV: Final = 100.0
SINE_BAND_HZ: Final = (1.0, 100.0)
HIGH_FREQ_BAND_HZ: Final = (300.0, 5000.0)

BANDS: Final[tuple[tuple[str, float, float, float], ...]] = (
    ("delta", 1.0, 4.0, 80.0),
    ("theta", 4.0, 8.0, 60.0),
    ("alpha", 8.0, 13.0, 50.0),
    ("beta", 13.0, 30.0, 35.0),
    ("gamma", 30.0, 100.0, 25.0),
    ("high", 120.0, 240.0, 15.0),
)
"""Multi-band components: ``(name, low Hz, high Hz, amplitude µV)``."""

FREQS_PER_BAND: Final = 6

LFP_RMS_UV: Final = 20.0
LFP_BAND_HZ: Final = (1.5, 90.0)
LFP_N_FREQS: Final = 8

AIN_AMPLITUDE_V: Final = 0.5
DIN_SQUARE_HZ: Final = 1.0
# Blocks of fewer values than this are cheap enough (< 0.1 ms) to build on the acquisition
# thread; a 4096-sample block of 32 channels takes about 1 ms, which would delay one block in
# every 136 (a 32-channel stream's p99 latency).
PREFETCH_MIN_VALUES: Final = 4 * 4096


class StimSchedule(Protocol):
    """What a stimulation scheduler returns: the events to apply from the trigger sample on."""

    @property
    def scheduled(self) -> Sequence[ScheduledStim]: ...


_S = TypeVar("_S", bound=StimSchedule)

DinTrigger = Callable[[F32, int, F32], Sequence[ScheduledStim]]
"""``(din rows of a new block, its first sample, din values before it) -> stimuli to apply``."""

DoutDriver = Callable[[F32, int], None]
"""``(dout rows of a new block, its first sample) -> None``: overwrites the rows it drives."""


class DeviceSimulator:
    """A simulated acquisition device producing all channels of a :class:`ChannelLayout`.

    Parameters
    ----------
    mode : str
        One of :data:`SIM_MODES`.
    fs : float
        Sampling frequency (Hz), > 0.
    layout : ChannelLayout
        The channels, in sys order (amplifier, then AIN, DIN, DOUT, as
        :func:`~.sensors_catalog.build_layout` makes them).
    seed : int
        Seed (>= 0); equal arguments give bit-identical samples.
    noise_uv : float
        SD of the white noise on amplifier channels (µV); must be > 0 in the spikes mode,
        where it sets the spike amplitudes through their SNR.

    Raises
    ------
    ValueError
        For an unknown mode, a bad fs, seed or noise level, or channels not in sys order.

    Examples
    --------
    >>> from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
    >>> layout = build_layout(default_sim_sensors(32), n_ain=2, n_din=2, n_dout=2)
    >>> sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=1)
    >>> block = sim.generate(30)          # 1 ms of all 38 channels
    >>> block.shape, sim.next_sample
    ((38, 30), 30)
    """

    def __init__(
        self,
        mode: str,
        fs: float,
        layout: ChannelLayout,
        seed: int = 0,
        noise_uv: float = 6.0,
    ) -> None:
        if mode not in SIM_MODES:
            raise ValueError(f"unknown simulator mode {mode!r}; expected one of {SIM_MODES}")
        if not math.isfinite(fs) or fs <= 0:
            raise ValueError(f"fs must be a positive number of Hz, got {fs!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if not math.isfinite(noise_uv) or noise_uv < 0:
            raise ValueError(f"noise_uv must be >= 0, got {noise_uv!r}")
        if mode == MODE_SPIKES and noise_uv <= 0:
            raise ValueError("noise_uv must be > 0 in the spikes mode (spike SNRs refer to it)")
        _check_sys_order(layout)

        self._mode = mode
        self._fs = float(fs)
        self._layout = layout
        self._seed = int(seed)
        self._noise_uv = float(noise_uv)

        self._amp = layout.of_type(StreamSignalType.AMP)
        self._n_amp = len(self._amp)
        self._n_ain = layout.count(StreamSignalType.AIN)
        self._n_din = layout.count(StreamSignalType.DIN)
        self._n_dout = layout.count(StreamSignalType.DOUT)
        self._ain_start = self._n_amp
        self._din_start = self._ain_start + self._n_ain
        self._dout_start = self._din_start + self._n_din

        self._noise = NoiseBank(self._seed, self._noise_uv)
        self._sine_freqs: F64 | None = None
        self._band_freqs: F64 | None = None
        self._sines: SineTable | None = None
        self._shared: ComponentSines | None = None
        self._units: list[SimUnit] = []
        self._trains: SpikeTrains | None = None
        # ground truth is asked for from worker threads: its own trains (the same spikes, the
        # trains are deterministic) so a query never shares block caches with the acquisition
        # thread, and a lock so two queries do not share them either
        self._truth_trains: SpikeTrains | None = None
        self._truth_lock = threading.Lock()
        self._setup_mode()

        self._block: F32 = np.zeros((layout.n_channels, BLOCK_SAMPLES), dtype=np.float32)
        self._block_index = -1
        # Synthesising one block of 1024 channels takes ~10-40 ms, far longer than a stream
        # loop; the next block is built ahead on a worker thread (numpy releases the GIL) so
        # the acquisition thread only copies. Blocks depend on their index alone, so this
        # changes no sample.
        self._spare: F32 = np.zeros_like(self._block)
        self._prefetch: Future[None] | None = None
        self._prefetch_index = -1
        self._dout_state = np.zeros(self._n_dout, dtype=np.float32)
        self._stim_events: list[ScheduledStim] = []
        self._din_trigger: DinTrigger | None = None
        self._dout_driver: DoutDriver | None = None
        # digital inputs at the sample before the next (valid once a block was generated);
        # written in place every block so the acquisition thread allocates nothing for it
        self._din_previous: F32 = np.zeros(self._n_din, dtype=np.float32)
        self._din_previous_valid = False
        self._next_sample = 0
        # generate() runs in the acquisition thread, set_digital_outs() and
        # schedule_stimulation() in a servicer thread: the lock makes an output change land
        # exactly at a call boundary.
        self._lock = threading.Lock()

    # --- public surface ---------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """The simulator mode."""
        return self._mode

    @property
    def fs(self) -> float:
        """Sampling frequency (Hz)."""
        return self._fs

    @property
    def layout(self) -> ChannelLayout:
        """The channels this simulator produces."""
        return self._layout

    @property
    def seed(self) -> int:
        """The seed."""
        return self._seed

    @property
    def noise_uv(self) -> float:
        """SD of the white noise on amplifier channels (µV)."""
        return self._noise_uv

    @property
    def n_channels(self) -> int:
        """Rows of every generated block."""
        return self._layout.n_channels

    @property
    def next_sample(self) -> int:
        """Index of the next sample :meth:`generate` returns."""
        return self._next_sample

    @property
    def sine_frequencies_hz(self) -> F64 | None:
        """Frequency of each amplifier channel's sine (ntv order) in the three single-sine
        modes; ``None`` in the multi-band and spikes modes. Read-only."""
        return self._sine_freqs

    @property
    def band_frequencies_hz(self) -> F64 | None:
        """Component frequencies, shape ``(n_amp, len(BANDS))``, in the multi-band mode;
        ``None`` otherwise. Read-only."""
        return self._band_freqs

    @property
    def band_names(self) -> tuple[str, ...]:
        """Names of the columns of :attr:`band_frequencies_hz`."""
        return tuple(b[0] for b in BANDS)

    @property
    def band_amplitudes_uv(self) -> tuple[float, ...]:
        """Amplitude of each multi-band component (µV)."""
        return tuple(b[3] for b in BANDS)

    @property
    def digital_out_state(self) -> tuple[bool, ...]:
        """Current state of each digital output (ntv order)."""
        return tuple(bool(v) for v in self._dout_state)

    def generate(self, n_samples: int) -> F32:
        """Return the next ``n_samples`` samples of every channel.

        Parameters
        ----------
        n_samples : int
            Number of samples (>= 0).

        Returns
        -------
        ndarray of float32, shape (n_channels, n_samples)
            A new C-contiguous array, rows in sys order, starting at :attr:`next_sample`.

        Raises
        ------
        ValueError
            If ``n_samples`` is negative.
        """
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        n = int(n_samples)
        out: F32 = np.empty((self.n_channels, n), dtype=np.float32)
        with self._lock:
            self._fill(out)
        return out

    def _fill(self, out: F32) -> None:
        n = out.shape[1]
        pos = 0
        while pos < n:
            block, offset = divmod(self._next_sample, BLOCK_SAMPLES)
            if block != self._block_index:
                self._advance_to(block)
            take = min(n - pos, BLOCK_SAMPLES - offset)
            out[:, pos : pos + take] = self._block[:, offset : offset + take]
            pos += take
            self._next_sample += take
        first = self._next_sample - n
        if self._n_dout:
            out[self._dout_start :] = self._dout_state[:, None]
            if self._dout_driver is not None and n:
                self._dout_driver(out[self._dout_start :], first)
        if self._n_din and n:
            din = out[self._din_start : self._dout_start]
            if self._din_trigger is not None:
                previous = self._din_previous if self._din_previous_valid else din[:, 0]
                self._stim_events.extend(self._din_trigger(din, first, previous))
            self._din_previous[:] = din[:, -1]
            self._din_previous_valid = True
        if self._stim_events:
            for event in self._stim_events:
                event.apply(out, first)
            self._stim_events = [e for e in self._stim_events if e.stop > self._next_sample]

    def reset(self) -> None:
        """Go back to sample 0 with all digital outputs low and no stimulus pending (the same
        samples again)."""
        with self._lock:
            self._next_sample = 0
            self._discard_prefetch()
            self._dout_state[:] = 0.0
            self._stim_events = []
            self._din_previous_valid = False

    def set_digital_out(self, ntv_idx: int, state: bool) -> int:
        """Set a digital output; it takes effect from :attr:`next_sample` on, which is returned.

        Raises
        ------
        KeyError
            If there is no digital output ``ntv_idx``.
        """
        if not 0 <= ntv_idx < self._n_dout:
            raise KeyError(
                f"no digital output {ntv_idx}; this device has {self._n_dout} (ntv 0.."
                f"{self._n_dout - 1})"
            )
        with self._lock:
            self._dout_state[ntv_idx] = 1.0 if state else 0.0
            return self._next_sample

    def set_digital_outs(self, states: Sequence[bool]) -> int:
        """Set every digital output at once (ntv order); they change together at the returned
        sample, :attr:`next_sample`.

        Raises
        ------
        ValueError
            If ``states`` does not have one entry per digital output.
        """
        if len(states) != self._n_dout:
            raise ValueError(f"expected {self._n_dout} digital-out states, got {len(states)}")
        values = np.array([1.0 if s else 0.0 for s in states], dtype=np.float32)
        with self._lock:
            self._dout_state[:] = values
            return self._next_sample

    def set_din_trigger(self, trigger: DinTrigger | None) -> None:
        """Call ``trigger`` with the digital inputs of every new block (None: stop).

        It runs under the lock in the acquisition thread, before the block's stimuli are
        applied; it must be quick.
        """
        with self._lock:
            self._din_trigger = trigger

    def set_dout_driver(self, driver: DoutDriver | None) -> None:
        """Let ``driver`` write the digital outputs of every new block (None: the held states).

        It runs under the lock in the acquisition thread after the held states were written
        (digital-out pulse trains); it must be quick.
        """
        with self._lock:
            self._dout_driver = driver

    def schedule_stimulation(self, build: Callable[[int], _S]) -> _S:
        """Run ``build(next_sample)`` under the lock and apply the events it schedules.

        ``build`` decides what fires at the next sample to be acquired (it must be quick); its
        ``scheduled`` events show in the signals from that sample on.
        """
        with self._lock:
            schedule = build(self._next_sample)
            self._stim_events.extend(schedule.scheduled)
            return schedule

    def units(self) -> list[SimUnit]:
        """Ground truth of the simulated units (empty outside the spikes mode)."""
        return list(self._units)

    def ground_truth(self, start: int, stop: int) -> NDArray[np.void]:
        """Spikes whose trough lies in samples ``[start, stop)``.

        The trains are deterministic, so any range can be asked for, generated or not. Safe to
        call from any thread; the cost grows with the range (the caller bounds it).

        Returns
        -------
        ndarray
            Structured, fields ``sample_index`` (int64, trough sample), ``unit_id`` (int32)
            and ``channel`` (int32, peak amplifier ntv index); sorted by sample index. Empty
            outside the spikes mode.
        """
        trains = self._truth_trains
        if trains is None:
            return np.zeros(0, dtype=GROUND_TRUTH_DTYPE)
        with self._truth_lock:
            return trains.events(int(start), int(stop))

    # --- synthesis --------------------------------------------------------------------------

    def _setup_mode(self) -> None:
        n = self._n_amp
        rng = block_rng(self._seed, RngStream.SIGNAL_PARAMS)
        fs = self._fs
        if self._mode in (MODE_SINE, MODE_SINE_MAPPED, MODE_SINE_HIGH_FREQ):
            lo, hi = HIGH_FREQ_BAND_HZ if self._mode == MODE_SINE_HIGH_FREQ else SINE_BAND_HZ
            scale = freq_scale(fs, hi)
            spread = np.linspace(lo * scale, hi * scale, n) if n > 1 else np.full(n, lo * scale)
            if self._mode == MODE_SINE_MAPPED:
                freqs = np.empty(n)
                freqs[_position_rank(self._amp)] = spread
            else:
                freqs = spread
            freqs.setflags(write=False)
            self._sine_freqs = freqs
            phases = rng.uniform(0.0, 2.0 * math.pi, n)
            self._sines = SineTable(freqs, phases, SINE_AMPLITUDE_UV, fs)
        elif self._mode == MODE_SINE_MULTI_BAND:
            scale = freq_scale(fs, max(b[2] for b in BANDS))
            pool = (
                np.array(
                    [
                        lo + (hi - lo) * (np.arange(FREQS_PER_BAND) + 0.5) / FREQS_PER_BAND
                        for _, lo, hi, _ in BANDS
                    ]
                ).ravel()
                * scale
            )
            n_bands = len(BANDS)
            pick = rng.integers(0, FREQS_PER_BAND, size=(n, n_bands))
            band_freqs = pool[pick + FREQS_PER_BAND * np.arange(n_bands)[None, :]]
            amplitudes = np.broadcast_to(np.array([b[3] for b in BANDS]), (n, n_bands))
            phases = rng.uniform(0.0, 2.0 * math.pi, (n, n_bands))
            band_freqs.setflags(write=False)
            self._band_freqs = band_freqs
            self._shared = ComponentSines(band_freqs, amplitudes, phases, fs)
        else:
            self._shared = _lfp_background(self._amp, fs, rng)
            self._units = make_units(self._amp, fs, self._seed, self._noise_uv)
            self._trains = SpikeTrains(self._units, fs, self._seed)
            self._truth_trains = SpikeTrains(self._units, fs, self._seed)

    def _advance_to(self, block: int) -> None:
        """Make ``block`` current (prefetched if possible) and start building the next one."""
        if self._prefetch is not None and self._prefetch_index == block:
            self._prefetch.result()
            self._block, self._spare = self._spare, self._block
            self._block_index = block
            self._prefetch = None
        else:
            self._discard_prefetch()
            self._synthesize_into(self._block, block)
            self._block_index = block
        if self.n_channels * BLOCK_SAMPLES >= PREFETCH_MIN_VALUES:
            self._prefetch_index = block + 1
            self._prefetch = _prefetch_pool().submit(self._synthesize_into, self._spare, block + 1)

    def _discard_prefetch(self) -> None:
        if self._prefetch is not None:
            self._prefetch.result()
            self._prefetch = None
        self._prefetch_index = -1

    def _synthesize_into(self, buf: F32, block: int) -> None:
        amp = buf[: self._n_amp]
        if self._n_amp:
            if self._sines is not None:
                self._sines.write(amp, block)
            elif self._shared is not None:
                self._shared.write(amp, block)
            else:
                amp[:] = 0.0
            self._noise.add_to(amp, block)
            if self._trains is not None:
                render_spikes(amp, block, self._units, self._trains)
        if self._n_ain or self._n_din:
            t = (block * BLOCK_SAMPLES + np.arange(BLOCK_SAMPLES, dtype=np.float64)) / self._fs
            for i in range(self._n_ain):
                f = (1.0 + 0.5 * i) * freq_scale(self._fs, 1.0 + 0.5 * i)
                cycles = f * t
                buf[self._ain_start + i] = AIN_AMPLITUDE_V * np.sin(
                    2.0 * math.pi * (cycles - np.floor(cycles))
                )
            if self._n_din:
                cycles = DIN_SQUARE_HZ * freq_scale(self._fs, DIN_SQUARE_HZ) * t
                buf[self._din_start] = (cycles - np.floor(cycles)) < 0.5
                buf[self._din_start + 1 : self._dout_start] = 0.0


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _prefetch_pool() -> ThreadPoolExecutor:
    """One worker shared by every simulator of the process (only one device acquires)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="radiens-sim-prefetch",
                initializer=lower_current_thread_priority,
            )
        return _POOL


def _check_sys_order(layout: ChannelLayout) -> None:
    previous = -1
    for pos, c in enumerate(layout.channels):
        if c.sys_idx != pos:
            raise ValueError(
                f"layout channels must be in sys order: channel {c.chan_name!r} at position "
                f"{pos} has sys_idx {c.sys_idx}"
            )
        if int(c.signal_type) < previous:
            raise ValueError("layout channels must be grouped as amp, ain, din, dout")
        previous = int(c.signal_type)


def _position_rank(amp: tuple[ChannelSpec, ...]) -> NDArray[np.intp]:
    """Rank of every amplifier row when sorted by (port, shank, y, x); site-less rows last."""

    def key(i: int) -> tuple[int, str, int, float, float, int]:
        c = amp[i]
        if c.site is None:
            return (1, c.port, 0, 0.0, 0.0, c.ntv_idx)
        return (0, c.port, c.site.shank, c.site.y_um, c.site.x_um, c.ntv_idx)

    order = sorted(range(len(amp)), key=key)
    rank = np.empty(len(amp), dtype=np.intp)
    rank[order] = np.arange(len(amp))
    return rank


def _lfp_background(
    amp: tuple[ChannelSpec, ...], fs: float, rng: np.random.Generator
) -> ComponentSines:
    """A smooth low-frequency background, ~:data:`LFP_RMS_UV` RMS: a few 1/f-weighted sines common
    to all channels, whose amplitude and phase drift slowly along the probe (phases per port)."""
    lo, hi = LFP_BAND_HZ
    scale = freq_scale(fs, hi)
    freqs = np.geomspace(lo, hi, LFP_N_FREQS) * rng.uniform(0.95, 1.05, LFP_N_FREQS) * scale
    weights = freqs**-0.8
    base_amp = weights * LFP_RMS_UV * math.sqrt(2.0) / math.sqrt(float(np.sum(weights**2)))
    positions = amp_positions(amp)
    ports = sorted({c.port for c in amp})
    port_phase = {p: rng.uniform(0.0, 2.0 * math.pi, LFP_N_FREQS) for p in ports}
    wavelength = rng.uniform(400.0, 1500.0, LFP_N_FREQS)
    drift = rng.uniform(0.0, 2.0 * math.pi, LFP_N_FREQS)
    phase_slope = rng.uniform(-1.0, 1.0, LFP_N_FREQS) * 1e-3  # rad per µm
    n = len(amp)
    amplitudes = np.zeros((n, LFP_N_FREQS))
    phases = np.zeros((n, LFP_N_FREQS))
    for row, c in enumerate(amp):
        pos = positions[row]
        y = pos[2] if pos is not None else 0.0
        amplitudes[row] = base_amp * (0.7 + 0.3 * np.cos(2.0 * math.pi * y / wavelength + drift))
        phases[row] = port_phase[c.port] + phase_slope * y
    return ComponentSines(np.broadcast_to(freqs, (n, LFP_N_FREQS)), amplitudes, phases, fs)
