"""Recording triggers: a digital channel whose transitions start and stop recordings.

An Allego starts or stops recording on a transition of an enabled trigger channel, a digital
input (``gpio_din``, what the simulator or the rig drives) or a digital output (``gpio_dout``,
driven by ``set_digital_out_manual`` / ``SetDIOManual`` and the DIO pulse and gated modes).
Without ``split_files_by_port`` (which the hub's recording configuration does not have) one
trigger is active at a time: enabling one replaces any other, and disabling any disables all.

What the hub does with an enabled trigger while streaming (:class:`TriggeredRecordings`):

* **Transitions, not levels.** A rising edge (the channel goes from low to high; a digital
  sample is high above 0.5) starts a recording, the next falling edge stops it, so a triggered
  recording holds exactly the samples during which the channel was high: its first sample is
  the sample of the rising edge and its last the sample before the falling edge. The level at
  the first sample a trigger sees (arming it, or a new stream) is its starting point, not an
  edge: a channel that is already high starts nothing until it has gone low and high again.
  This is "a voltage transition on *channel* starts or stops recording" (radiens-core's
  ``enable_trigger``), read the way edge-armed acquisition hardware reads it.
* A triggered recording is an ordinary recording: it uses the recording configuration as
  ``set_recording('on')`` does (the file naming, the index moving on by one, the status of both
  protocols showing it and its file name), and a manual ``set_recording('off')`` stops it. The
  trigger stays armed: the next rising edge starts a new file.
* A rising edge while a recording runs (one started by hand, or this trigger's) starts nothing;
  a falling edge stops only a recording the trigger started, never one started by hand.
* Disabling the trigger (or replacing it by another) while its recording runs stops that
  recording at the newest acquired sample: a recording the trigger owns never outlives it and
  cannot be left running with nothing to end it.
* A recording that cannot start (its directory is gone, its name exists) leaves acquisition
  untouched; the status reports the error as it reports any recording error, and the next
  rising edge tries again.

The edge detector (:class:`TriggerWatcher`) is a sink of the acquisition loop, registered only
while a trigger is enabled and the device streams (so a device without an enabled trigger does
no work per block, as the stim bank's digital-input hook is installed only while a channel
listens to an input). It runs in the acquisition thread, looks at one row of each block and
hands edges to the hub's event loop, where recordings are started and stopped: file creation
and closing never run on the acquisition thread. The recorder starts from the edge sample,
which is still in the live cache (it backfills from there), and :class:`RecordingGate` cuts
the blocks it forwards at the falling edge, which the acquisition thread knows first, so the
recording ends at that exact sample however late the event loop acts.

Plain domain code: no gRPC.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound, RadiensError
from radiens_async.hub.daq.channel_layout import ChannelLayout, StreamSignalType

if TYPE_CHECKING:
    from radiens_async.hub.daq.acquisition_loop import AcquisitionLoop, BlockSink
    from radiens_async.hub.daq.recorder import Recorder
    from radiens_async.hub.daq.signal_cache import SignalCache

log = logging.getLogger(__name__)

PORTS: Final = ("A", "B", "C", "D", "E", "F", "G", "H")
MAX_TRIGGER_NTV: Final = 15
"""Trigger channels are digital inputs and outputs with ntv index 0..15."""
HIGH_ABOVE: Final = 0.5
"""A digital sample (0.0 / 1.0 in the stream) is high above this."""
KEPT_FALLS: Final = 256
"""Falling edges a watcher remembers for the recordings it gates (many per block at most)."""


@dataclass(frozen=True, slots=True)
class RecordingTrigger:
    """One enabled trigger: a digital input or output and the port whose recording it drives."""

    signal_type: StreamSignalType
    ntv_idx: int
    port: str = "A"


class RecordingTriggers:
    """The enabled recording triggers of a device with ``n_din`` inputs and ``n_dout`` outputs.

    Examples
    --------
    >>> triggers = RecordingTriggers(n_din=2, n_dout=2)
    >>> triggers.enable(StreamSignalType.DIN, 1)
    >>> [(t.signal_type.name, t.ntv_idx, t.port) for t in triggers.enabled]
    [('DIN', 1, 'A')]
    """

    def __init__(self, n_din: int = 2, n_dout: int = 2) -> None:
        self._counts = {StreamSignalType.DIN: n_din, StreamSignalType.DOUT: n_dout}
        self._enabled: tuple[RecordingTrigger, ...] = ()
        self.on_change: Callable[[], None] | None = None
        """Called (in the caller's thread) after every change of the enabled triggers."""

    def _set(self, enabled: tuple[RecordingTrigger, ...]) -> None:
        self._enabled = enabled
        if self.on_change is not None:
            self.on_change()

    @property
    def enabled(self) -> tuple[RecordingTrigger, ...]:
        return self._enabled

    def resize(self, n_din: int, n_dout: int) -> None:
        """A new layout: triggers on channels it no longer has are disabled."""
        self._counts = {StreamSignalType.DIN: n_din, StreamSignalType.DOUT: n_dout}
        self._set(tuple(t for t in self._enabled if t.ntv_idx < self._counts[t.signal_type]))

    def _checked(self, signal_type: StreamSignalType, ntv_idx: int, port: str) -> RecordingTrigger:
        if signal_type not in self._counts:
            raise InvalidArgument(
                f"a recording trigger is a digital input or output, not {signal_type.name}"
            )
        if isinstance(ntv_idx, bool) or not isinstance(ntv_idx, int):
            raise InvalidArgument(f"trigger channel index must be an int, got {ntv_idx!r}")
        if not 0 <= ntv_idx <= MAX_TRIGGER_NTV:
            raise InvalidArgument(
                f"trigger channel index must be in 0..{MAX_TRIGGER_NTV}, got {ntv_idx}"
            )
        n = self._counts[signal_type]
        if ntv_idx >= n:
            kind = "digital input" if signal_type == StreamSignalType.DIN else "digital output"
            raise NotFound(f"no {kind} {ntv_idx} on this device (it has ntv 0..{n - 1})")
        if port not in PORTS:
            raise InvalidArgument(f"unknown port {port!r}; expected one of {', '.join(PORTS)}")
        return RecordingTrigger(signal_type, ntv_idx, port)

    def enable(self, signal_type: StreamSignalType, ntv_idx: int, port: str = "A") -> None:
        """Enable a trigger channel; it replaces any other (one trigger at a time).

        Raises
        ------
        InvalidArgument
            Not a digital channel, an index out of 0..15, an unknown port.
        NotFound
            The device has no such channel.
        """
        self._set((self._checked(signal_type, ntv_idx, port),))

    def disable(self, signal_type: StreamSignalType, ntv_idx: int, port: str = "A") -> None:
        """Disable a trigger channel: every trigger (one trigger at a time), once validated."""
        self._checked(signal_type, ntv_idx, port)
        self._set(())

    def disable_all(self) -> None:
        self._set(())

    # -- snapshots ----------------------------------------------------------------------------
    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"signal_type": t.signal_type.name, "ntv_idx": t.ntv_idx, "port": t.port}
            for t in self._enabled
        ]

    def checked_list(self, saved: Sequence[Mapping[str, Any]]) -> tuple[RecordingTrigger, ...]:
        """Validate saved triggers for this device (ones on missing channels are dropped)."""
        out = []
        try:
            for t in saved:
                stype = StreamSignalType[str(t["signal_type"])]
                ntv, port = int(t["ntv_idx"]), str(t["port"])
                if stype in self._counts and ntv < self._counts[stype]:
                    out.append(self._checked(stype, ntv, port))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"malformed recording triggers: {exc!r}") from exc
        return tuple(out[-1:])  # one trigger at a time

    def apply(self, triggers: tuple[RecordingTrigger, ...]) -> None:
        self._set(triggers)


