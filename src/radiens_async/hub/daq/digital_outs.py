"""The digital-output register of the simulated device: its mode and every output's settings.

Modes, and what the ``gpio_dout`` channels of the stream carry in each:

``MANUAL``
    Each output holds its ``manual_state``.
``GATED``
    The outputs follow the stream and record state: high-active (``gated_polarity`` True) gates
    read 1 while streaming or recording is on, low-active ones read 0. Samples exist only while
    streaming, so every streamed sample carries the active level. Switching to gated clears
    every output's manual and event settings.
``PULSE``
    Each output given pulse settings emits a pulse train: high for ``pulse_duration_s`` at the
    start of every ``pulse_interval_s``, the first pulse at the first sample acquired after
    the setting (at sample 0 of a new stream); outputs without pulse settings read 0. Only
    simulated backbones have it.
``EVENTS``
    Each output fires when the amplifier channel routed to its analog output crosses
    ``event_threshold_uv``: comparators of the hardware. A simulated backbone has none, so
    the mode is refused (as an Allego running a ``smartbox_sim_*`` backbone refuses it).

Plain domain code: no gRPC. :class:`PulseTrains` runs in the acquisition thread under the
simulator's lock (:meth:`~.simulator.DeviceSimulator.set_dout_driver`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.errors import FailedPrecondition, InvalidArgument

MAX_PULSE_INTERVAL_S: Final = 3600.0
"""Longest digital-out pulse interval (1 h), a guard against unit mix-ups."""
ALL_OUTPUTS: Final = -1
"""``chan_idx`` of a pulse setting that applies to every digital output."""

F32 = NDArray[np.float32]


class DigitalOutMode(IntEnum):
    """What drives the digital outputs (the Allego ``DIOMode`` values)."""

    MANUAL = 0
    EVENTS = 1
    GATED = 2
    PULSE = 3


@dataclass(frozen=True, slots=True)
class DigitalOutChannel:
    """The settings of one digital output."""

    manual_state: bool = False
    event_threshold_uv: float = 0.0
    event_polarity: bool = False
    pulse_interval_s: float = 0.0
    pulse_duration_s: float = 0.0

    @property
    def pulses(self) -> bool:
        return self.pulse_interval_s > 0.0


@dataclass(frozen=True, slots=True)
class DigitalOutRegister:
    """Mode, per-output settings and the last pulse request of the digital outputs.

    Examples
    --------
    >>> reg = DigitalOutRegister.default(2).with_manual(1, True)
    >>> reg.mode.name, reg.manual_states
    ('MANUAL', (False, True))
    """

    mode: DigitalOutMode
    channels: tuple[DigitalOutChannel, ...]
    gated_polarity: bool = False
    req_pulse_interval_s: float = 0.0
    req_pulse_duration_s: float = 0.0
    req_pulse_ntv_chan_idx: int = ALL_OUTPUTS

    @classmethod
    def default(cls, n_dout: int) -> DigitalOutRegister:
        return cls(DigitalOutMode.MANUAL, tuple(DigitalOutChannel() for _ in range(n_dout)))

    @property
    def manual_states(self) -> tuple[bool, ...]:
        return tuple(c.manual_state for c in self.channels)

    def streamed_states(self) -> tuple[bool, ...]:
        """The level each output holds in the stream (pulse trains are drawn over it)."""
        if self.mode == DigitalOutMode.GATED:
            return (self.gated_polarity,) * len(self.channels)
        if self.mode == DigitalOutMode.PULSE:
            return (False,) * len(self.channels)
        return self.manual_states

    # -- validated updates (``self`` is unchanged; a refused one raises) --------------------
    def _checked_index(self, chan_idx: object, *, allow_all: bool = False) -> int:
        n = len(self.channels)
        if isinstance(chan_idx, bool) or not isinstance(chan_idx, int):
            raise InvalidArgument(f"digital output index must be an int, got {chan_idx!r}")
        if allow_all and chan_idx == ALL_OUTPUTS:
            return chan_idx
        if not 0 <= chan_idx < n:
            every = f" or {ALL_OUTPUTS} (all)" if allow_all else ""
            raise InvalidArgument(
                f"no digital output {chan_idx}; this device has ntv 0..{n - 1}{every}"
            )
        return chan_idx

    def with_manual(self, chan_idx: object, state: object) -> DigitalOutRegister:
        """Manual mode, output ``chan_idx`` at ``state``."""
        idx = self._checked_index(chan_idx)
        if not isinstance(state, bool):
            raise InvalidArgument(f"digital out {idx} state must be True or False, got {state!r}")
        channels = list(self.channels)
        channels[idx] = replace(channels[idx], manual_state=state)
        return replace(self, mode=DigitalOutMode.MANUAL, channels=tuple(channels))

    def with_manual_states(self, states: tuple[bool, ...]) -> DigitalOutRegister:
        """Manual mode, every output's manual state at once (already validated)."""
        channels = tuple(
            replace(c, manual_state=s) for c, s in zip(self.channels, states, strict=True)
        )
        return replace(self, mode=DigitalOutMode.MANUAL, channels=channels)

    def with_gated(self, polarity: object) -> DigitalOutRegister:
        """Gated mode with ``polarity``; every manual and event setting is cleared."""
        if not isinstance(polarity, bool):
            raise InvalidArgument(f"gated polarity must be True or False, got {polarity!r}")
        channels = tuple(
            replace(c, manual_state=False, event_threshold_uv=0.0, event_polarity=False)
            for c in self.channels
        )
        return replace(self, mode=DigitalOutMode.GATED, channels=channels, gated_polarity=polarity)

    def with_pulse(
        self, interval_s: object, duration_s: object, chan_idx: object, fs: float
    ) -> DigitalOutRegister:
        """Pulse mode; output ``chan_idx`` (``-1``: all) pulses ``duration_s`` every ``interval_s``.

        Raises
        ------
        InvalidArgument
            A non-finite or non-positive time, an interval above :data:`MAX_PULSE_INTERVAL_S`,
            a pulse shorter than one sample or not shorter than the interval (at ``fs``), an
            unknown output.
        """
        idx = self._checked_index(chan_idx, allow_all=True)
        interval = _checked_seconds("interval_sec", interval_s)
        duration = _checked_seconds("duration_sec", duration_s)
        if interval > MAX_PULSE_INTERVAL_S:
            raise InvalidArgument(
                f"interval_sec must be at most {MAX_PULSE_INTERVAL_S:g} s, got {interval:g}"
            )
        width, period = pulse_samples(interval, duration, fs)
        if width < 1:
            raise InvalidArgument(
                f"duration_sec {duration:g} s is shorter than one sample at {fs:g} Hz"
            )
        if width >= period:
            raise InvalidArgument(
                f"duration_sec ({duration:g} s) must be shorter than interval_sec "
                f"({interval:g} s) by at least one sample at {fs:g} Hz"
            )
        channels = tuple(
            replace(c, pulse_interval_s=interval, pulse_duration_s=duration)
            if idx in (ALL_OUTPUTS, i)
            else c
            for i, c in enumerate(self.channels)
        )
        return replace(
            self,
            mode=DigitalOutMode.PULSE,
            channels=channels,
            req_pulse_interval_s=interval,
            req_pulse_duration_s=duration,
            req_pulse_ntv_chan_idx=idx,
        )

    def check_events(self, chan_idx: object, threshold_uv: object, polarity: object) -> None:
        """Validate an events-mode request, then refuse it: the simulator has no comparators.

        Raises
        ------
        InvalidArgument
            An unknown output, a non-finite threshold, a non-bool polarity.
        FailedPrecondition
            Always otherwise (events mode needs hardware).
        """
        idx = self._checked_index(chan_idx)
        if isinstance(threshold_uv, bool) or not isinstance(threshold_uv, int | float):
            raise InvalidArgument(f"event threshold must be a number of µV, got {threshold_uv!r}")
        if not math.isfinite(float(threshold_uv)):
            raise InvalidArgument(f"event threshold must be finite, got {threshold_uv!r}")
        if not isinstance(polarity, bool):
            raise InvalidArgument(f"event polarity must be True or False, got {polarity!r}")
        raise FailedPrecondition(
            f"digital out {idx}: events mode needs threshold comparators on hardware; no "
            "SmartBox Pro hardware detected (a smartbox_sim_* backbone supports manual, gated "
            "and pulse modes)"
        )

    def fitted(self, fs: float) -> DigitalOutRegister:
        """These settings at a new sampling rate: pulse settings it cannot draw are dropped."""
        channels = tuple(
            c
            if not c.pulses or _drawable(c.pulse_interval_s, c.pulse_duration_s, fs)
            else replace(c, pulse_interval_s=0.0, pulse_duration_s=0.0)
            for c in self.channels
        )
        return replace(self, channels=channels)

    # -- snapshots ----------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.name,
            "channels": [
                {
                    "manual_state": c.manual_state,
                    "event_threshold_uv": c.event_threshold_uv,
                    "event_polarity": c.event_polarity,
                    "pulse_interval_s": c.pulse_interval_s,
                    "pulse_duration_s": c.pulse_duration_s,
                }
                for c in self.channels
            ],
            "gated_polarity": self.gated_polarity,
            "req_pulse": [
                self.req_pulse_interval_s,
                self.req_pulse_duration_s,
                self.req_pulse_ntv_chan_idx,
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], n_dout: int, fs: float) -> DigitalOutRegister:
        """Rebuild (and validate) a register saved with :meth:`as_dict` for ``n_dout`` outputs."""
        try:
            mode = DigitalOutMode[str(d["mode"])]
            saved = [
                DigitalOutChannel(
                    bool(c["manual_state"]),
                    float(c["event_threshold_uv"]),
                    bool(c["event_polarity"]),
                    float(c["pulse_interval_s"]),
                    float(c["pulse_duration_s"]),
                )
                for c in d["channels"]
            ]
            interval, duration, idx = d["req_pulse"]
            reg = cls(
                mode,
                tuple((saved + [DigitalOutChannel()] * n_dout)[:n_dout]),
                bool(d["gated_polarity"]),
                float(interval),
                float(duration),
                int(idx),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"malformed digital-out register: {exc!r}") from exc
        if mode == DigitalOutMode.EVENTS:
            raise InvalidArgument("a saved digital-out register in events mode needs hardware")
        return reg.fitted(fs)


