"""Capture the Allego instrument state as plain JSON values, and restore it all or nothing.

A snapshot holds the system mode and simulator seed, the sampling rate, the sensor on each port,
the spike sorter's thresholds (detection and weak levels with their scale and arming, per
channel), window, shadow, spike-width range (per channel; absent in older snapshots, which restore
the default ``[0, inf]``) and sorting state, the stimulation parameters, the digital-out states,
the analog-out settings and the recording configuration.

Restoring is two steps: :func:`prepare_restore` validates everything against the layout the
snapshot describes and touches nothing (a bad snapshot raises a typed error and changes nothing);
:func:`apply_restore` then reconfigures the device with values that are known to be valid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.allego_device import N_AIN, N_DIN, N_DOUT, AllegoDevice
from radiens_async.hub.daq.channel_layout import PortSensor, StreamSignalType
from radiens_async.hub.daq.recording_config import RecordingConfig
from radiens_async.hub.spikes.spike_engine import SpikeEngine
from radiens_async.hub.spikes.spike_params import (
    DEFAULT_SPIKE_WIDTH_S,
    NEG,
    POS,
    ThresholdSet,
    check_ms,
    check_spike_width,
)
from radiens_async.utils.aliases import is_simulator
from radiens_async.utils.constants import VALID_SAMPLING_FREQS
from radiens_async.utils.enums import SystemMode

SNAPSHOT_VERSION = 1


def _thresholds(t: ThresholdSet) -> dict[str, Any]:
    return {
        "level": t.level.tolist(),
        "is_sd": t.is_sd.tolist(),
        "active": t.active.tolist(),
    }


def capture(device: AllegoDevice) -> dict[str, Any]:
    """The device's instrument state as JSON-able values.

    Examples
    --------
    >>> snap = capture(AllegoDevice())  # doctest: +SKIP
    >>> snap["mode"], snap["fs"]  # doctest: +SKIP
    ('SMARTBOX_SIM_GEN_SPIKES', 30000.0)
    """
    engine = device.spike_engine
    p = engine.params
    to_ms = 1000.0 / p.fs
    cfg = device.recording_config
    return {
        "version": SNAPSHOT_VERSION,
        "mode": device.mode.name,
        "seed": device.seed,
        "fs": device.fs,
        "sensors": [[s.port, s.headstage_id, s.probe_id, s.n_channels] for s in device.sensors],
        "sorter": {
            "thr": _thresholds(p.thr),
            "weak": _thresholds(p.weak),
            "pre_ms": p.pre_pts * to_ms,
            "post_ms": p.post_pts * to_ms,
            "shadow_ms": p.shadow_pts * to_ms,
            # strict JSON has no infinity: an open upper limit is stored as null
            "spike_width_s": [
                [lo, hi if math.isfinite(hi) else None] for lo, hi in p.spike_width_s.tolist()
            ],
            "sorting": engine.sorting,
        },
        "outputs": device.outputs.snapshot(),
        "recording": {
            "path": str(cfg.path),
            "base_name": cfg.base_name,
            "index": cfg.index,
            "time_stamp": cfg.time_stamp,
        },
    }


@dataclass(frozen=True)
class SorterPlan:
    """Validated sorter state: arrays of shape (n_amp, 2) and the window in ms."""

    thr: tuple[np.ndarray, np.ndarray, np.ndarray]
    weak: tuple[np.ndarray, np.ndarray, np.ndarray]
    pre_ms: float
    post_ms: float
    shadow_ms: float
    sorting: bool
    spike_width_s: np.ndarray


@dataclass(frozen=True)
class RestorePlan:
    """Everything :func:`apply_restore` needs, validated."""

    mode: SystemMode
    seed: int
    fs: float
    sensors: tuple[PortSensor, ...]
    sorter: SorterPlan
    outputs: Any
    recording: RecordingConfig


def _bad(what: str, exc: BaseException | str) -> InvalidArgument:
    return InvalidArgument(f"workspace snapshot: bad {what}: {exc}")


def _threshold_arrays(d: Any, n: int, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        level = np.asarray(d["level"], dtype=np.float64)
        is_sd = np.asarray(d["is_sd"], dtype=bool)
        active = np.asarray(d["active"], dtype=bool)
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"{name} thresholds", repr(exc)) from exc
    for a in (level, is_sd, active):
        if a.shape != (n, 2):
            raise _bad(f"{name} thresholds", f"shape {a.shape}, expected ({n}, 2)")
    if not np.isfinite(level).all() or (level[:, POS] <= 0).any() or (level[:, NEG] == 0).any():
        raise _bad(f"{name} thresholds", "levels must be finite, non-zero, positive slot > 0")
    return level, is_sd, active


def _spike_widths(d: Any, n: int) -> np.ndarray:
    """The per-channel ``[min, max]`` widths of a snapshot (the default where absent)."""
    if d is None:
        return np.tile(np.array(DEFAULT_SPIKE_WIDTH_S, dtype=np.float64), (n, 1))
    if not isinstance(d, list) or len(d) != n:
        raise _bad("spike widths", f"expected a list of {n} [min, max] pairs")
    out = np.empty((n, 2), dtype=np.float64)
    for row, pair in enumerate(d):
        if isinstance(pair, list) and len(pair) == 2 and pair[1] is None:
            pair = [pair[0], math.inf]
        try:
            out[row] = check_spike_width(pair)
        except InvalidArgument as exc:
            raise _bad("spike widths", exc) from exc
    return out


def _sorter_plan(d: Any, n_amp: int) -> SorterPlan:
    try:
        pre, post, shadow = (check_ms(k, d[k]) for k in ("pre_ms", "post_ms", "shadow_ms"))
        sorting = d["sorting"]
    except (KeyError, TypeError) as exc:
        raise _bad("sorter state", repr(exc)) from exc
    if not isinstance(sorting, bool):
        raise _bad("sorter state", f"sorting must be a bool, got {sorting!r}")
    return SorterPlan(
        _threshold_arrays(d.get("thr"), n_amp, "detection"),
        _threshold_arrays(d.get("weak"), n_amp, "weak"),
        pre,
        post,
        shadow,
        sorting,
        _spike_widths(d.get("spike_width_s"), n_amp),
    )


def prepare_restore(device: AllegoDevice, snapshot: dict[str, Any]) -> RestorePlan:
    """Validate ``snapshot`` completely; nothing is changed.

    Raises
    ------
    FailedPrecondition
        The device is recording, the snapshot needs hardware, or its recording directory is
        gone.
    InvalidArgument
        A malformed snapshot.
    """
    if device.recording:
        raise FailedPrecondition("cannot switch workspaces while recording: stop the recording")
    try:
        mode = SystemMode[snapshot["mode"]]
        seed, fs = int(snapshot["seed"]), float(snapshot["fs"])
        sensors = tuple(
            PortSensor(str(p), str(h), str(pr), int(n)) for p, h, pr, n in snapshot["sensors"]
        )
        rec = snapshot["recording"]
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("instrument configuration", repr(exc)) from exc
    if not is_simulator(mode):
        raise FailedPrecondition(f"the workspace needs {mode.name.lower()} hardware")
    if not math.isfinite(fs) or round(fs) not in VALID_SAMPLING_FREQS or seed < 0:
        raise _bad("instrument configuration", f"fs {fs!r} / seed {seed!r}")
    try:
        for s in sensors:
            sensors_catalog.get_headstage(s.headstage_id)
            sensors_catalog.get_probe(s.probe_id)
        layout = sensors_catalog.build_layout(sensors, N_AIN, N_DIN, N_DOUT)
    except (KeyError, ValueError) as exc:
        raise _bad("sensors", repr(exc)) from exc
    amp = [c.sys_idx for c in layout.of_type(StreamSignalType.AMP)]
    sorter = _sorter_plan(snapshot.get("sorter"), len(amp))
    outputs = device.outputs.prepare_restore(snapshot.get("outputs", {}), fs, amp)
    try:
        recording = RecordingConfig.checked(
            str(rec["path"]), str(rec["base_name"]), int(rec["index"]), bool(rec["time_stamp"])
        )
    except NotFound as exc:
        raise FailedPrecondition(f"cannot restore the recording configuration: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("recording configuration", repr(exc)) from exc
    return RestorePlan(mode, seed, fs, sensors, sorter, outputs, recording)


def _groups(values: np.ndarray, *keys: np.ndarray) -> list[tuple[tuple[Any, ...], np.ndarray]]:
    """Rows grouped by equal ``(values, *keys)``: ``[(key tuple, row indices), ...]``."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for row in range(values.shape[0]):
        k = (values[row].item(), *(key[row].item() for key in keys))
        out.setdefault(k, []).append(row)
    return [(k, np.asarray(rows)) for k, rows in out.items()]


