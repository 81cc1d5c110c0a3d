"""Validated arguments that public client methods hand to their backend.

Protocol-neutral: no protobuf here. Each backend turns these into the requests of its own
protocol. The command codes are the documented (and Radiens wire) codes of the spike sorter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from radiens_async.models.signal_selector import SigSelect
from radiens_async.utils.enums import FftWindow, PsdScaling, TrsMode

__all__ = [
    "KilosortPaths",
    "MetricsParam",
    "PsdSettings",
    "SignalWindow",
    "SorterCommand",
    "SorterParam",
    "SpikeStreamStart",
    "StreamStart",
]

StreamStart = Literal["head", "oldest"] | int
"""Where ``stream_signals`` starts: the newest sample, the oldest cached one, or a sample index."""

SpikeStreamStart = Literal["now", "oldest"] | int
"""Where ``spikes().stream()`` starts: new spikes, the oldest held, or a spike sequence number."""


class SorterCommand(enum.IntEnum):
    """Spike sorter commands (the documented codes; Radiens ``SpikeSorterCommand``)."""

    ON = 0
    OFF = 1
    CLEAR_SORT = 2
    REBASE = 4
    INIT = 5


class SorterParam(enum.IntEnum):
    """Spike sorter parameter commands (Radiens ``SpikeSorterParamCommand``).

    The value registers of each: levels ``[neg, pos]`` (neg <= 0) with flags saying which of
    the two to set; windows ``[pre_s, post_s]``; shadow ``[shadow_s, 0]``; activation
    ``[neg_on, pos_on]`` as 1.0 / 0.0.
    """

    THR_LEVEL = 1
    THR_LEVEL_SD = 4
    THR_WDW = 8
    WEAK_THR_LEVEL = 10
    WEAK_THR_LEVEL_SD = 13
    SHADOW = 17
    THR_ACTIVATE = 19
    WEAK_THR_ACTIVATE = 21


MetricsParam = SorterParam
"""The live signal metrics' event parameters use the sorter's codes and registers."""


@dataclass(frozen=True, slots=True)
class SignalWindow:
    """A validated window of signals (of the live cache on an Allego client).

    Attributes
    ----------
    mode : TrsMode
        SUBSET: ``[start, end)``; TO_HEAD: ``[start, head)``; FROM_HEAD: the last ``duration``.
    sec : tuple of float
        The range in seconds: ``(start, end)`` for SUBSET, ``(start,)`` or ``(start, end)`` for
        TO_HEAD, ``(duration,)`` for FROM_HEAD; empty when ``timestamp`` is given or for the
        whole cache / dataset (SUBSET only).
    timestamp : tuple of int
        The range as sample indices ``(start, end)`` (from a ``TimeRange``), instead of ``sec``.
    selection : SigSelect, optional
        Channels by native index (``KeyIndex.NTV``); None: every channel.
    """

    mode: TrsMode
    sec: tuple[float, ...] = ()
    timestamp: tuple[int, ...] = ()
    selection: SigSelect | None = None


@dataclass(frozen=True, slots=True)
class PsdSettings:
    """Validated PSD settings (see ``signals().get_psd``).

    Attributes
    ----------
    freq_range : tuple of float
        ``(low, high)`` in Hz.
    collapse_freq : bool
        Collapse the range into one bin.
    scaling : PsdScaling
    window : FftWindow
    samp_freq : float, optional
        PSD sample rate in Hz (None: the signal's rate).
    freq_resolution : float, optional
        Bin width in Hz (None: the server's default).
    """

    freq_range: tuple[float, float]
    collapse_freq: bool
    scaling: PsdScaling
    window: FftWindow
    samp_freq: float | None = None
    freq_resolution: float | None = None


@dataclass(frozen=True, slots=True)
class KilosortPaths:
    """Where ``convert_kilosort_output`` reads and writes (absolute paths, or '' if not given)."""

    source_bio_path: str
    source_bio_basename: str
    source_vex_path: str
    source_vex_basename: str
    sink_bio_path: str
    sink_bio_basename: str