def _checked_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{name} must be a number of seconds, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x <= 0:
        raise InvalidArgument(f"{name} must be a finite time > 0 s, got {x!r}")
    return x


def pulse_samples(interval_s: float, duration_s: float, fs: float) -> tuple[int, int]:
    """``(pulse width, period)`` in samples at ``fs``."""
    return round(duration_s * fs), round(interval_s * fs)


def _drawable(interval_s: float, duration_s: float, fs: float) -> bool:
    width, period = pulse_samples(interval_s, duration_s, fs)
    return 1 <= width < period


@dataclass(slots=True)
class _Train:
    row: int
    width: int
    period: int
    anchor: int | None  # the first pulse's sample, fixed by the first block drawn


class PulseTrains:
    """Draws the pulse trains of a register into the ``gpio_dout`` rows of each block.

    A train keeps its phase from the first block it draws (``anchor``); a new driver built with
    :meth:`following` keeps the phase of outputs whose settings did not change.

    Examples
    --------
    >>> reg = DigitalOutRegister.default(2).with_pulse(0.001, 0.0005, 0, fs=4000.0)
    >>> trains = PulseTrains(reg, fs=4000.0)
    >>> dout = np.zeros((2, 10), np.float32)
    >>> trains(dout, 0)
    >>> dout[0].tolist()
    [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    """

    def __init__(self, register: DigitalOutRegister, fs: float) -> None:
        self._trains = [
            _Train(i, *pulse_samples(c.pulse_interval_s, c.pulse_duration_s, fs), None)
            for i, c in enumerate(register.channels)
            if c.pulses
        ]

    def __bool__(self) -> bool:
        return bool(self._trains)

    def following(self, previous: PulseTrains | None) -> PulseTrains:
        """Keep the phase of every train ``previous`` drew with the same settings."""
        if previous is not None:
            old = {(t.row, t.width, t.period): t.anchor for t in previous._trains}
            for t in self._trains:
                t.anchor = old.get((t.row, t.width, t.period))
        return self

    def __call__(self, dout: F32, first: int) -> None:
        n = dout.shape[1]
        stop = first + n
        for t in self._trains:
            if t.anchor is None:
                t.anchor = first
            row = dout[t.row]
            row[:] = 0.0
            start = max(first, t.anchor)
            if start >= stop:
                continue
            offset = (start - t.anchor) % t.period
            seg = row[start - first :]
            if seg.size // t.period > 64:
                # many short pulses in one block: one vectorized pattern
                pattern = np.zeros(t.period, np.float32)
                pattern[: t.width] = 1.0
                reps = -(-(offset + seg.size) // t.period)
                seg[:] = np.tile(pattern, reps)[offset : offset + seg.size]
                continue
            pos = start - offset  # start of the period that holds ``start``
            while pos < stop:
                lo, hi = max(pos, start), min(pos + t.width, stop)
                if hi > lo:
                    row[lo - first : hi - first] = 1.0
                pos += t.period
