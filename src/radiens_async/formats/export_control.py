"""What an exporter needs from the job running it: a stop flag and a progress callback.

Exporters read their XDAT source in chunks (:func:`sample_chunks`) and call
:meth:`ExportControl.advance` after each one, which raises
:class:`~radiens_async.errors.JobCancelled` once the stop flag is set.

Examples
--------
>>> control = ExportControl()
>>> control.advance(0.5)
>>> control.done_s
0.5
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from radiens_async.errors import JobCancelled
from radiens_async.formats.xdat_reader import XdatReader

__all__ = ["EXPORT_CHUNK_VALUES", "ExportControl", "sample_chunks"]

#: Values (samples x channels) read per chunk by the exporters.
EXPORT_CHUNK_VALUES = 1 << 19


@dataclass
class ExportControl:
    """Cancellation and progress of one export.

    Attributes
    ----------
    stop : threading.Event
        Set to cancel; checked after every chunk.
    on_progress : callable, optional
        Called with the seconds of source exported so far.
    """

    stop: threading.Event = field(default_factory=threading.Event)
    on_progress: Callable[[float], None] | None = None
    done_s: float = 0.0

    def check(self) -> None:
        """Raise :class:`JobCancelled` if the stop flag is set."""
        if self.stop.is_set():
            raise JobCancelled("cancelled")

    def advance(self, seconds: float) -> None:
        """Record ``seconds`` more of source exported, report it, and honour a cancel."""
        self.done_s += seconds
        if self.on_progress is not None:
            self.on_progress(self.done_s)
        self.check()


def sample_chunks(
    reader: XdatReader, chunk_values: int = EXPORT_CHUNK_VALUES
) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` sample windows covering the file, ~``chunk_values`` values each.

    Examples
    --------
    >>> list(sample_chunks(reader, 10))  # doctest: +SKIP
    """
    step = max(1, chunk_values // max(1, reader.n_channels))
    for start in range(0, reader.n_samples, step):
        yield start, min(start + step, reader.n_samples)