# -- the live trigger ------------------------------------------------------------------------
Edge = tuple[int, bool]
"""``(sample index, level from that sample on)``: one transition of a trigger channel."""


def level_changes(row: npt.NDArray[np.float32], previous: bool) -> list[tuple[int, bool]]:
    """Offsets in ``row`` at which a digital channel changes level, with the new level.

    ``previous`` is its level at the sample before ``row``. A block without a transition (the
    common case) costs one comparison and one reduction.

    Examples
    --------
    >>> level_changes(np.array([0, 1, 1, 0], np.float32), previous=False)
    [(1, True), (3, False)]
    >>> level_changes(np.array([1, 1], np.float32), previous=True)
    []
    """
    high = row > HIGH_ABOVE
    if high.all() if previous else not high.any():
        return []
    levels = np.concatenate(([previous], high))
    at = np.flatnonzero(levels[1:] != levels[:-1])
    return [(int(i), bool(high[i])) for i in at]


class TriggerWatcher:
    """The acquisition-loop sink that finds the edges of one trigger channel.

    Parameters
    ----------
    trigger : RecordingTrigger
        The trigger it watches.
    row : int
        The channel's row in the stream (its sys index).
    post : callable
        Called in the acquisition thread with the edges of a block that has any; it must
        return at once (it hands them to the event loop).
    """

    def __init__(
        self, trigger: RecordingTrigger, row: int, post: Callable[[list[Edge]], object]
    ) -> None:
        self.trigger = trigger
        self.row = row
        self._post = post
        self._level: bool | None = None
        self.falls: tuple[int, ...] = ()
        """The latest falling edges (replaced as a whole, so any thread may read it)."""
        self._broken = False

    def __call__(self, block: npt.NDArray[np.float32], first_sample: int) -> None:
        if self._broken or block.shape[1] == 0:
            return
        try:
            row = block[self.row]
            if self._level is None:  # the first sample seen is the starting level, no edge
                self._level = bool(row[0] > HIGH_ABOVE)
            changes = level_changes(row, self._level)
            if not changes:
                return
            self._level = changes[-1][1]
            edges = [(first_sample + i, high) for i, high in changes]
            falls = tuple(s for s, high in edges if not high)
            if falls:
                self.falls = (self.falls + falls)[-KEPT_FALLS:]
            self._post(edges)
        except Exception:  # acquisition must go on (the loop would stop on an exception)
            log.exception("recording trigger %s failed; it stops watching", self.trigger)
            self._broken = True

    def first_fall_after(self, sample: int) -> int | None:
        """The first falling edge after ``sample`` this watcher has seen, if any."""
        falls = self.falls  # ascending
        at = bisect.bisect_right(falls, sample)
        return falls[at] if at < len(falls) else None


