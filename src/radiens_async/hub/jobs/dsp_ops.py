"""The documented Curate operations as plain values, and the plan each one makes for a file.

An operation (``BandPass(300, 6000)``, ``SliceTime(0.5, 10)`` ...) is what a client asks for;
:func:`plan_for` checks it against the source file's metadata (sampling rate, channels, time
range) and returns the :class:`~radiens_async.hub.jobs.file_pipeline.DspPlan` the pipeline runs.
Every documented rule is checked here, before any work: a refused operation raises
:class:`~radiens_async.errors.InvalidArgument` with a message naming the value and the rule.

Channel indices: ``PairedDiff`` and ``VirtualRef`` name amplifier channels by their native index
(``ntv_idx``); ``SliceChannels`` names channels by system index (``sys_idx``), GPIO included, and
removes them (the documented behaviour).

Examples
--------
>>> BASE_NAMES[type(BandPass(300.0, 6000.0))]
'bp_filter'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from radiens_async.dsp.filters import (
    anti_alias_sos,
    band_pass_sos,
    band_stop_sos,
    high_pass_sos,
    low_pass_sos,
    notch_sos,
)
from radiens_async.dsp.slicing import kept_columns, time_slice_samples
from radiens_async.errors import InvalidArgument
from radiens_async.formats.xdat_metadata import XdatChannel, XdatMetadata
from radiens_async.hub.jobs.chunk_transforms import (
    ChunkTransform,
    CommonAverageReference,
    PairedDifference,
    SosFilter,
    VirtualReference,
)
from radiens_async.hub.jobs.file_pipeline import DspPlan

__all__ = [
    "BASE_NAMES",
    "BandPass",
    "BandStop",
    "CommonAverage",
    "Decimate",
    "DspOp",
    "HighPass",
    "LowPass",
    "Notch",
    "PairedDiff",
    "SliceChannels",
    "SliceTime",
    "VirtualRef",
    "plan_for",
]


@dataclass(frozen=True)
class LowPass:
    cutoff_hz: float


@dataclass(frozen=True)
class HighPass:
    cutoff_hz: float


@dataclass(frozen=True)
class BandPass:
    low_hz: float
    high_hz: float


@dataclass(frozen=True)
class BandStop:
    low_hz: float
    high_hz: float


@dataclass(frozen=True)
class Notch:
    freq_hz: float
    bandwidth_hz: float


@dataclass(frozen=True)
class PairedDiff:
    source_chan: int
    ref_chan: int


@dataclass(frozen=True)
class VirtualRef:
    ref_chan: int


@dataclass(frozen=True)
class CommonAverage:
    pass


MAX_DECIMATION_FACTOR = 10_000
"""Largest factor the order-8 Chebyshev anti-alias filter is designed accurately for: its poles
come within 2e-5 of the unit circle there; near 1e8 the design breaks (DC gain off, singular
initial conditions)."""


@dataclass(frozen=True)
class Decimate:
    factor: int


@dataclass(frozen=True)
class SliceTime:
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SliceChannels:
    channels: tuple[int, ...]


DspOp = (
    LowPass
    | HighPass
    | BandPass
    | BandStop
    | Notch
    | PairedDiff
    | VirtualRef
    | CommonAverage
    | Decimate
    | SliceTime
    | SliceChannels
)

#: Protocol base name of each operation (the job id is ``<base name>__xxxx-xxxx``).
BASE_NAMES: dict[type, str] = {
    LowPass: "lp_filter",
    HighPass: "hp_filter",
    BandPass: "bp_filter",
    BandStop: "bs_filter",
    Notch: "notch_filter",
    PairedDiff: "paired_diff",
    VirtualRef: "virtual_ref",
    CommonAverage: "CAR",
    Decimate: "decimate",
    SliceTime: "slice_time_0",
    SliceChannels: "slice_chan_0",
}


def _analog_rows(channels: Sequence[XdatChannel]) -> list[int]:
    return [i for i, ch in enumerate(channels) if ch.signal_type in ("amp", "ain")]


def _amp_rows(channels: Sequence[XdatChannel]) -> list[int]:
    return [i for i, ch in enumerate(channels) if ch.signal_type == "amp"]


def _amp_row_of(ntv_idx: int, channels: Sequence[XdatChannel], what: str) -> int:
    if isinstance(ntv_idx, bool) or not isinstance(ntv_idx, int):
        raise InvalidArgument(f"{what} must be an integer channel index, not {ntv_idx!r}")
    for row, ch in enumerate(channels):
        if ch.signal_type == "amp" and ch.ntv_idx == ntv_idx:
            return row
    known = sorted(ch.ntv_idx for ch in channels if ch.signal_type == "amp")
    span = f"{known[0]}..{known[-1]}" if known else "none"
    raise InvalidArgument(
        f"unknown {what} {ntv_idx}: the file's amplifier channels have native indices {span}"
    )


def _transform_for(op: DspOp, md: XdatMetadata) -> ChunkTransform | None:
    fs, chans = md.fs, md.channels
    analog = _analog_rows(chans)
    amp = _amp_rows(chans)
    if isinstance(op, LowPass):
        return SosFilter(low_pass_sos(op.cutoff_hz, fs), analog)
    if isinstance(op, HighPass):
        return SosFilter(high_pass_sos(op.cutoff_hz, fs), analog)
    if isinstance(op, BandPass):
        return SosFilter(band_pass_sos(op.low_hz, op.high_hz, fs), analog)
    if isinstance(op, BandStop):
        return SosFilter(band_stop_sos(op.low_hz, op.high_hz, fs), analog)
    if isinstance(op, Notch):
        return SosFilter(notch_sos(op.freq_hz, op.bandwidth_hz, fs), analog)
    if isinstance(op, PairedDiff):
        src = _amp_row_of(op.source_chan, chans, "source_chan")
        ref = _amp_row_of(op.ref_chan, chans, "ref_chan")
        if src == ref:
            raise InvalidArgument(f"source_chan and ref_chan are the same channel ({op.ref_chan})")
        return PairedDifference(src, ref)
    if isinstance(op, VirtualRef):
        return VirtualReference(_amp_row_of(op.ref_chan, chans, "ref_chan"), amp)
    if isinstance(op, CommonAverage):
        if not amp:
            raise InvalidArgument("the file has no amplifier channels to re-reference")
        return CommonAverageReference(amp)
    if isinstance(op, Decimate):
        _check_decimation(op.factor)
        return SosFilter(anti_alias_sos(op.factor), analog)
    return None


def _check_decimation(factor: object) -> None:
    """Refuse a factor the anti-alias filter cannot be designed for."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise InvalidArgument(f"decimation factor must be an integer >= 2, got {factor!r}")
    if factor > MAX_DECIMATION_FACTOR:
        raise InvalidArgument(
            f"decimation factor must be in [2, {MAX_DECIMATION_FACTOR}] (the anti-alias "
            f"filter's design limit), got {factor}"
        )


