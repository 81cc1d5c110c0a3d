"""Radiens sorter requests <-> the hub's live :class:`~radiens_async.hub.spikes.SpikeEngine`.

The same engine calls the radiens.v1 Neurons service makes (``set_threshold_level``,
``set_threshold_active``, ``set_window``, ``set_shadow``, the sorter commands) and the same tables
it reads (``params_rows``, ``counts``, ``units``), so a threshold set through either protocol reads
the same through both.

Units on the wire: thresholds in µV or noise SDs ``[neg, pos]``; windows, shadow and peak window
in **seconds** (the engine takes ms). Window and shadow are one setting for the whole stream:
``ntvChanIdx`` is checked but the value applies to every channel, as the engine has one window.
The spike width (``SORTER_SPIKE_WIDTH``, ``[min, max]`` seconds at half peak) is per channel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, cast

import numpy as np

from radiens_async._generated.allego import common_pb2, spikesorter_pb2
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.radiens.sorter_ids import LIVE_SORTER_ID
from radiens_async.hub.radiens.spikes_translation import (
    covered_samples,
    neuron_id,
    neuron_label,
    unknown_enum_values,
)
from radiens_async.hub.spikes.spike_engine import SpikeEngine
from radiens_async.hub.spikes.spike_params import (
    NEG,
    POS,
    check_level,
    check_ms,
    check_spike_width,
)
from radiens_async.hub.summary_stats import summary_vector

PC = common_pb2
SS = spikesorter_pb2

# parameter command -> (scale, weak) for the level commands
_LEVELS: Final = {
    PC.SORTER_THR_LEVEL: ("uV", False),
    PC.SORTER_THR_LEVEL_SD: ("sd", False),
    PC.SORTER_WEAK_THR_LEVEL: ("uV", True),
    PC.SORTER_WEAK_THR_LEVEL_SD: ("sd", True),
}
_ACTIVATE: Final = {PC.SORTER_THR_ACTIVATE: False, PC.SORTER_WEAK_THR_ACTIVATE: True}
_ALL_DASH_ELEMENTS: Final = tuple(SS.DashElement.values())

ParamChange = Callable[[SpikeEngine], None]
"""A validated parameter change, applied to the engine afterwards (never fails on good input)."""


# --- commands ---------------------------------------------------------------------------------


def apply_command(device: AllegoDevice, request: SS.SpikeSorterCommandRequest) -> None:
    """Carry out a ``SpikeSorterCommand`` on the device's live sorter.

    ON starts labeling (``subCmd`` DETECT_ONLY or ``clustererParams.disabled``: detection only);
    OFF stops it (detection continues, as on an Allego). CLEAR_SORT drops the spikes and keeps the
    templates; REBASE drops spikes and templates and learns again; INIT also restores the default
    detection parameters, then restarts a sorter that was running. ON and REBASE need streaming.
    Feature/clusterer tuning and neighbourhood sizes have no counterpart in the hub's template
    sorter and are accepted without effect.

    Raises
    ------
    InvalidArgument
        For a command or sub-command value the protocol does not define.
    FailedPrecondition
        For ON or REBASE while streaming is off.
    """
    if not request.HasField("cmd") or request.cmd not in SS.SpikeSorterCommand.values():
        raise InvalidArgument(
            "unknown spike sorter command (ON=0, OFF=1, CLEAR_SORT=2, REBASE=4, INIT=5)"
        )
    if not request.HasField("subCmd") or request.subCmd not in SS.SpikeSorterSubCommand.values():
        raise InvalidArgument("unknown spike sorter sub-command (NULL=0, DETECT_ONLY=2)")
    detect_only = request.subCmd == SS.SORTER_SUBCMD_DETECT_ONLY or (
        request.HasField("clustererParams") and request.clustererParams.disabled
    )
    engine = device.spike_engine
    cmd = request.cmd
    if cmd in (SS.SORTER_CMD_ON, SS.SORTER_CMD_REBASE) and not device.streaming:
        name = SS.SpikeSorterCommand.Name(cmd)
        raise FailedPrecondition(f"{name}: streaming is off; turn streaming on first")
    if cmd == SS.SORTER_CMD_ON:
        engine.set_sorting(not detect_only)
    elif cmd == SS.SORTER_CMD_OFF:
        engine.set_sorting(False)
    elif cmd == SS.SORTER_CMD_CLEAR_SORT:
        engine.clear_spikes()
    elif cmd == SS.SORTER_CMD_REBASE:
        engine.rebase()
        if detect_only:
            engine.set_sorting(False)
    else:  # INIT
        was_on = engine.sorting
        engine.initialize()
        if was_on and device.streaming:
            engine.set_sorting(True)


# --- parameters -------------------------------------------------------------------------------


def _channels(engine: SpikeEngine, ntv_idxs: Sequence[int]) -> list[int] | None:
    """The named channels (None = all), refused if one is not an amplifier channel."""
    if not ntv_idxs:
        return None
    known = set(engine.ntv_idxs.tolist())
    unknown = sorted(set(ntv_idxs) - known)
    if unknown:
        more = " ..." if len(unknown) > 10 else ""
        raise InvalidArgument(
            f"unknown amplifier channel(s) {unknown[:10]}{more}: the live stream has "
            f"{len(known)} amplifier channels"
        )
    return list(ntv_idxs)


def _finite(name: str, values: Sequence[float]) -> list[float]:
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise InvalidArgument(f"{name} must be finite, got {list(values)}")
    return list(values)


def _slots(name: str, floats: Sequence[float], bools: Sequence[bool]) -> list[tuple[int, float]]:
    """``[(slot, value)]`` for the ``[neg, pos]`` slots ``regBool`` selects.

    ``regBool`` empty selects every slot ``regFloat64`` gives; a value in an unselected slot is
    ignored (4.0.1 sends a placeholder there).
    """
    if not 1 <= len(floats) <= 2:
        raise InvalidArgument(
            f"{name} needs 1 or 2 regFloat64 values [neg, pos], got {len(floats)}"
        )
    chosen = list(bools) if bools else [True] * len(floats)
    if len(chosen) != len(floats):
        raise InvalidArgument(
            f"{name} needs one regBool per regFloat64 value, got {len(chosen)} for {len(floats)}"
        )
    return [(slot, floats[slot]) for slot in (NEG, POS)[: len(floats)] if chosen[slot]]


def plan_param_change(engine: SpikeEngine, request: PC.SpikeSorterSetParamRequest) -> ParamChange:
    """Validate one ``SpikeSorterSetParamRequest`` completely; return the change to apply.

    Nothing is changed here, so a bulk request can be refused as a whole.

    Raises
    ------
    InvalidArgument
        For an unknown command, a wrong number of register values, a NaN / infinite / zero or
        out-of-range value, or a channel that is not an amplifier channel.
    """
    cmd = request.cmd
    if not request.HasField("cmd") or cmd not in PC.SpikeSorterParamCommand.values():
        raise InvalidArgument("unknown spike sorter parameter command")
    name = PC.SpikeSorterParamCommand.Name(cmd)
    floats, bools = list(request.regFloat64), list(request.regBool)
    chans = _channels(engine, list(request.ntvChanIdx))
    if cmd in _LEVELS:
        scale, weak = _LEVELS[cmd]
        picked = _slots(name, floats, bools)
        levels = {slot: check_level(slot, value, scale, weak) for slot, value in picked}
        neg, pos = levels.get(NEG), levels.get(POS)
        return lambda e: e.set_threshold_level(neg, pos, scale, chans, weak)
    if cmd in _ACTIVATE:
        weak = _ACTIVATE[cmd]
        states: dict[int, bool] = {}
        for slot, value in _slots(name, floats, bools):
            if value not in (0.0, 1.0):
                raise InvalidArgument(f"{name} takes 1.0 (arm) or 0.0 (disarm), got {value!r}")
            states[slot] = value == 1.0
        neg_on, pos_on = states.get(NEG), states.get(POS)
        return lambda e: e.set_threshold_active(neg_on, pos_on, chans, weak)
    if cmd == PC.SORTER_THR_WDW:
        # [pre, post] seconds; a [pre, post, total] read back from GetParam is accepted as well
        if len(floats) not in (2, 3):
            raise InvalidArgument(f"{name} needs [pre, post] seconds, got {floats}")
        pre_s, post_s = _finite(name, floats[:2])
        pre_ms = check_ms("pre_thr_ms", pre_s * 1000.0)
        post_ms = check_ms("post_thr_ms", post_s * 1000.0)
        return lambda e: e.set_window(pre_ms, post_ms)
    if cmd == PC.SORTER_SHADOW:
        if len(floats) not in (1, 2):
            raise InvalidArgument(f"{name} needs [shadow] seconds, got {floats}")
        shadow_ms = check_ms("shadow_ms", _finite(name, floats[:1])[0] * 1000.0)
        return lambda e: e.set_shadow(shadow_ms)
    if cmd == PC.SORTER_SPIKE_WIDTH:
        # [min, max] seconds; max may be +inf (no upper limit), NaN is refused
        width = check_spike_width(floats)
        return lambda e: e.set_spike_width(width, chans)
    raise InvalidArgument(f"{name}: this parameter cannot be set on the live sorter")


def param_records(engine: SpikeEngine) -> list[PC.SpikeSorterParamCommandRecord]:
    """``SpikeSorterGetParam``: one record per amplifier channel, from the engine's table.

    ``thrWdw`` is ``[pre, post, total]`` seconds with the peak-search margin in the total,
    ``peakWdw`` that margin; ``isSD`` says whether the negative (primary) threshold is kept in
    noise SDs; ``spikeWidthSec`` the channel's ``[min, max]`` seconds at half peak (``[0, inf]``
    = any width).
    """
    params = engine.params
    fs = engine.fs
    margin_pts = params.margin_pts
    records = []
    for row, r in enumerate(engine.params_rows()):
        records.append(
            PC.SpikeSorterParamCommandRecord(
                isEnabled=bool(r["chan_enabled"]),
                ntvChanIdx=int(r["ntv_idx"]),
                thr=[float(v) for v in r["thr"]],
                thrSd=[float(v) for v in r["thr_sd"]],
                thrWdwPts=[int(v) for v in r["thr_wdw_pts"]],
                thrWdw=[float(v) / 1000.0 for v in r["thr_wdw"]],
                shadow=float(r["shadow"]) / 1000.0,
                shadowPts=int(r["shadow_pts"]),
                isSetThr=[bool(v) for v in r["thr_activated"]],
                weakThr=[float(v) for v in r["weak_thr"]],
                weakThrSd=[float(v) for v in r["weak_thr_sd"]],
                isSetWeakThr=[bool(v) for v in r["weak_thr_activated"]],
                peakWdwPts=[margin_pts],
                peakWdw=[margin_pts / fs],
                isSD=bool(params.thr.is_sd[row, NEG]),
                spikeWidthSec=[float(v) for v in params.spike_width_s[row]],
            )
        )
    return records


# --- state and dashboard ----------------------------------------------------------------------


def sorter_state(device: AllegoDevice) -> SS.SpikeSorterState:
    """``SpikeSorterGetState``: the same figures as the radiens.v1 sorter state.

    A live sorter has no pipeline: while streaming it is detecting (sorting when on), and its
    ``fracComplete`` reads 1.
    """
    on = bool(device.spike_engine.sorting)
    streaming = device.streaming
    feeder = device.spike_feeder
    warn = ""
    if feeder is not None and feeder.dropped_samples:
        warn = f"detection fell behind: {feeder.dropped_samples} samples skipped"
    if streaming:
        phase = SS.SORTER_PHASE_SORTING if on else SS.SORTER_PHASE_DETECTING
    else:
        phase = SS.SORTER_PHASE_UNSPECIFIED
    return SS.SpikeSorterState(
        sys=SS.SYS_ON if on else SS.SYS_OFF,
        fracComplete=1.0 if streaming else 0.0,
        msg="sorting" if on else ("detecting" if streaming else "idle"),
        isOn=on,
        errorMsg=feeder.error if feeder is not None else "",
        warnMsg=warn,
        phase=phase,
    )


def dash_elements(request: SS.SpikeSorterDashboardRequest) -> tuple[int, ...]:
    """The requested dashboard elements (none named: all of them).

    Raises
    ------
    InvalidArgument
        For a value ``DashElement`` does not define (proto2 keeps it as an unknown field).
    """
    unknown = unknown_enum_values(request, "dashElements")
    if unknown:
        raise InvalidArgument(f"unknown dashboard element(s) {unknown} (ENABLED_PORTS=1 ... AI=8)")
    return tuple(request.dashElements) or _ALL_DASH_ELEMENTS


class _SiteFigures:
    """Per amplifier channel figures of the dashboard, from one read of the engine."""

    def __init__(self, device: AllegoDevice) -> None:
        engine = device.spike_engine
        amp = device.layout.of_type(StreamSignalType.AMP)
        counts = engine.counts()
        self.units = engine.units()
        self.ntv = np.asarray(counts["ntv_idx"], dtype=np.int64)
        self.ports = [c.port for c in amp]
        row_of = {int(v): r for r, v in enumerate(self.ntv)}
        self.spikes = np.asarray(counts["spike_count"], dtype=np.float64)
        self.labeled = np.asarray(counts["spike_count_labeled"], dtype=np.float64)
        self.noise = np.asarray(counts["noise_sd_uv"], dtype=np.float64)
        self.n_units = np.zeros(self.ntv.size)
        self.snr = np.zeros(self.ntv.size)
        for u in self.units:
            row = row_of[int(u["ntv_idx"])]
            self.n_units[row] += 1
            self.snr[row] = max(self.snr[row], float(u.get("snr", 0.0)))
        self.xy = device.amp_site_xy_um
        start, stop = covered_samples(device)
        self.time_range = [start / device.fs, stop / device.fs]
        self.duration_s = max((stop - start) / device.fs, 1e-9)

    def efficiency(self, mine: np.ndarray) -> float:
        total = float(self.spikes[mine].sum())
        return float(self.labeled[mine].sum()) / total if total else 0.0


def _general(device: AllegoDevice, f: _SiteFigures) -> SS.SpikeSorterDashboardGeneralRec:
    n_sites = int(f.ntv.size)
    active = int((f.spikes > 0).sum())
    n_neurons = len(f.units)
    rec = device.spikes_recorder
    if rec is not None:
        json_path = rec.writer.paths.json
        sink = PC.FileDescriptor(
            path=str(json_path.parent),
            baseName=json_path.name.split(".", 1)[0],
            fileType=PC.SPIKES,
            isLiveRecording=device.recording,
        )
    else:
        sink = PC.FileDescriptor(path="", baseName="", fileType=PC.SPIKES, isLiveRecording=False)
    return SS.SpikeSorterDashboardGeneralRec(
        state=sorter_state(device),
        sorterType=SS.SORTER_SPIKES_STREAM,
        sorterID=LIVE_SORTER_ID,
        datasourceID=LIVE_SORTER_ID,
        timeRange=f.time_range,
        numTotalSites=n_sites,
        numEnabledSites=n_sites,
        numActiveSites=active,
        numNeurons=n_neurons,
        probeYield=active / n_sites if n_sites else 0.0,
        siteYield=n_neurons / active if active else 0.0,
        numSpikesProcessed=int(f.spikes.sum()),
        numSpikesLabeled=int(f.labeled.sum()),
        sortEfficiency=f.efficiency(np.ones(n_sites, dtype=bool)),
        sinkDesc=sink,
    )


def dashboard(device: AllegoDevice, elements: Sequence[int]) -> SS.SpikeSorterDashboardReply:
    """``SpikeSorterGetDashboard`` with the requested elements filled in.

    Statistics are the documented 12-element summary vectors. The hub's sorter does no AI
    tracking, so ``AI`` is left out; ``NEURON_STATS`` has no field of its own in the reply.
    """
    f = _SiteFigures(device)
    port_names = sorted(set(f.ports))
    port_of = np.array(f.ports)
    reply = SS.SpikeSorterDashboardReply()
    wanted = set(elements)
    if SS.ENABLED_PORTS in wanted:
        reply.enabledPorts.extend(cast(PC.Port, PC.Port.Value(p)) for p in port_names)
    if SS.GENERAL in wanted:
        reply.general.CopyFrom(_general(device, f))
    if SS.SITE_STATS in wanted:
        reply.siteStats.CopyFrom(
            SS.IndicoDashboardSiteStats(
                snr=summary_vector(f.snr),
                noise=summary_vector(f.noise),
                neuronYield=summary_vector(f.n_units),
                numNeurons=len(f.units),
            )
        )
    for port in port_names:
        mine = port_of == port
        if SS.PORT_STATS in wanted:
            reply.portStats[port].CopyFrom(
                SS.IndicoDashboardPortStats(
                    snr=summary_vector(f.snr[mine]),
                    noise=summary_vector(f.noise[mine]),
                    neuronYield=summary_vector(f.n_units[mine]),
                    sortEfficiency=f.efficiency(mine),
                    numEnabledSites=int(mine.sum()),
                    numNeurons=int(f.n_units[mine].sum()),
                )
            )
        if SS.SITE_PANEL in wanted:
            rows = np.flatnonzero(mine)
            panel = reply.sitePanel[port]
            panel.ntvChanIdx.extend(int(v) for v in f.ntv[rows])
            panel.snr.extend(float(v) for v in f.snr[rows])
            panel.noise.extend(float(v) for v in f.noise[rows])
            panel.neuronYield.extend(float(v) for v in f.n_units[rows])
            panel.sortEfficiency.extend(
                float(f.labeled[r] / f.spikes[r]) if f.spikes[r] else 0.0 for r in rows
            )
            panel.spikeRate.extend(float(v) / f.duration_s for v in f.spikes[rows])
            panel.posProbeX.extend(float(v) for v in f.xy[rows, 0])
            panel.posProbeY.extend(float(v) for v in f.xy[rows, 1])
            panel.posProbeZ.extend(0.0 for _ in rows)
            panel.siteNum.extend(int(r) for r in rows)
        if SS.NEURON_PANEL in wanted:
            panel_n = reply.neuronPanel[port]
            row_of = {int(v): r for r, v in enumerate(f.ntv)}
            for u in f.units:
                row = row_of[int(u["ntv_idx"])]
                if f.ports[row] != port:
                    continue
                x, y = u.get("pos", (0.0, 0.0))
                panel_n.neuronID.append(neuron_id(int(u["ntv_idx"]), int(u["label"])))
                panel_n.snr.append(float(u.get("snr", 0.0)))
                panel_n.spikeRate.append(int(u["spike_count"]) / f.duration_s)
                panel_n.posProbeX.append(float(x))
                panel_n.posProbeY.append(float(y))
                panel_n.posProbeZ.append(0.0)
                panel_n.siteNum.append(row)
                panel_n.spikeLabel.append(neuron_label(int(u["ntv_idx"]), int(u["label"])))
    return reply