class RecordingGate:
    """Forwards blocks to a triggered recording up to the falling edge that ends it.

    The falling edge is found in the acquisition thread (the watcher runs before every other
    sink of a block), so the gate cuts the very block that holds it, before the event loop
    has even heard of it.
    """

    def __init__(self, watcher: TriggerWatcher, start_sample: int) -> None:
        self.start_sample = start_sample
        self._watcher = watcher
        self._stop: int | None = None
        self._lock = threading.Lock()  # the event loop may end it while a block passes

    def stop_sample(self) -> int | None:
        """The sample the recording ends before (None while the channel is still high)."""
        with self._lock:
            if self._stop is None:
                self._stop = self._watcher.first_fall_after(self.start_sample)
            return self._stop

    def end_at(self, sample: int) -> int:
        """End the recording before ``sample`` at the latest; the sample it ends before."""
        with self._lock:
            if self._stop is None:
                self._stop = self._watcher.first_fall_after(self.start_sample)
            if self._stop is None or sample < self._stop:
                self._stop = max(sample, self.start_sample)
            return self._stop

    def wrap(self, offer: BlockSink) -> BlockSink:
        """``offer`` (a recorder's) behind this gate: what the acquisition loop calls."""

        def gated(block: npt.NDArray[np.float32], first_sample: int) -> None:
            stop = self.stop_sample()
            if stop is None:
                offer(block, first_sample)
            elif stop > first_sample:
                offer(block[:, : stop - first_sample], first_sample)

        return gated


class TriggerHost(Protocol):
    """What :class:`TriggeredRecordings` needs of the device (an :class:`AllegoDevice`)."""

    cache: SignalCache | None
    layout: ChannelLayout
    recorder: Recorder | None

    @property
    def acquisition_loop(self) -> AcquisitionLoop | None: ...

    def start_recording(
        self,
        *,
        start_sample: int | None = None,
        gate: Callable[[BlockSink], BlockSink] | None = None,
    ) -> None: ...

    def stop_recording(self) -> Recorder | None: ...

    def note_recording_error(self, message: str) -> None: ...


_FALLBACK_WORKER: ThreadPoolExecutor | None = None
_FALLBACK_LOCK = threading.Lock()


def _poster() -> Callable[..., object]:
    """How the acquisition thread hands edges on: to the running event loop (the hub's, where
    every device call runs), or, with none (a script or test driving the device directly),
    to one worker thread that handles them in order."""
    try:
        return asyncio.get_running_loop().call_soon_threadsafe
    except RuntimeError:
        global _FALLBACK_WORKER
        with _FALLBACK_LOCK:
            if _FALLBACK_WORKER is None:
                _FALLBACK_WORKER = ThreadPoolExecutor(1, thread_name_prefix="radiens-triggers")
            return _FALLBACK_WORKER.submit


