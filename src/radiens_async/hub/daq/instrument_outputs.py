"""What the instrument drives: stimulation, the digital outputs and the analog outputs (DACs).

:class:`InstrumentOutputs` holds the wanted state and pushes it into the device simulator, so the
state outlives the simulator objects a sampling-rate or sensor change replaces, and streaming
restarts. A restart of the device returns all of it to the defaults.

Digital outputs are in manual mode (``DioMode.MANUAL``): their states appear in the
``gpio_dout`` channels of the stream from the sample at which they were set. The analog outputs
are not part of the stream; their settings (routing, gain, hardware high-pass) are held and
reported.

Plain domain code: no gRPC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq.simulator import DeviceSimulator
from radiens_async.hub.daq.stimulation import Firing, StimBank
from radiens_async.utils.enums import DioMode

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
        self._dout = [False] * n_dout
        self.analog_out = AnalogOutSettings.default()
        self._simulator: DeviceSimulator | None = None
        self._fs = 30000.0

    # -- lifecycle -------------------------------------------------------------------------
    def attach(self, simulator: DeviceSimulator, stim_sys_idxs: Sequence[int]) -> None:
        """A (new or reset) simulator: push the output states into it, rebind the stim channels.

        The analog-out high-pass is lowered below the new Nyquist frequency if needed.
        """
        self._simulator = simulator
        self._fs = simulator.fs
        self.stim.rebind(stim_sys_idxs)
        simulator.set_digital_outs(self._dout)
        self._sync_din_trigger()
        if self.analog_out.high_pass_cutoff_freq >= self._fs / 2:
            self.analog_out = replace(
                self.analog_out, high_pass_cutoff_freq=math.floor(self._fs / 2 * 0.9)
            )
        n_amp = len(stim_sys_idxs)
        if any(r.amp_ntv_chan_idx >= n_amp for r in self.analog_out.dac):
            self.analog_out = replace(self.analog_out, dac=AnalogOutSettings.default().dac)

    def new_stream(self, simulator: DeviceSimulator) -> None:
        """Streaming starts (the simulator went back to sample 0): re-apply the digital outputs."""
        simulator.set_digital_outs(self._dout)
        self.stim.new_stream()

    def reset(self) -> None:
        """Everything back to its initial value (a device restart)."""
        self.stim.reset()
        self._dout = [False] * len(self._dout)
        self.analog_out = AnalogOutSettings.default()
        self._sync_din_trigger()

    # -- digital out -----------------------------------------------------------------------
    @property
    def dout_states(self) -> tuple[bool, ...]:
        return tuple(self._dout)

    @property
    def dout_mode(self) -> DioMode:
        return DioMode.MANUAL

    def set_digital_outs(self, states: Mapping[int, object]) -> int:
        """Set digital outputs ``{ntv index: state}`` together; returns the first sample with them.

        Raises
        ------
        InvalidArgument
            An unknown output or a state that is not a bool (nothing changes).
        """
        n = len(self._dout)
        for idx, state in states.items():
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < n:
                raise InvalidArgument(f"no digital output {idx!r}; this device has ntv 0..{n - 1}")
            if not isinstance(state, bool):
                raise InvalidArgument(
                    f"digital out {idx} state must be True or False, got {state!r}"
                )
        new = list(self._dout)
        for idx, state in states.items():
            new[idx] = bool(state)
        sample = self._require_simulator().set_digital_outs(new)
        self._dout = new
        return sample

    # -- stimulation -----------------------------------------------------------------------
    def set_stim_params(
        self, param_dict: Mapping[str, Any], *, streaming: bool = False
    ) -> dict[str, Any]:
        """Validate and apply one stim channel's update (see :meth:`StimBank.set`).

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
        self._sync_din_trigger()
        return merged

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
        if not streaming:
            raise FailedPrecondition(
                "streaming is off: start streaming before triggering stimulation"
            )
        sim = self._require_simulator()
        return sim.schedule_stimulation(lambda sample: self.stim.toggle(trigger, sim.fs, sample))

    # -- analog out ------------------------------------------------------------------------
    def set_analog_out_high_pass(self, cutoff_freq: object, enable: object) -> AnalogOutSettings:
        """Set the DAC hardware high-pass; returns the new settings (validated first)."""
        self.analog_out = self.analog_out.with_high_pass(cutoff_freq, enable, self._fs)
        return self.analog_out

    # -- snapshots (workspaces) --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything :meth:`restore` needs, as plain JSON-able values."""
        return {
            "stim": {str(i): p for i, p in self.stim.get().items()},
            "dout": list(self._dout),
            "analog_out": self.analog_out.as_dict(),
        }

    def prepare_restore(
        self, saved: Mapping[str, Any], fs: float, stim_sys_idxs: Sequence[int]
    ) -> Any:
        """Validate a snapshot against the current layout; returns what :meth:`apply_restore` takes.

        Raises
        ------
        InvalidArgument
            A malformed snapshot (nothing changes).
        """
        try:
            stim_saved = {int(k): v for k, v in saved["stim"].items()}
            dout = [bool(v) for v in saved["dout"]]
            aout_saved = saved["analog_out"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgument(f"malformed output state: {exc!r}") from exc
        stim = self.stim.restore(stim_saved, stim_sys_idxs)
        dout = (dout + [False] * len(self._dout))[: len(self._dout)]
        aout = AnalogOutSettings.from_dict(aout_saved, fs, len(stim_sys_idxs))
        return stim, dout, aout

    def apply_restore(self, prepared: Any) -> None:
        """Apply what :meth:`prepare_restore` validated."""
        stim, dout, aout = prepared
        self.stim.apply_all(stim)
        self._sync_din_trigger()
        self.analog_out = aout
        self._dout = list(dout)
        if self._simulator is not None:
            self._simulator.set_digital_outs(self._dout)

    def _require_simulator(self) -> DeviceSimulator:
        if self._simulator is None:
            raise FailedPrecondition("no device is configured")
        return self._simulator
