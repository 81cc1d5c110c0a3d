"""The live sorter's spikes as the Radiens ``Neurons1`` replies carry them.

Rasters (``SpikeSorterGetRasterData``), dense spikes (``BiointerfaceGetSpikesDense``), neurons
(``BiointerfaceGetNeurons``) and the spikes spec (``SpikesGetSpec``), read from the same
:class:`~radiens_async.hub.spikes.SpikeEngine` store the radiens.v1 Neurons service reads.

Conventions (what radiens-core 0.1.2 reads):

* Timestamps are stream sample indices (int64). A reply's ``timeRange`` / ``timeStampRange`` are
  the same range in seconds and in samples, so radiens-core's linear interpolation of one onto the
  other gives each spike's time exactly.
* Time ranges in requests are seconds ``[start, stop]``; ``[dur, NaN]`` looks back ``dur`` seconds
  from the head and ``[start, inf]`` runs to the head. They are clipped to what the live cache
  covers; one entirely outside it is OUT_OF_RANGE.
* The hub's sorter labels units per channel (1..K on each channel, 0 = unsorted). On the wire a
  neuron label is unique over the probe: ``ntv_idx * 100 + unit`` (0 stays 0), its ``neuronID``
  ``"ch<ntv>-u<unit>"``.
* Dense waveforms are float32 rows, one per spike (the hub detects on one site, so an event has
  one row, ``siteNtvChanIdx`` = its channel), channel by channel in the order asked, each
  channel's block at ``rowOffset`` (radiens-core's layout; 4.0.1 read the transposed layout).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from google.protobuf import unknown_fields
from google.protobuf.message import Message
from numpy.typing import NDArray

from radiens_async._generated.allego import biointerface_pb2, common_pb2, spikesorter_pb2
from radiens_async.errors import InvalidArgument, OutOfRange
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.radiens.sorter_ids import (
    LIVE_SORTER_ID,
    check_sorter_id,
    check_spikes_source,
)
from radiens_async.hub.servicers.neurons_service import NEIGHBOR_RADIUS_UM
from radiens_async.hub.spikes.online_sorter import MAX_UNITS
from radiens_async.hub.spikes.spike_engine import SpikeBatch, SpikeEngine
from radiens_async.hub.spikes.spike_params import NEG, POS
from radiens_async.hub.summary_stats import summary_vector

BI = biointerface_pb2
SS = spikesorter_pb2

LABELS_PER_CHANNEL: Final = 100
"""Probe-wide neuron label = ntv index * this + unit label (the unit label is < this)."""
assert MAX_UNITS < LABELS_PER_CHANNEL

_WAVEFORM_MODES: Final = frozenset({BI.Spikes, BI.SpikeWaveforms})
_ALL_SPIKES: Final = 2**31 - 1
SPIKE_BYTES_NO_WAVEFORM: Final = 8 + 4 + 4  # sample index, channel, label


# --- labels -----------------------------------------------------------------------------------


def neuron_label(ntv_idx: int, unit: int) -> int:
    """The probe-wide label of unit ``unit`` on channel ``ntv_idx`` (0 for unsorted spikes).

    Examples
    --------
    >>> neuron_label(3, 2), neuron_label(3, 0)
    (302, 0)
    """
    return ntv_idx * LABELS_PER_CHANNEL + unit if unit else 0


def neuron_labels(ntv_idx: NDArray[Any], unit: NDArray[Any]) -> NDArray[np.int32]:
    """:func:`neuron_label` of each spike."""
    ntv = ntv_idx.astype(np.int64)
    return np.where(unit > 0, ntv * LABELS_PER_CHANNEL + unit, 0).astype(np.int32)


def neuron_id(ntv_idx: int, unit: int) -> str:
    """The ``neuronID`` of unit ``unit`` on channel ``ntv_idx``.

    Examples
    --------
    >>> neuron_id(3, 2)
    'ch3-u2'
    """
    return f"ch{ntv_idx}-u{unit}"


# --- request checks ---------------------------------------------------------------------------


def unknown_enum_values(message: Message, field: str) -> list[int]:
    """Values of a repeated enum ``field`` the enum does not define.

    proto2 parses such a value into the message's unknown fields, so the field itself never
    shows it; this looks there.
    """
    number = message.DESCRIPTOR.fields_by_name[field].number
    found = unknown_fields.UnknownFieldSet(message)
    return [int(found[i].data) for i in range(len(found)) if found[i].field_number == number]


def check_channels(engine: SpikeEngine, ntv_idxs: Sequence[int]) -> list[int]:
    """The amplifier channels named (all of them, in ntv order, when none are).

    Raises
    ------
    InvalidArgument
        If one is not an amplifier channel of the live stream.
    """
    known = engine.ntv_idxs.tolist()
    if not ntv_idxs:
        return sorted(known)
    unknown = sorted(set(ntv_idxs) - set(known))
    if unknown:
        more = " ..." if len(unknown) > 10 else ""
        raise InvalidArgument(
            f"unknown amplifier channel(s) {unknown[:10]}{more}: the live stream has "
            f"{len(known)} amplifier channels"
        )
    return list(ntv_idxs)


def covered_samples(device: AllegoDevice) -> tuple[int, int]:
    """``[start, stop)`` stream samples the live cache covers (``(0, 0)`` before streaming)."""
    cache = device.cache
    if cache is None:
        return (0, 0)
    return (int(cache.oldest), int(cache.head))


def resolve_range(device: AllegoDevice, seconds: Sequence[float], what: str) -> tuple[int, int]:
    """``[start, stop)`` samples of a request's ``[start, stop]`` seconds (see module notes).

    Raises
    ------
    InvalidArgument
        For a malformed range (not two values, NaN start, negative, reversed).
    OutOfRange
        For a range the live cache does not reach at all.
    """
    if len(seconds) != 2:
        raise InvalidArgument(f"{what} must be [start, stop] seconds, got {list(seconds)}")
    t0, t1 = float(seconds[0]), float(seconds[1])
    fs = device.fs
    first, head = covered_samples(device)
    if math.isnan(t1):
        if not (math.isfinite(t0) and t0 > 0):
            raise InvalidArgument(f"{what} look-back [dur, NaN] needs dur > 0 s, got {t0!r}")
        return (max(first, head - round(t0 * fs)), head)
    if not math.isfinite(t0) or t0 < 0 or t1 < t0:
        raise InvalidArgument(
            f"{what} must be [start, stop] seconds with 0 <= start <= stop, got [{t0}, {t1}]"
        )
    if device.cache is None:
        raise OutOfRange(f"{what} [{t0}, {t1}] s: nothing has been acquired yet")
    s0 = round(t0 * fs)
    s1 = head if math.isinf(t1) else round(t1 * fs)
    if s0 > head or s1 < first:
        raise OutOfRange(
            f"{what} [{t0}, {t1}] s is outside the live cache [{first / fs}, {head / fs}] s"
        )
    return (max(s0, first), min(s1, head))


def _check_enum(message: Message, field: str, enum: Any) -> int:
    value = getattr(message, field)
    if not message.HasField(field) or value not in enum.values():
        names = ", ".join(f"{k}={v}" for k, v in enum.items())
        raise InvalidArgument(f"{field}: unknown value ({names})")
    return int(value)


# --- rasters ----------------------------------------------------------------------------------


def _color_group(unit: int, row: int, n_units: int) -> BI.NeuronColorGroupData:
    return BI.NeuronColorGroupData(
        colorGroupIdxNeuron=unit,
        colorGroupIdxChannel=row,
        posColorGroup=unit,
        sizeColorGroup=n_units + 1,  # the units of the channel and its unsorted bin
    )


def raster_reply(
    device: AllegoDevice, request: SS.SpikeSorterGetRasterDataRequest
) -> SS.SpikeSorterRasterDataReply:
    """``SpikeSorterGetRasterData``: every spike in the range, one ``SpikeTimestamp`` each.

    CHANNELS mode labels a spike with its channel, NEURONS mode with its neuron label; ``dataIdxs``
    is the raster row it is drawn on (the channel's, or the neuron's, position in the reply).
    With no ``timeRange``, the last ``timeWindow`` seconds (0: all the cache covers). The hub
    keeps no GPIO trace with the spikes: ``GPIOData`` is empty, ``GPIOShape`` [0, 0].
    """
    check_sorter_id(request.spikeSorterID)
    mode = _check_enum(request, "mode", SS.RasterMode)
    if not (math.isfinite(request.timeWindow) and request.timeWindow >= 0):
        raise InvalidArgument(f"timeWindow must be >= 0 s, got {request.timeWindow!r}")
    if not (math.isfinite(request.plotWidthPoints) and request.plotWidthPoints >= 0):
        raise InvalidArgument(f"plotWidthPoints must be >= 0, got {request.plotWidthPoints!r}")
    engine = device.spike_engine
    chans = check_channels(engine, list(request.ntvChanIdx))
    if request.timeRange:
        start, stop = resolve_range(device, list(request.timeRange), "timeRange")
    elif request.timeWindow > 0:
        start, stop = resolve_range(device, [request.timeWindow, math.nan], "timeWindow")
    else:
        start, stop = covered_samples(device)
    batch = engine.rasters(start, stop)
    keep = np.isin(batch.channel, chans)
    if request.labeledOnly:
        keep &= batch.label > 0
    channel, unit, sample = batch.channel[keep], batch.label[keep], batch.sample_index[keep]
    labels = neuron_labels(channel, unit)
    amp_row = {int(v): r for r, v in enumerate(engine.ntv_idxs)}
    n_units = engine.counts()["num_units"]
    if mode == SS.CHANNELS:
        drawn = {c: i for i, c in enumerate(chans)}
        wire_label, line = channel, [drawn[int(c)] for c in channel]
    else:
        drawn = {int(v): i for i, v in enumerate(np.unique(labels))}
        wire_label, line = labels, [drawn[int(v)] for v in labels]
    groups: dict[tuple[int, int], BI.NeuronColorGroupData] = {}
    stamps = []
    for k in range(sample.size):
        c, u = int(channel[k]), int(unit[k])
        group = groups.get((c, u))
        if group is None:
            row = amp_row[c]
            group = groups[(c, u)] = _color_group(u, row, int(n_units[row]))
        stamps.append(
            BI.SpikeTimestamp(
                spikeTimestamp=int(sample[k]),
                neuronColorGroupData=group,
                label=int(wire_label[k]),
                dataIdxs=[line[k]],
            )
        )
    fs = device.fs
    return SS.SpikeSorterRasterDataReply(
        spikeTimestamps=stamps,
        timeRange=[start / fs, stop / fs],
        timeStampRange=[start, stop],
        GPIOData=b"",
        GPIOShape=[0, 0],
    )


# --- dense spikes -----------------------------------------------------------------------------


def _spikes_between(engine: SpikeEngine, start: int, stop: int, chans: Sequence[int]) -> SpikeBatch:
    """Held spikes with waveforms, ``start <= sample < stop``, on ``chans``."""
    batch = engine.recent(start, np.asarray(chans, dtype=np.int64), _ALL_SPIKES)
    n = int(np.searchsorted(batch.sample_index, stop, side="left"))
    return SpikeBatch(
        batch.sample_index[:n],
        batch.channel[:n],
        batch.label[:n],
        batch.waveform[:n],
        batch.seq,
        0,
        batch.detected_ns[:n],
        batch.next_seq,
    )


def dense_reply(
    device: AllegoDevice, request: BI.SpikesGetSpikesRequest
) -> BI.SpikesSpikeDataDenseReply:
    """``BiointerfaceGetSpikesDense``: the spikes of each channel in the range, as dense rows.

    ``maxSpikesPerChannel`` > 0 keeps each channel's newest that many (<= 0: all);
    ``spikeLabels`` keeps those neuron labels. Modes ``Spikes`` and ``SpikeWaveforms`` carry
    waveforms (unless ``spikeComp`` is given without ``CWaveform``); ``SpikeTimestamps`` and
    ``SpikeTimes`` carry labels and timestamps only.
    """
    check_spikes_source(request.dsourceID)
    if request.HasField("spkSortID"):
        check_sorter_id(request.spkSortID)
    mode = _check_enum(request, "mode", BI.NeuronsSignalMode)
    unknown = unknown_enum_values(request, "spikeComp")
    if unknown:
        raise InvalidArgument(f"spikeComp: unknown component(s) {unknown} (CTimestamp=0 ...)")
    engine = device.spike_engine
    chans = check_channels(engine, list(request.ntvChanIdx))
    start, stop = resolve_range(device, [request.timeStart, request.timeStop], "timeStart/Stop")
    comps = set(request.spikeComp)
    with_waves = mode in _WAVEFORM_MODES and (not comps or BI.CWaveform in comps)
    cap = request.maxSpikesPerChannel if request.maxSpikesPerChannel > 0 else None
    batch = _spikes_between(engine, start, stop, chans)
    labels = neuron_labels(batch.channel, batch.label)
    if request.spikeLabels:
        wanted = np.isin(labels, np.asarray(request.spikeLabels))
    else:
        wanted = np.ones(labels.size, dtype=bool)
    amp_row = {int(v): r for r, v in enumerate(engine.ntv_idxs)}
    n_units = engine.counts()["num_units"]
    descriptors = []
    blocks: list[NDArray[np.float32]] = []
    offset = total = 0
    for c in chans:
        idx = np.flatnonzero((batch.channel == c) & wanted)
        if cap is not None:
            idx = idx[-cap:]
        waves = batch.waveform[idx] if with_waves else np.zeros((idx.size, 0), np.float32)
        row = amp_row[c]
        units = sorted(set(batch.label[idx].tolist()))
        n_rows = int(idx.size) if with_waves else 0
        descriptors.append(
            BI.SpikeDataDenseChannelDescriptor(
                ntvChanIdx=c,
                labels=labels[idx].tolist(),
                neuronColorGroupData=[_color_group(u, row, int(n_units[row])) for u in units],
                waveformMaxValue=float(waves.max()) if waves.size else 0.0,
                waveformMinValue=float(waves.min()) if waves.size else 0.0,
                rowOffset=offset,
                numRows=n_rows,
                siteNtvChanIdx=[c],
                timestamps=batch.sample_index[idx].tolist(),
            )
        )
        if n_rows:
            blocks.append(waves)
        offset += n_rows
        total += int(idx.size)
    data = np.concatenate(blocks).astype("<f4").tobytes() if blocks else b""
    fs = device.fs
    return BI.SpikesSpikeDataDenseReply(
        timeRange=[start / fs, stop / fs],
        waveformNPoints=engine.n_pts if with_waves else 0,
        totalNSpikes=total,
        channelDescriptors=descriptors,
        data=data,
    )


# --- neurons ----------------------------------------------------------------------------------


def _descriptor(
    ntv: int, unit: int, count: int, duration_s: float, info: dict[str, Any] | None, xy: Any
) -> BI.NeuronDescriptor:
    return BI.NeuronDescriptor(
        neuronID=neuron_id(ntv, unit),
        siteNtvChanIdx=ntv,
        spikeLabel=str(neuron_label(ntv, unit)),
        posProbe=[float(xy[0]), float(xy[1]), 0.0],
        spikeCount=count,
        spikeRate=count / duration_s,
        meanAbsPeakWfm=float(info["mean_abs_peak_waveform"]) if info else 0.0,
        snr=float(info["snr"]) if info else 0.0,
    )


def _unit_counts(batch: SpikeBatch) -> dict[tuple[int, int], int]:
    pairs, counts = np.unique(
        np.stack([batch.channel.astype(np.int64), batch.label.astype(np.int64)]),
        axis=1,
        return_counts=True,
    )
    return {(int(c), int(u)): int(n) for (c, u), n in zip(pairs.T, counts, strict=True)}


def neurons_reply(
    device: AllegoDevice, request: BI.BiointerfaceGetNeuronsRequest
) -> BI.BiointerfaceGetNeuronsReply:
    """``BiointerfaceGetNeurons``: per site, its units and unsorted bin with counts in the range.

    Each site lists the units the sorter holds on it (spike counts and rates over the requested
    range, all the cache covers by default) and, when it has unsorted spikes there, the ``0`` bin.
    """
    check_spikes_source(request.dsourceID)
    engine = device.spike_engine
    chans = check_channels(engine, list(request.ntvChanIdx))
    if request.timeRange:
        start, stop = resolve_range(device, list(request.timeRange), "timeRange")
    else:
        start, stop = covered_samples(device)
    fs = device.fs
    duration_s = max((stop - start) / fs, 1e-9)
    counts = _unit_counts(engine.rasters(start, stop))
    amp_row = {int(v): r for r, v in enumerate(engine.ntv_idxs)}
    n_units = engine.counts()["num_units"]
    info = {(int(u["ntv_idx"]), int(u["label"])): u for u in engine.units()}
    xy = device.amp_site_xy_um
    reply = BI.BiointerfaceGetNeuronsReply()
    for c in chans:
        row = amp_row[c]
        units = sorted(u for (ch, u) in info if ch == c)
        if counts.get((c, 0)):
            units = [0, *units]
        site = reply.site[c]
        for u in units:
            n = counts.get((c, u), 0)
            site.neuron.append(_descriptor(c, u, n, duration_s, info.get((c, u)), xy[row]))
            site.neuronColorGroupData.append(_color_group(u, row, int(n_units[row])))
        site.chunk.timeRange.extend([start / fs, stop / fs])
        site.chunk.spikeRate.extend(d.spikeRate for d in site.neuron)
    return reply


# --- spikes spec ------------------------------------------------------------------------------


def _time_range(start: int, stop: int, fs: float) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(
        timeRangeSec=[start / fs, stop / fs], timestamp=[start, stop], fs=fs
    )


def _armed(levels: Sequence[float], armed: Sequence[bool], slot: int) -> float:
    """A threshold as the spec reports it: +/-inf where that polarity is not armed."""
    if armed[slot]:
        return float(levels[slot])
    return -math.inf if slot == NEG else math.inf


def spec_reply(device: AllegoDevice, request: SS.SpikeSorterStandardRequest) -> BI.SpikesSpecReply:
    """``SpikesGetSpec``: the live sorter's spikes set: sites, thresholds, neighbours, units.

    Counts are since the sorter was last cleared (``spikeCountSite`` / ``spikeRateSite``: ``[all,
    labeled]``); ``spikeTR`` is the range of the spikes held.
    """
    check_sorter_id(request.spikeSorterID)
    engine = device.spike_engine
    fs = device.fs
    counts = engine.counts()
    units = engine.units()
    held = engine.rasters(0, np.iinfo(np.int64).max)
    start, stop = covered_samples(device)
    duration_s = max((stop - start) / fs, 1e-9)
    ntv = [int(v) for v in counts["ntv_idx"]]
    xy = device.amp_site_xy_um
    spikes = np.asarray(counts["spike_count"], dtype=np.float64)
    labeled = np.asarray(counts["spike_count_labeled"], dtype=np.float64)
    unlabeled = np.asarray(counts["spike_count_unlabeled"], dtype=np.float64)
    noise = np.asarray(counts["noise_sd_uv"], dtype=np.float64)
    n_units = np.asarray(counts["num_units"], dtype=np.float64)
    by_site: dict[int, list[dict[str, Any]]] = {c: [] for c in ntv}
    snr = np.zeros(len(ntv))
    for u in units:
        by_site[int(u["ntv_idx"])].append(u)
    sites = []
    for row, (c, r) in enumerate(zip(ntv, engine.params_rows(), strict=True)):
        d = np.hypot(*(xy - xy[row]).T)
        near = np.flatnonzero((d <= NEIGHBOR_RADIUS_UM) & (np.arange(len(ntv)) != row))
        mine = by_site[c]
        snr[row] = max((float(u["snr"]) for u in mine), default=0.0)
        sites.append(
            BI.SpikesSiteSpec(
                ntvChanIdx=c,
                neighbor=BI.NeighborDescriptor(
                    radius=NEIGHBOR_RADIUS_UM,
                    ntvChanIdx=[ntv[k] for k in near],
                    distance=d[near].tolist(),
                    num=int(near.size),
                    SiteCenterUm=[float(xy[row, 0]), float(xy[row, 1]), 0.0],
                ),
                isEnabled=bool(r["chan_enabled"]),
                posProbe=[float(xy[row, 0]), float(xy[row, 1]), 0.0],
                # [all, labeled]
                spikeCountSite=[float(spikes[row]), float(labeled[row])],
                spikeRateSite=[float(spikes[row]) / duration_s, float(labeled[row]) / duration_s],
                noiseLevelSd=float(noise[row]),
                snrSite=float(snr[row]),
                neuron=[
                    _descriptor(c, int(u["label"]), int(u["spike_count"]), duration_s, u, xy[row])
                    for u in mine
                ],
                numNeurons=len(mine),
                compLen=BI.SpikeComponentShape(waveform=[engine.n_pts]),
                tR=_time_range(start, stop, fs),
                posThresholdUv=_armed(r["thr"], r["thr_activated"], POS),
                negThresholdUv=_armed(r["thr"], r["thr_activated"], NEG),
                posThresholdSd=_armed(r["thr_sd"], r["thr_activated"], POS),
                negThresholdSd=_armed(r["thr_sd"], r["thr_activated"], NEG),
            )
        )
    n_held = int(held.sample_index.size)
    spike_span = (
        (int(held.sample_index[0]), int(held.sample_index[-1]) + 1) if n_held else (start, start)
    )
    checksum = zlib.crc32(
        np.asarray([device.epoch, engine.epoch, engine.next_seq, n_held], np.int64).tobytes()
        + held.label.tobytes()
    )
    return BI.SpikesSpecReply(
        biointerfaceID=LIVE_SORTER_ID,
        datasetUID=f"live-stream-{device.epoch}",
        checksum=f"{checksum:08x}",
        persistDur=(spike_span[1] - spike_span[0]) / fs,
        numNeurons=len(units),
        numSites=len(ntv),
        sizeBytes=n_held * (SPIKE_BYTES_NO_WAVEFORM + 4 * engine.n_pts),
        enabledSiteNtvChanIdx=ntv,
        site=sites,
        siteStats=BI.SpikesSiteStats(
            spikeCountStats=summary_vector(spikes),
            labeledSpikeCountStats=summary_vector(labeled),
            unlabeledSpikeCountStats=summary_vector(unlabeled),
            spikeRateStats=summary_vector(spikes / duration_s),
            labeledSpikeRateStats=summary_vector(labeled / duration_s),
            unlabeledSpikeRateStats=summary_vector(unlabeled / duration_s),
            siteNoiseStats=summary_vector(noise),
            siteSnrStats=summary_vector(snr),
            neuronStats=summary_vector(n_units),
        ),
        bioType=BI.BIO_SPIKES_STREAM,
        neighborhoodRadiusUm=NEIGHBOR_RADIUS_UM,
        tR=_time_range(start, stop, fs),
        spikeTR=_time_range(spike_span[0], spike_span[1], fs),
    )