class TriggeredRecordings:
    """Starts and stops the device's recordings on the edges of the enabled trigger.

    :meth:`arm` follows the trigger and the stream: the device calls it whenever the stream
    starts or stops, and :class:`RecordingTriggers` whenever the enabled trigger changes.
    Every method runs in the thread that drives the device (the hub's event loop); the
    watcher's edges arrive there through the loop. See the module docstring for the rules.

    Examples
    --------
    >>> recordings = TriggeredRecordings(device.outputs.triggers, device)  # doctest: +SKIP
    >>> device.outputs.triggers.on_change = recordings.arm  # doctest: +SKIP
    """

    def __init__(self, triggers: RecordingTriggers, host: TriggerHost) -> None:
        self._triggers = triggers
        self._host = host
        self._watcher: TriggerWatcher | None = None
        self._loop: AcquisitionLoop | None = None  # the loop the watcher is a sink of
        self._own: tuple[Recorder, RecordingGate] | None = None

    @property
    def watcher(self) -> TriggerWatcher | None:
        """The armed watcher (None: no trigger enabled, or not streaming)."""
        return self._watcher

    @property
    def triggered_recorder(self) -> Recorder | None:
        """The running recording the trigger started, if any."""
        own = self._own
        if own is None or self._host.recorder is not own[0]:
            return None
        return own[0]

    def arm(self) -> None:
        """Watch the enabled trigger on the current stream (or nothing, when either is off)."""
        loop = self._host.acquisition_loop
        wanted = self._triggers.enabled[-1] if self._triggers.enabled else None
        current = self._watcher
        if current is not None and current.trigger == wanted and self._loop is loop:
            return
        self._disarm()
        if wanted is None or loop is None:
            return
        row = self._row(wanted)
        post = _poster()

        def hand_on(edges: list[Edge]) -> None:
            try:
                post(self._on_edges, watcher, edges)
            except RuntimeError:  # the event loop is closed: the hub is shutting down
                log.warning("recording trigger edges at %s dropped: no event loop", edges)

        watcher = TriggerWatcher(wanted, row, hand_on)
        # first among the sinks: a gate must know a block's falling edge before it forwards it
        loop.sinks = (watcher, *loop.sinks)
        self._watcher, self._loop = watcher, loop

    def _disarm(self) -> None:
        watcher, loop = self._watcher, self._loop
        self._watcher = self._loop = None
        if watcher is not None and loop is not None:
            loop.sinks = tuple(s for s in loop.sinks if s is not watcher)
        self._end_own(None)  # a recording the trigger started does not outlive it

    def _row(self, trigger: RecordingTrigger) -> int:
        for ch in self._host.layout.of_type(trigger.signal_type):
            if ch.ntv_idx == trigger.ntv_idx:
                return ch.sys_idx
        raise NotFound(f"the device has no channel for trigger {trigger}")  # resize prevents it

    # -- on the event loop ----------------------------------------------------------------
    def _on_edges(self, watcher: TriggerWatcher, edges: Sequence[Edge]) -> None:
        if watcher is not self._watcher:
            return  # disarmed (or a new stream) since: these edges belong to no trigger now
        for sample, high in edges:
            if high:
                self._start(watcher, sample)
            else:
                self._end_own(sample)

    def _start(self, watcher: TriggerWatcher, sample: int) -> None:
        host = self._host
        cache = host.cache
        if host.recorder is not None or cache is None:
            return  # already recording: a rising edge starts nothing more
        start = max(sample, cache.oldest)
        if start != sample:  # the event loop was late by a whole cache: say what was lost
            log.warning(
                "trigger edge at sample %d left the cache; recording from %d", sample, start
            )
        gate = RecordingGate(watcher, start)
        try:
            host.start_recording(start_sample=start, gate=gate.wrap)
        except RadiensError as exc:
            host.note_recording_error(f"recording trigger {_name(watcher.trigger)}: {exc}")
            return
        except Exception as exc:  # never let a failing start take the trigger down
            log.exception("recording trigger %s could not start a recording", watcher.trigger)
            host.note_recording_error(
                f"recording trigger {_name(watcher.trigger)}: recording not started: {exc!r}"
            )
            return
        if host.recorder is not None:
            self._own = (host.recorder, gate)

    def _end_own(self, sample: int | None) -> None:
        """Stop the trigger's recording before ``sample`` (None: the newest sample)."""
        own = self._own
        if own is None:
            return
        self._own = None
        recorder, gate = own
        host = self._host
        cache = host.cache
        if host.recorder is not recorder or cache is None:
            return  # stopped by hand already (a falling edge never stops a manual recording)
        stop = gate.end_at(cache.head if sample is None else sample)
        # samples up to the edge that the recorder has not been offered yet are in the cache
        offered = recorder.start_sample + recorder.recorded_samples
        if offered < stop:
            window = cache.read(offered, stop)
            if window.n_samples:
                recorder.offer(window.data, window.first_sample)
        host.stop_recording()


def _name(trigger: RecordingTrigger) -> str:
    kind = "din" if trigger.signal_type == StreamSignalType.DIN else "dout"
    return f"{kind}_{trigger.ntv_idx}"


def check_streaming_start(streaming: bool, cache: SignalCache | None, sample: int) -> SignalCache:
    """The cache a recording starting at past ``sample`` reads from.

    Raises
    ------
    FailedPrecondition
        Not streaming.
    InvalidArgument
        ``sample`` is not in the live cache.
    """
    if not streaming or cache is None:
        raise FailedPrecondition("a recording can start at an acquired sample only while streaming")
    if not cache.oldest <= sample <= cache.head:
        raise InvalidArgument(
            f"start sample {sample} is not in the live cache [{cache.oldest}, {cache.head}]"
        )
    return cache