def _check_decimated_length(factor: int, n_samples: int, fs: float) -> None:
    """Refuse a factor that leaves the target fewer than 2 samples."""
    most = n_samples // 2
    if factor > most:
        raise InvalidArgument(
            f"decimation factor {factor} leaves fewer than 2 of the source's {n_samples} "
            f"samples ({n_samples / fs:g} s at {fs:g} Hz)"
            + (f"; use at most {most}" if most >= 2 else "")
        )


def plan_for(op: DspOp, md: XdatMetadata) -> DspPlan:
    """Check ``op`` against the source metadata and build the pipeline's plan.

    Parameters
    ----------
    op : DspOp
        The requested operation.
    md : XdatMetadata
        The source file's metadata.

    Returns
    -------
    DspPlan

    Raises
    ------
    InvalidArgument
        If a frequency is not in ``(0, fs/2)``, a band is reversed, a bandwidth is not
        positive, the decimation factor is not an int in ``[2, MAX_DECIMATION_FACTOR]`` or leaves
        the target under 2 samples, a slice is reversed or outside the
        file, a channel index is unknown, or the samples are too few for the filter.

    Examples
    --------
    >>> plan_for(Decimate(3), md).out_fs  # doctest: +SKIP
    10000.0
    """
    if md.n_samples == 0:
        raise InvalidArgument("the source file holds no samples")
    columns = list(range(md.n_channels))
    i0, i1 = 0, md.n_samples
    factor = 1
    out_channels = list(md.channels)
    if isinstance(op, SliceTime):
        i0, i1 = time_slice_samples(op.start_s, op.end_s, md.t_range, md.fs, md.n_samples)
    elif isinstance(op, SliceChannels):
        columns = kept_columns([ch.sys_idx for ch in md.channels], list(op.channels))
        out_channels = [md.channels[c] for c in columns]
    transform = _transform_for(op, md)  # checks the operation's own parameters first
    if isinstance(transform, SosFilter) and i1 - i0 < transform.min_samples:
        raise InvalidArgument(
            f"the source holds {i1 - i0} samples; this filter needs at least "
            f"{transform.min_samples}"
        )
    if isinstance(op, Decimate):
        factor = int(op.factor)  # in [2, MAX_DECIMATION_FACTOR] (checked with its filter)
        _check_decimated_length(factor, i1 - i0, md.fs)
    first = md.timestamp_range[0] + i0
    out_first = first if factor == 1 else round(first / factor)
    return DspPlan(
        columns=columns,
        start=i0,
        stop=i1,
        transforms=[transform] if transform is not None else [],
        factor=factor,
        out_fs=md.fs / factor,
        out_channels=out_channels,
        out_first_sample=out_first,
        out_start_time=md.start_time + timedelta(seconds=i0 / md.fs),
        extras=md.extras,
    )