def _restore_thresholds(
    engine: SpikeEngine, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], weak: bool
) -> None:
    level, is_sd, active = arrays
    ntv = engine.ntv_idxs
    for slot in (NEG, POS):
        for (value, sd), rows in _groups(level[:, slot], is_sd[:, slot]):
            idxs: Sequence[int] = ntv[rows].tolist()
            neg, pos = (value, None) if slot == NEG else (None, value)
            engine.set_threshold_level(neg, pos, "sd" if sd else "uV", idxs, weak)
        for (on,), rows in _groups(active[:, slot]):
            neg_on, pos_on = (on, None) if slot == NEG else (None, on)
            engine.set_threshold_active(neg_on, pos_on, ntv[rows].tolist(), weak)


def apply_restore(device: AllegoDevice, plan: RestorePlan) -> None:
    """Reconfigure ``device`` as ``plan`` says; streaming resumes if it was on."""
    was_streaming = device.streaming
    device.apply_configuration(plan.mode, plan.seed, plan.fs, plan.sensors)
    engine = device.spike_engine
    s = plan.sorter
    _restore_thresholds(engine, s.thr, weak=False)
    _restore_thresholds(engine, s.weak, weak=True)
    engine.set_window(s.pre_ms, s.post_ms)
    engine.set_shadow(s.shadow_ms)
    ntv = engine.ntv_idxs
    for (lo, hi), rows in _groups(s.spike_width_s[:, 0], s.spike_width_s[:, 1]):
        engine.set_spike_width([lo, hi], ntv[rows].tolist())
    engine.set_sorting(s.sorting)
    device.outputs.apply_restore(plan.outputs)
    device.recording_config = plan.recording
    if was_streaming:
        device.set_streaming(True)
