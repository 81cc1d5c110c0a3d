"""Stimulation on the simulated device: per-channel parameters, triggers and the stimulus artifact.

Every amplifier channel of the live layout is a stim channel (as on a stimulation headstage),
keyed by its sys index. :class:`StimBank` holds the validated parameters
(:mod:`radiens_async.models.stim_params`) and decides, when a manual (keypress) trigger toggles,
which channels fire. What a firing channel shows in its signal is :func:`stim_artifact`: the
stimulus current through an electrode of :data:`ELECTRODE_KOHM` access resistance, as the
amplifier sees it -- each phase of each pulse a rectangle, integrated over every sample period so
that the charge of the sampled artifact equals the charge of the current (a charge-balanced
pulse -- ``first amplitude x first duration == second amplitude x second duration``, twice the
first phase for a triphasic one -- sums to zero).

With amp settle enabled the amplifier of the stim channel is held at its baseline from
``pre_stim_amp_settle_us`` before each pulse to ``post_stim_amp_settle_us`` after it (over the
whole train with ``maintain_amp_settle_us``): those samples read 0 µV, artifact included -- which
is what amp settle is for. The simulated electrode keeps no residual charge, so charge recovery
(stored and validated) has nothing to remove.

Triggers: a channel fires on manual trigger ``k`` (1..8) when it is enabled, its trigger source
is the keypress (``trigger_source_is_keypress``) and ``trigger_source_idx == k``. A keypress is
a press and a release, so an edge-triggered channel fires on every call whichever edge it
waits for; a level-triggered one fires when the toggle brings the key to its active level
(high for ``ST_HIGH``, low for ``ST_LOW``). A channel ignores triggers while its pulse train runs
and for ``refactory_period_ms`` after it.

A channel whose trigger source is not the keypress listens to digital input
``trigger_source_idx`` (``gpio_din`` ntv index) as the simulator produces it: edge-triggered on
its rising (``ST_HIGH``) or falling (``ST_LOW``) edges, level-triggered when the input enters the
active level; its stimulus starts at the sample of the edge. A source index the device does not
have never fires.

A manual trigger can also be set to a level (:meth:`StimBank.set_key`) instead of toggled: then
only a real transition counts -- an edge-triggered channel fires on the edge it waits for (rising
for ``ST_HIGH``, falling for ``ST_LOW``), a level-triggered one when the key enters its active
level, and setting the level the key already has fires nothing.

The stimulator's current step (:class:`StimStep`) and each channel's headstage-global amp
settle flag are held and reported; the simulated stimulator draws the requested amplitudes as
they are (no quantization to the step) and settles only the stimulating channel.

Plain domain code: no gRPC. The simulator applies the :class:`StimEvent` s this module builds
after each block copy, under its lock, from the sample at which the trigger landed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.models.stim_params import (
    KEYPRESS_TRIGGERS,
    PulseOrTrain,
    StimPolarity,
    StimShape,
    TriggerEdgeOrLevel,
    TriggerHighOrLow,
    checked_update,
    default_stim_params,
    pulse_width_us,
)


class StimStep(IntEnum):
    """The stimulator's current step (the current of one DAC step); MIN and MAX are the chip's
    uncalibrated extremes."""

    STIM_STEP_SIZE_MIN = 0
    STIM_STEP_SIZE_10_NA = 1
    STIM_STEP_SIZE_20_NA = 2
    STIM_STEP_SIZE_50_NA = 3
    STIM_STEP_SIZE_100_NA = 4
    STIM_STEP_SIZE_200_NA = 5
    STIM_STEP_SIZE_500_NA = 6
    STIM_STEP_SIZE_1_UA = 7
    STIM_STEP_SIZE_2_UA = 8
    STIM_STEP_SIZE_5_UA = 9
    STIM_STEP_SIZE_10_UA = 10
    STIM_STEP_SIZE_MAX = 11


DEFAULT_STIM_STEP: Final = StimStep.STIM_STEP_SIZE_10_UA
"""255 steps of 10 µA: the amplitude range the parameters are validated against (0..2550 µA)."""


def checked_stim_step(step: object) -> StimStep:
    """``step`` as a :class:`StimStep` (an int 0..11 or a name).

    Raises
    ------
    InvalidArgument
        Anything else.
    """
    if isinstance(step, str):
        try:
            return StimStep[step.strip().upper()]
        except KeyError:
            pass
    elif isinstance(step, int) and not isinstance(step, bool):
        try:
            return StimStep(step)
        except ValueError:
            pass
    valid = ", ".join(f"{m.name}={m.value}" for m in StimStep)
    raise InvalidArgument(f"unknown stim step {step!r}; expected one of {valid}")


ELECTRODE_KOHM: Final = 10.0
"""Access resistance of the simulated electrode: 1 µA shows as 10 000 µV."""
UV_PER_UA: Final = ELECTRODE_KOHM * 1000.0

F32 = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class StimEvent:
    """What one firing does to one row, relative to the trigger sample.

    With ``values`` it adds ``values[i]`` (µV) at sample ``trigger + offset + i``; without, it
    holds samples ``[trigger + offset, trigger + offset + length)`` at 0 µV (amp settle).
    """

    row: int
    offset: int
    length: int
    values: F32 | None = None

    @property
    def end(self) -> int:
        """One past the last sample (relative to the trigger) the event touches."""
        return self.offset + self.length


@dataclass(frozen=True, slots=True)
class ScheduledStim:
    """A :class:`StimEvent` placed at the absolute stream sample ``start`` of its trigger."""

    start: int
    event: StimEvent

    @property
    def stop(self) -> int:
        return self.start + self.event.end

    def apply(self, out: F32, first_sample: int) -> None:
        """Write the part of the event that falls into ``out`` (samples ``first_sample ..``)."""
        ev = self.event
        a = self.start + ev.offset
        lo, hi = max(a, first_sample), min(a + ev.length, first_sample + out.shape[1])
        if hi <= lo:
            return
        target = out[ev.row, lo - first_sample : hi - first_sample]
        if ev.values is None:
            target[:] = 0.0
        else:
            target += ev.values[lo - a : hi - a]


def _phases_us(params: Mapping[str, Any]) -> list[tuple[float, float, float]]:
    """One pulse as ``(start µs, stop µs, current µA)`` rectangles from the pulse start."""
    d1, d2 = params["first_phase_duration_us"], params["second_phase_duration_us"]
    a1, a2 = params["first_phase_amplitude_uA"], params["second_phase_amplitude_uA"]
    gap = params["interphase_delay_us"]
    # cathodic current is negative at the electrode
    sign = -1.0 if params["stim_polarity"] == StimPolarity.CATHODIC_FIRST else 1.0
    shape = params["stim_shape"]
    if shape == StimShape.MONOPHASIC:
        return [(0.0, d1, sign * a1)]
    if shape == StimShape.BIPHASIC:
        return [(0.0, d1, sign * a1), (d1, d1 + d2, -sign * a2)]
    if shape == StimShape.BIPHASIC_INTERPHASE_DELAY:
        return [(0.0, d1, sign * a1), (d1 + gap, d1 + gap + d2, -sign * a2)]
    t2 = d1 + gap
    t3 = t2 + d2 + gap
    return [(0.0, d1, sign * a1), (t2, t2 + d2, -sign * a2), (t3, t3 + d1, sign * a1)]


def pulse_starts_us(params: Mapping[str, Any]) -> list[float]:
    """Start of every pulse of one firing, in µs after the trigger."""
    train = params["pulse_or_train"] == PulseOrTrain.PULSE_TRAIN
    n = params["number_of_stim_pulses"] if train else 1
    delay, period = params["post_trigger_delay_us"], params["pulse_train_period_us"]
    return [delay + k * period for k in range(n)]


def stim_current_segments(params: Mapping[str, Any]) -> list[tuple[float, float, float]]:
    """Every current rectangle of one firing: ``(start µs, stop µs, µA)`` after the trigger."""
    pulse = _phases_us(params)
    return [(t0 + a, t0 + b, i) for t0 in pulse_starts_us(params) for a, b, i in pulse]


def sample_average(
    segments: Sequence[tuple[float, float, float]], fs: float
) -> tuple[int, NDArray[np.float64]]:
    """Mean of a piecewise-constant signal over each sample period: ``(first sample, means)``.

    Sample ``n`` covers ``[n / fs, (n + 1) / fs)``; segments are ``(start µs, stop µs, value)``.
    """
    live = [(a, b, v) for a, b, v in segments if b > a and v != 0.0]
    if not live:
        return 0, np.zeros(0, np.float64)
    us_per_sample = 1e6 / fs
    first = math.floor(min(a for a, _, _ in live) / us_per_sample)
    last = math.ceil(max(b for _, b, _ in live) / us_per_sample)
    edges = np.arange(first, last + 1, dtype=np.float64) * us_per_sample
    acc = np.zeros(last - first, dtype=np.float64)
    for a, b, v in live:
        overlap = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, None)
        overlap[overlap < 1e-9 * us_per_sample] = 0.0  # edges that coincide up to rounding
        acc += v * overlap / us_per_sample
    return first, acc


def settle_windows(params: Mapping[str, Any], fs: float) -> list[tuple[int, int]]:
    """Amp-settle windows of one firing as sample ranges after the trigger (none when off).

    Samples before the trigger are already acquired, so a window starts at the trigger at
    the earliest.
    """
    if not params["enable_amp_settle"]:
        return []
    us = 1e6 / fs
    starts = pulse_starts_us(params)
    width = pulse_width_us(params)
    pre, post = params["pre_stim_amp_settle_us"], params["post_stim_amp_settle_us"]
    if params["maintain_amp_settle_us"] or len(starts) == 1:
        spans = [(starts[0] - pre, starts[-1] + width + post)]
    else:
        spans = [(t - pre, t + width + post) for t in starts]
    return [(max(0, math.floor(a / us)), math.ceil(b / us)) for a, b in spans]


def stim_artifact(params: Mapping[str, Any], fs: float, row: int) -> list[StimEvent]:
    """What one firing of a channel with ``params`` does to its row ``row`` at ``fs``.

    The artifact first, then the amp-settle windows (which hold the row at 0, artifact
    included).

    Examples
    --------
    >>> p = {**default_stim_params(0), "first_phase_amplitude_uA": 10.0,
    ...      "second_phase_amplitude_uA": 10.0}
    >>> [ev] = stim_artifact(p, 30000.0, row=0)
    >>> ev.offset, ev.length, abs(float(ev.values.sum())) < 1e-3
    (0, 6, True)
    """
    offset, current = sample_average(stim_current_segments(params), fs)
    events = []
    if current.size:
        values = (current * UV_PER_UA).astype(np.float32)
        events.append(StimEvent(row, offset, int(values.size), values))
    events.extend(StimEvent(row, a, b - a) for a, b in settle_windows(params, fs) if b > a)
    return events


def train_samples(params: Mapping[str, Any], fs: float) -> int:
    """Samples from the trigger to the end of the last pulse of one firing."""
    end_us = pulse_starts_us(params)[-1] + pulse_width_us(params)
    return math.ceil(end_us * fs / 1e6)


def _entering(row: F32, previous: float, wants_high: bool) -> list[int]:
    """Offsets in ``row`` at which a digital input enters its active level (``previous`` is
    its value at the sample before)."""
    high = np.concatenate(([previous], row)) > 0.5
    entering = (~high[:-1] & high[1:]) if wants_high else (high[:-1] & ~high[1:])
    return np.flatnonzero(entering).tolist()


@dataclass(frozen=True, slots=True)
class Firing:
    """The outcome of one manual trigger."""

    sample_index: int
    fired: tuple[int, ...]
    first_pulse_sample: tuple[int, ...]
    refractory: tuple[int, ...]
    level: bool
    scheduled: tuple[ScheduledStim, ...]


class StimBank:
    """The stimulation parameters of every stim channel and the state of the manual triggers.

    Parameters
    ----------
    stim_sys_idxs : sequence of int
        Sys indices of the stim channels (the amplifier channels; a channel's row in the
        stream equals its sys index).

    Examples
    --------
    >>> bank = StimBank([0, 1, 2])
    >>> bank.set({"stim_sys_chan_idx": 1, "enabled": True})["enabled"]
    True
    >>> sorted(bank.get())
    [0, 1, 2]
    """

    def __init__(self, stim_sys_idxs: Sequence[int] = ()) -> None:
        self._params: dict[int, dict[str, Any]] = {}
        self._key_level = dict.fromkeys(KEYPRESS_TRIGGERS, False)
        self._busy_until: dict[int, int] = {}
        # the enabled channels that listen to a digital input: what on_din_edges visits per block
        self._din_listeners: tuple[tuple[int, dict[str, Any]], ...] = ()
        self._global_settle: set[int] = set()  # channels with headstage-global amp settle
        self.rebind(stim_sys_idxs)

    def rebind(self, stim_sys_idxs: Sequence[int]) -> None:
        """A new channel layout: channels that remain keep their parameters, new ones default."""
        old = self._params
        self._params = {
            int(i): old[int(i)] if int(i) in old else default_stim_params(int(i))
            for i in stim_sys_idxs
        }
        self._global_settle &= set(self._params)
        self._busy_until.clear()
        self._params_changed()

    def reset(self) -> None:
        """Every channel back to the defaults, triggers released (a restart)."""
        self._params = {i: default_stim_params(i) for i in self._params}
        self._global_settle.clear()
        self._key_level = dict.fromkeys(KEYPRESS_TRIGGERS, False)
        self._busy_until.clear()
        self._params_changed()

    def new_stream(self) -> None:
        """Streaming (re)starts at sample 0: forget when channels were last busy."""
        self._busy_until.clear()

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(self._params)

    def get(self) -> dict[int, dict[str, Any]]:
        """``{stim_sys_chan_idx: params}`` of every stim channel (copies)."""
        return {i: dict(p) for i, p in self._params.items()}

    def _current(self, param_dict: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters the update applies to (malformed requests fail in validation)."""
        idx = param_dict.get("stim_sys_chan_idx") if isinstance(param_dict, Mapping) else None
        if isinstance(idx, float) and idx.is_integer():
            idx = int(idx)
        if not isinstance(idx, int) or isinstance(idx, bool):
            return default_stim_params(0)
        if idx not in self._params:
            chans = list(self._params)
            valid = f"{chans[0]}..{chans[-1]}" if chans else "none"
            raise NotFound(f"unknown stim channel {idx}: stim channels are sys indices {valid}")
        return self._params[idx]

    def set(self, param_dict: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and apply one channel's update; returns that channel's full parameters.

        Raises
        ------
        InvalidArgument
            A bad key or value (nothing changes).
        NotFound
            ``stim_sys_chan_idx`` is not a stim channel.
        """
        current = self._current(param_dict)
        merged = checked_update(current, param_dict)
        self._params[merged["stim_sys_chan_idx"]] = merged
        self._params_changed()
        return dict(merged)

    def headstage_global_amp_settle(self, stim_sys_chan_idx: int) -> bool:
        """Whether the channel asks for headstage-global amp settle (held and reported)."""
        return stim_sys_chan_idx in self._global_settle

    def set_headstage_global_amp_settle(self, stim_sys_chan_idx: int, on: bool) -> None:
        """Set a channel's headstage-global amp settle flag.

        Raises
        ------
        NotFound
            ``stim_sys_chan_idx`` is not a stim channel.
        """
        self._current({"stim_sys_chan_idx": stim_sys_chan_idx})
        if on:
            self._global_settle.add(stim_sys_chan_idx)
        else:
            self._global_settle.discard(stim_sys_chan_idx)

    @property
    def global_amp_settle_channels(self) -> tuple[int, ...]:
        return tuple(sorted(self._global_settle))

    def restore(
        self, saved: Mapping[int, Mapping[str, Any]], stim_sys_idxs: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        """Validate a saved set for the channels ``stim_sys_idxs`` without applying it.

        Saved channels that are not in ``stim_sys_idxs`` are dropped; channels without saved
        values get the defaults. Returns what :meth:`apply_all` takes.

        Raises
        ------
        InvalidArgument
            A saved value that is not valid (nothing changes).
        """
        out = {int(i): default_stim_params(int(i)) for i in stim_sys_idxs}
        for idx, params in saved.items():
            if int(idx) in out:
                update = {**params, "stim_sys_chan_idx": int(idx)}
                out[int(idx)] = checked_update(out[int(idx)], update)
        return out

    def apply_all(
        self, params: Mapping[int, Mapping[str, Any]], global_settle: Sequence[int] = ()
    ) -> None:
        """Replace every channel's parameters with already validated ones (see :meth:`restore`)."""
        self._params = {int(i): dict(p) for i, p in params.items()}
        self._global_settle = {int(i) for i in global_settle} & set(self._params)
        self._params_changed()

    def _params_changed(self) -> None:
        # one assignment, so the acquisition thread sees the old tuple or the new one
        self._din_listeners = tuple(
            (i, p)
            for i, p in self._params.items()
            if p["enabled"] and not p["trigger_source_is_keypress"]
        )

    def din_armed(self) -> bool:
        """Whether any enabled channel listens to a digital input."""
        return bool(self._din_listeners)

    def on_din_edges(
        self, din: F32, first_sample: int, previous: F32, fs: float
    ) -> list[ScheduledStim]:
        """Fire the channels that digital-input edges in a new block trigger.

        Runs in the acquisition thread under the simulator's lock, before the block is handed
        on, so a stimulus starting at an edge of this block is in it.

        Parameters
        ----------
        din : ndarray, shape (n_din, n)
            The block's digital inputs (0.0 / 1.0), samples ``first_sample ..``.
        previous : ndarray, shape (n_din,)
            Each input's value at the sample before the block.
        """
        out: list[ScheduledStim] = []
        n_din = din.shape[0]
        if din.shape[1] == 0:
            return out
        # channels sharing an input and a polarity share its edges: found once per block
        edges: dict[tuple[int, bool], list[int]] = {}
        for idx, p in self._din_listeners:
            src = p["trigger_source_idx"]
            if src >= n_din:
                continue
            wants_high = p["trigger_high_or_low"] == TriggerHighOrLow.ST_HIGH
            key = (src, wants_high)
            if key not in edges:
                edges[key] = _entering(din[src], float(previous[src]), wants_high)
            for offset in edges[key]:
                sample = first_sample + offset
                if sample < self._busy_until.get(idx, 0):
                    continue
                out.extend(self._fire(idx, p, sample, fs))
        return out

    def _fire(self, idx: int, p: Mapping[str, Any], sample: int, fs: float) -> list[ScheduledStim]:
        """Channel ``idx`` fires at ``sample``: its stimulus events; it stays busy until its
        train and refractory period are over."""
        self._busy_until[idx] = (
            sample + train_samples(p, fs) + math.ceil(p["refactory_period_ms"] * fs / 1e3)
        )
        return [ScheduledStim(sample, ev) for ev in stim_artifact(p, fs, idx)]

    def toggle(self, trigger: int, fs: float, sample_index: int) -> Firing:
        """Toggle keypress ``trigger`` at stream sample ``sample_index``; fire what it triggers.

        Runs under the simulator's lock (the sample is the next one to be acquired).

        Raises
        ------
        InvalidArgument
            ``trigger`` is not 1..8.
        """
        self._check_trigger(trigger)
        return self._key_moved(trigger, not self._key_level[trigger], fs, sample_index, True)

    def set_key(self, trigger: int, on: bool, fs: float, sample_index: int) -> Firing:
        """Set keypress ``trigger`` to ``on`` at stream sample ``sample_index``; fire what the
        transition triggers (nothing when the key already is at ``on``).

        Raises
        ------
        InvalidArgument
            ``trigger`` is not 1..8, ``on`` not a bool.
        """
        self._check_trigger(trigger)
        if not isinstance(on, bool):
            raise InvalidArgument(f"trigger state must be True or False, got {on!r}")
        return self._key_moved(trigger, on, fs, sample_index, False)

    def key_level(self, trigger: int) -> bool:
        """Whether keypress ``trigger`` is down."""
        self._check_trigger(trigger)
        return self._key_level[trigger]

    def _check_trigger(self, trigger: object) -> None:
        if (
            isinstance(trigger, bool)
            or not isinstance(trigger, int)
            or trigger not in self._key_level
        ):
            raise InvalidArgument(
                f"trigger must be a keypress trigger {KEYPRESS_TRIGGERS.start}.."
                f"{KEYPRESS_TRIGGERS.stop - 1}, got {trigger!r}"
            )

    def _key_moved(
        self, trigger: int, level: bool, fs: float, sample_index: int, press_and_release: bool
    ) -> Firing:
        """The key goes to ``level``: a toggle (``press_and_release``: every edge-triggered
        channel fires) or a set level (only a real transition fires)."""
        changed = level != self._key_level[trigger]
        self._key_level[trigger] = level
        fired: list[int] = []
        first_pulse: list[int] = []
        refractory: list[int] = []
        scheduled: list[ScheduledStim] = []
        for idx, p in self._params.items():
            if not (p["enabled"] and p["trigger_source_is_keypress"]):
                continue
            if p["trigger_source_idx"] != trigger:
                continue
            active = level if p["trigger_high_or_low"] == TriggerHighOrLow.ST_HIGH else not level
            # a level-triggered channel fires entering its level, an edge-triggered one (set,
            # not toggled) on the transition it waits for
            by_transition = (
                p["trigger_edge_or_level"] == TriggerEdgeOrLevel.ST_LEVEL or not press_and_release
            )
            if by_transition and not (changed and active):
                continue
            if sample_index < self._busy_until.get(idx, 0):
                refractory.append(idx)
                continue
            fired.append(idx)
            first_pulse.append(sample_index + math.floor(p["post_trigger_delay_us"] * fs / 1e6))
            scheduled.extend(self._fire(idx, p, sample_index, fs))
        return Firing(
            sample_index,
            tuple(fired),
            tuple(first_pulse),
            tuple(refractory),
            level,
            tuple(scheduled),
        )
