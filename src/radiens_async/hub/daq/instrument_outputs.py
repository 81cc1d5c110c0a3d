"""What the instrument drives: stimulation, the digital outputs and the analog outputs (DACs).

:class:`InstrumentOutputs` holds the wanted state and pushes it into the device simulator, so the
state outlives the simulator objects a sampling-rate or sensor change replaces, and streaming
restarts. A restart of the device returns all of it to the defaults.

Digital outputs are manual, gated or pulsing (:mod:`.digital_outs`; events mode needs
hardware and is refused): what they drive appears in the ``gpio_dout`` channels of the stream
from the sample at which it was set. The analog outputs are not part of the stream; their
settings (routing, gain, hardware high-pass) are held and reported, and so is the stimulator's
current step. The enabled recording trigger (:attr:`InstrumentOutputs.triggers`) is what the
device's :class:`~.recording_triggers.TriggeredRecordings` follows to start and stop recordings
on the edges of a digital input or output.

Plain domain code: no gRPC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.digital_outs import DigitalOutMode, DigitalOutRegister, PulseTrains
from radiens_async.hub.daq.recording_triggers import PORTS, RecordingTriggers
from radiens_async.hub.daq.simulator import DeviceSimulator
from radiens_async.hub.daq.stimulation import (
    DEFAULT_STIM_STEP,
    Firing,
    StimBank,
    StimStep,
    checked_stim_step,
)

N_DACS: Final = 2
MAX_DAC_GAIN: Final = 7
"""DAC gain code 0..7 (the Intan DAC gain steps)."""


@dataclass(frozen=True, slots=True)
class DacRoute:
    """One analog output: which amplifier channel it plays (-1: none)."""

    amp_ntv_chan_idx: int
    aout_ntv_chan_idx: int
    stream: int = 0
    stream_offset_idx: int = 0


@dataclass(frozen=True, slots=True)
class AnalogOutSettings:
    """Routing, gain and the hardware high-pass of the analog outputs."""

    dac: tuple[DacRoute, ...]
    gain: int = 0
    high_pass_enable: bool = False
    high_pass_cutoff_freq: float = 0.0

    @classmethod
    def default(cls) -> AnalogOutSettings:
        return cls(tuple(DacRoute(-1, i) for i in range(N_DACS)))

    def as_dict(self) -> dict[str, Any]:
        """The documented ``get_analog_out_settings()`` dict."""
        return {
            "dac": [
                {
                    "amp_ntv_chan_idx": d.amp_ntv_chan_idx,
                    "aout_ntv_chan_idx": d.aout_ntv_chan_idx,
                    "stream": d.stream,
                    "stream_offset_idx": d.stream_offset_idx,
                }
                for d in self.dac
            ],
            "gain": self.gain,
            "high_pass": {
                "enable": self.high_pass_enable,
                "cutoff_freq": self.high_pass_cutoff_freq,
            },
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], fs: float, n_amp: int) -> AnalogOutSettings:
        """Rebuild (and validate) settings saved with :meth:`as_dict`."""
        try:
            dac = tuple(
                DacRoute(
                    int(r["amp_ntv_chan_idx"]),
                    int(r["aout_ntv_chan_idx"]),
                    int(r["stream"]),
                    int(r["stream_offset_idx"]),
                )
                for r in d["dac"]
            )
            gain = int(d["gain"])
            hp = d["high_pass"]
            enable, cutoff = hp["enable"], hp["cutoff_freq"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"malformed analog-out settings: {exc!r}") from exc
        if len(dac) != N_DACS or any(
            r.aout_ntv_chan_idx != i or not -1 <= r.amp_ntv_chan_idx < n_amp
            for i, r in enumerate(dac)
        ):
            dac = cls.default().dac  # a route to a channel that no longer exists is dropped
        if not 0 <= gain <= MAX_DAC_GAIN:
            raise InvalidArgument(f"analog-out gain must be 0..{MAX_DAC_GAIN}, got {gain}")
        settings = cls(dac, gain)
        return settings.with_high_pass(cutoff, enable, fs)

    def with_gain(self, gain: object) -> AnalogOutSettings:
        """These settings with DAC gain code ``gain`` (0..7).

        Raises
        ------
        InvalidArgument
            ``gain`` not an int in 0..7.
        """
        if isinstance(gain, bool) or not isinstance(gain, int) or not 0 <= gain <= MAX_DAC_GAIN:
            raise InvalidArgument(f"analog-out gain must be an int 0..{MAX_DAC_GAIN}, got {gain!r}")
        return replace(self, gain=gain)

    def with_route(self, dac: int, route: DacRoute) -> AnalogOutSettings:
        """These settings with analog output ``dac`` (a valid index) playing ``route``."""
        routes = list(self.dac)
        routes[dac] = route
        return replace(self, dac=tuple(routes))

    def with_high_pass(self, cutoff_freq: object, enable: object, fs: float) -> AnalogOutSettings:
        """These settings with a new hardware high-pass (validated; ``self`` is unchanged).

        Raises
        ------
        InvalidArgument
            ``enable`` not a bool, ``cutoff_freq`` not a finite number in ``[0, fs / 2)``.
        """
        if not isinstance(enable, bool):
            raise InvalidArgument(f"enable must be True or False, got {enable!r}")
        if isinstance(cutoff_freq, bool) or not isinstance(cutoff_freq, int | float):
            raise InvalidArgument(f"cutoff_freq must be a number of Hz, got {cutoff_freq!r}")
        f = float(cutoff_freq)
        if not math.isfinite(f) or f < 0 or f >= fs / 2:
            raise InvalidArgument(
                f"cutoff_freq must be a finite frequency in [0, {fs / 2:g}) Hz (below Nyquist), "
                f"got {f:g}"
            )
        return replace(self, high_pass_enable=enable, high_pass_cutoff_freq=f)


class InstrumentOutputs:
    """The wanted state of stimulation, digital outputs and analog outputs of one device.

    Examples
    --------
    >>> outputs = InstrumentOutputs(n_dout=2)
    >>> outputs.dout_states
    (False, False)
    """

    def __init__(self, n_dout: int = 2) -> None:
        self.stim = StimBank()
        self.stim_step: StimStep = DEFAULT_STIM_STEP
        self._dio = DigitalOutRegister.default(n_dout)
        self._pulses: PulseTrains | None = None
        self.analog_out = AnalogOutSettings.default()
        self.triggers = RecordingTriggers(n_dout=n_dout)
        # amplifier ntv index -> (stream, offset in the stream): what a DAC route names
        self._dac_sources: dict[int, tuple[int, int]] = {}
        self._simulator: DeviceSimulator | None = None
        self._fs = 30000.0

    # -- lifecycle -------------------------------------------------------------------------
    def attach(self, simulator: DeviceSimulator, stim_sys_idxs: Sequence[int]) -> None:
        """A (new or reset) simulator: push the output states into it, rebind the stim channels.

        The analog-out high-pass is lowered below the new Nyquist frequency if needed; DAC
        routes to channels that no longer exist, pulse settings the new rate cannot draw and
        triggers on missing channels are dropped.
        """
        self._simulator = simulator
        self._fs = simulator.fs
        self.stim.rebind(stim_sys_idxs)
        layout = simulator.layout
        self._dac_sources = _dac_sources(layout.of_type(StreamSignalType.AMP))
        self.triggers.resize(
            layout.count(StreamSignalType.DIN), layout.count(StreamSignalType.DOUT)
        )
        self._dio = self._dio.fitted(self._fs)
        self._pulses = None  # a new simulator starts its trains afresh
        self._push_douts()
        self._sync_din_trigger()
        if self.analog_out.high_pass_cutoff_freq >= self._fs / 2:
            self.analog_out = replace(
                self.analog_out, high_pass_cutoff_freq=math.floor(self._fs / 2 * 0.9)
            )
        self._refit_routes()

    def new_stream(self, simulator: DeviceSimulator) -> None:
        """Streaming starts (the simulator went back to sample 0): re-apply the digital outputs."""
        self._pulses = None  # pulse trains start again at sample 0
        self._push_douts()
        self.stim.new_stream()

    def reset(self) -> None:
        """Everything back to its initial value (a device restart)."""
        self.stim.reset()
        self.stim_step = DEFAULT_STIM_STEP
        self._dio = DigitalOutRegister.default(len(self._dio.channels))
        self._pulses = None
        self.analog_out = AnalogOutSettings.default()
        self.triggers.disable_all()
        self._sync_din_trigger()

    # -- digital out -----------------------------------------------------------------------
    @property
    def dout_states(self) -> tuple[bool, ...]:
        """Each output's manual state (what ``get_digital_out_states`` reports in any mode)."""
        return self._dio.manual_states

    @property
    def dout_mode(self) -> DigitalOutMode:
        return self._dio.mode

    @property
    def dio_register(self) -> DigitalOutRegister:
        return self._dio

    def set_digital_outs(self, states: Mapping[int, object]) -> int:
        """Set digital outputs ``{ntv index: state}`` together (manual mode); returns the first
        sample with them.

        Raises
        ------
        InvalidArgument
            An unknown output or a state that is not a bool (nothing changes).
        """
        n = len(self._dio.channels)
        for idx, state in states.items():
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < n:
                raise InvalidArgument(f"no digital output {idx!r}; this device has ntv 0..{n - 1}")
            if not isinstance(state, bool):
                raise InvalidArgument(
                    f"digital out {idx} state must be True or False, got {state!r}"
                )
        new = list(self._dio.manual_states)
        for idx, state in states.items():
            new[idx] = bool(state)
        return self._set_dio(self._dio.with_manual_states(tuple(new)))

    def set_dout_manual(self, chan_idx: object, state: object) -> int:
        """Manual mode, digital out ``chan_idx`` at ``state``; returns the first sample with it.

        Raises
        ------
        InvalidArgument
            An unknown output or a state that is not a bool (nothing changes).
        """
        return self._set_dio(self._dio.with_manual(chan_idx, state))

    def set_dout_gated(self, polarity: object) -> int:
        """Gated mode (see :mod:`.digital_outs`); clears the manual and event settings."""
        return self._set_dio(self._dio.with_gated(polarity))

    def set_dout_pulse(self, interval_s: object, duration_s: object, chan_idx: object) -> int:
        """Pulse mode: output ``chan_idx`` (-1: all) pulses ``duration_s`` every ``interval_s``.

        Returns the first sample at which the new trains may start. Outputs whose settings do
        not change keep their phase.

        Raises
        ------
        InvalidArgument
            See :meth:`.DigitalOutRegister.with_pulse` (nothing changes).
        """
        return self._set_dio(self._dio.with_pulse(interval_s, duration_s, chan_idx, self._fs))

    def set_dout_events(self, chan_idx: object, threshold_uv: object, polarity: object) -> None:
        """Events mode: validated, then refused (the simulated backbone has no comparators).

        Raises
        ------
        InvalidArgument
            A bad output, threshold or polarity.
        FailedPrecondition
            A valid request (events mode needs hardware); nothing changes.
        """
        self._dio.check_events(chan_idx, threshold_uv, polarity)

    def _set_dio(self, register: DigitalOutRegister) -> int:
        self._require_simulator()
        self._dio = register
        return self._push_douts()

    def _push_douts(self) -> int:
        """Drive the simulator's digital outputs from the register; the first sample with it."""
        sim = self._require_simulator()
        pulses = None
        if self._dio.mode == DigitalOutMode.PULSE:
            pulses = PulseTrains(self._dio, self._fs).following(self._pulses) or None
        self._pulses = pulses
        sim.set_dout_driver(pulses)
        return sim.set_digital_outs(self._dio.streamed_states())

    # -- stimulation -----------------------------------------------------------------------
    def set_stim_params(
        self,
        param_dict: Mapping[str, Any],
        *,
        streaming: bool = False,
        headstage_global_amp_settle: bool | None = None,
    ) -> dict[str, Any]:
        """Validate and apply one stim channel's update (see :meth:`StimBank.set`).

        ``headstage_global_amp_settle`` (None: unchanged) is set with the parameters, after
        they were accepted.

        Raises
        ------
        FailedPrecondition
            ``streaming`` is on: parameters change only while the device is stopped.
        """
        if streaming:
            raise FailedPrecondition(
                "cannot set stimulation parameters while streaming: stop streaming first"
            )
        merged = self.stim.set(param_dict)
        if headstage_global_amp_settle is not None:
            self.stim.set_headstage_global_amp_settle(
                merged["stim_sys_chan_idx"], headstage_global_amp_settle
            )
        self._sync_din_trigger()
        return merged

    def set_stim_step(self, step: object, *, streaming: bool = False) -> StimStep:
        """Set the stimulator's current step (held and reported; see :mod:`.stimulation`).

        Raises
        ------
        InvalidArgument
            Not a :class:`StimStep` value or name.
        FailedPrecondition
            ``streaming`` is on (the stimulator is configured while stopped).
        """
        checked = checked_stim_step(step)
        if streaming:
            raise FailedPrecondition(
                "cannot set the stim step while streaming: stop streaming first"
            )
        self.stim_step = checked
        return checked

    def _sync_din_trigger(self) -> None:
        """Listen to the digital inputs only while a channel is armed on one."""
        sim = self._simulator
        if sim is None:
            return
        if self.stim.din_armed():
            bank, fs = self.stim, sim.fs
            sim.set_din_trigger(lambda din, first, prev: bank.on_din_edges(din, first, prev, fs))
        else:
            sim.set_din_trigger(None)

    def manual_stim_trigger(self, trigger: int, streaming: bool) -> Firing:
        """Toggle keypress ``trigger``; enabled channels it triggers start their stimulus at the
        next sample (see :mod:`.stimulation`).

        Raises
        ------
        FailedPrecondition
            Streaming is off.
        InvalidArgument
            ``trigger`` is not 1..8.
        """
        sim = self._streaming_simulator(streaming)
        return sim.schedule_stimulation(lambda sample: self.stim.toggle(trigger, sim.fs, sample))

    def set_manual_stim_trigger(self, trigger: int, on: bool, streaming: bool) -> Firing:
        """Set keypress ``trigger`` down (``on``) or up; the transition fires at the next sample
        (see :meth:`StimBank.set_key`).

        Raises
        ------
        FailedPrecondition
            Streaming is off.
        InvalidArgument
            ``trigger`` is not 1..8, ``on`` not a bool.
        """
        sim = self._streaming_simulator(streaming)
        return sim.schedule_stimulation(
            lambda sample: self.stim.set_key(trigger, on, sim.fs, sample)
        )

    def _streaming_simulator(self, streaming: bool) -> DeviceSimulator:
        if not streaming:
            raise FailedPrecondition(
                "streaming is off: start streaming before triggering stimulation"
            )
        return self._require_simulator()

    # -- analog out ------------------------------------------------------------------------
    def set_analog_out_high_pass(self, cutoff_freq: object, enable: object) -> AnalogOutSettings:
        """Set the DAC hardware high-pass; returns the new settings (validated first)."""
        self.analog_out = self.analog_out.with_high_pass(cutoff_freq, enable, self._fs)
        return self.analog_out

    def set_analog_out_gain(self, gain: object) -> AnalogOutSettings:
        """Set the DAC gain code (0..7); returns the new settings (validated first)."""
        self.analog_out = self.analog_out.with_gain(gain)
        return self.analog_out

    def set_analog_out_route(self, dac: object, amp_ntv_chan_idx: object) -> AnalogOutSettings:
        """Play amplifier channel ``amp_ntv_chan_idx`` (ntv; -1: nothing) on analog output
        ``dac``; returns the new settings.

        Raises
        ------
        InvalidArgument
            ``dac`` is not 0..N_DACS-1, or an index is not an int.
        NotFound
            The device has no amplifier channel ``amp_ntv_chan_idx``.
        """
        if isinstance(dac, bool) or not isinstance(dac, int) or not 0 <= dac < N_DACS:
            raise InvalidArgument(f"no analog output {dac!r}; this device has DAC 0..{N_DACS - 1}")
        if isinstance(amp_ntv_chan_idx, bool) or not isinstance(amp_ntv_chan_idx, int):
            raise InvalidArgument(f"amplifier channel must be an int, got {amp_ntv_chan_idx!r}")
        if amp_ntv_chan_idx != -1 and amp_ntv_chan_idx not in self._dac_sources:
            n = len(self._dac_sources)
            raise NotFound(
                f"no amplifier channel with ntv index {amp_ntv_chan_idx}; this device has "
                f"ntv 0..{n - 1} (-1 routes nothing)"
            )
        self.analog_out = self.analog_out.with_route(dac, self._route(dac, amp_ntv_chan_idx))
        return self.analog_out

    def set_analog_out_off(self) -> AnalogOutSettings:
        """Route nothing to any analog output; gain and high-pass stay."""
        self.analog_out = replace(self.analog_out, dac=AnalogOutSettings.default().dac)
        return self.analog_out

    def _route(self, dac: int, amp_ntv: int) -> DacRoute:
        stream, offset = self._dac_sources.get(amp_ntv, (0, 0))
        return DacRoute(amp_ntv, dac, stream, offset)

    def _refit_routes(self) -> None:
        """Routes name existing channels with their current stream position (or are dropped)."""
        self.analog_out = replace(
            self.analog_out,
            dac=tuple(
                self._route(r.aout_ntv_chan_idx, r.amp_ntv_chan_idx)
                if r.amp_ntv_chan_idx in self._dac_sources
                else DacRoute(-1, r.aout_ntv_chan_idx)
                for r in self.analog_out.dac
            ),
        )

    # -- snapshots (workspaces) --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything :meth:`restore` needs, as plain JSON-able values."""
        return {
            "stim": {str(i): p for i, p in self.stim.get().items()},
            "stim_global_amp_settle": list(self.stim.global_amp_settle_channels),
            "stim_step": self.stim_step.name,
            "dout": list(self._dio.manual_states),
            "dio": self._dio.as_dict(),
            "analog_out": self.analog_out.as_dict(),
            "recording_triggers": self.triggers.as_list(),
        }

    def prepare_restore(
        self, saved: Mapping[str, Any], fs: float, stim_sys_idxs: Sequence[int]
    ) -> Any:
        """Validate a snapshot against the current layout; returns what :meth:`apply_restore` takes.

        Keys later versions added (stim step, digital-out register, recording triggers) take
        their defaults when a snapshot lacks them.

        Raises
        ------
        InvalidArgument
            A malformed snapshot (nothing changes).
        """
        n_dout = len(self._dio.channels)
        try:
            stim_saved = {int(k): v for k, v in saved["stim"].items()}
            dout = [bool(v) for v in saved["dout"]]
            aout_saved = saved["analog_out"]
            global_settle = [int(i) for i in saved.get("stim_global_amp_settle", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgument(f"malformed output state: {exc!r}") from exc
        stim = self.stim.restore(stim_saved, stim_sys_idxs)
        dout = (dout + [False] * n_dout)[:n_dout]
        if "dio" in saved:
            dio = DigitalOutRegister.from_dict(saved["dio"], n_dout, fs)
        else:
            dio = DigitalOutRegister.default(n_dout).with_manual_states(tuple(dout))
        step = checked_stim_step(saved.get("stim_step", DEFAULT_STIM_STEP.name))
        triggers = self.triggers.checked_list(saved.get("recording_triggers", []))
        aout = AnalogOutSettings.from_dict(aout_saved, fs, len(stim_sys_idxs))
        return stim, global_settle, step, dio, aout, triggers

    def apply_restore(self, prepared: Any) -> None:
        """Apply what :meth:`prepare_restore` validated."""
        stim, global_settle, step, dio, aout, triggers = prepared
        self.stim.apply_all(stim, global_settle)
        self._sync_din_trigger()
        self.stim_step = step
        self.analog_out = aout
        self._refit_routes()
        self.triggers.apply(triggers)
        self._dio = dio
        self._pulses = None
        if self._simulator is not None:
            self._push_douts()

    def _require_simulator(self) -> DeviceSimulator:
        if self._simulator is None:
            raise FailedPrecondition("no device is configured")
        return self._simulator


def _dac_sources(amp: Sequence[Any]) -> dict[int, tuple[int, int]]:
    """``{amp ntv index: (stream, offset)}``: a port's letter index is its stream, a channel's
    position among the port's amplifier channels (in ntv order) its offset."""
    by_port: dict[str, list[int]] = {}
    for c in sorted(amp, key=lambda c: c.ntv_idx):
        by_port.setdefault(c.port, []).append(c.ntv_idx)
    out: dict[int, tuple[int, int]] = {}
    for port, ntvs in by_port.items():
        stream = PORTS.index(port) if port in PORTS else 0
        for offset, ntv in enumerate(ntvs):
            out[ntv] = (stream, offset)
    return out
