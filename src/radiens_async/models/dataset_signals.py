"""Signals of a window of a dataset (or of the live cache), as ``signals().get_signals`` returns.

This is the documented ``Signals`` of the Videre API: one float64 ``channels x samples`` array
per signal type. (The Allego ``get_signals`` polling result is :class:`~radiens_async.models
.signals.Signals`.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.dataset_metadata import TimeRange, make_time_range
from radiens_async.utils.enums import SignalType

__all__ = ["DatasetSignals", "SignalArrays"]


class SignalArrays(NamedTuple):
    """float64 ``(channels, samples)`` arrays per signal type (empty rows for unselected types)."""

    amp: npt.NDArray[np.float64]
    gpio_ain: npt.NDArray[np.float64]
    gpio_din: npt.NDArray[np.float64]
    gpio_dout: npt.NDArray[np.float64]


class DatasetSignals(BaseModel):
    """Samples of a time range: ``signals.amp`` (µV), ``signals.gpio_ain`` (V), digital 0/1.

    ``channel_metadata`` describes the rows, in order (amp rows, then ain, din, dout);
    ``time_range`` / ``TR`` the samples.

    Examples
    --------
    >>> sig = await videre.signals().get_signals([10.0, 11.0], dataset_metadata=meta)
    ... # doctest: +SKIP
    >>> sig.signals.amp.shape, sig.TR.N  # doctest: +SKIP
    ((32, 30000), 30000)
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dsource_id: str
    channel_metadata: ChannelMetadata
    time_range: TimeRange
    signals: SignalArrays = Field(repr=False)

    @property
    def TR(self) -> TimeRange:
        """Alias of :attr:`time_range`."""
        return self.time_range

    @property
    def attributes(self) -> dict[str, Any]:
        """The documented ``attributes``: ``{'dsource_id': ...}``."""
        return {"dsource_id": self.dsource_id}

    def concat(self, other: DatasetSignals) -> DatasetSignals:
        """Append ``other``'s samples; the result spans ``[self.ts0, other.ts1]``.

        Returns a new object (models are immutable here; the documented client changed
        ``self`` in place).

        Raises
        ------
        TypeError
            ``'other must be Signals'``.
        InvalidArgument
            Time ranges that are not contiguous with the same fs, or different channels.

        Examples
        --------
        >>> both = first.concat(second)  # doctest: +SKIP
        """
        if not isinstance(other, DatasetSignals):
            raise TypeError("other must be Signals")
        a, b = self.time_range, other.time_range
        if a.fs != b.fs or a.timestamp[1] != b.timestamp[0]:
            raise InvalidArgument(
                f"time ranges are not able to be concatenated: {a.timestamp.tolist()},"
                f" {b.timestamp.tolist()}"
            )
        for stype in SignalType:
            if self.channel_metadata.index(stype) != other.channel_metadata.index(stype):
                raise InvalidArgument(
                    f"channel metadata for {stype.name.lower()} is not compatible"
                )
        arrays = SignalArrays(
            *(
                np.concatenate((x, y), axis=1)
                for x, y in zip(self.signals, other.signals, strict=True)
            )
        )
        tr = make_time_range(
            timestamp=[a.timestamp[0], b.timestamp[1]], fs=a.fs, walltime=a.walltime
        )
        tr = TimeRange(
            sec=np.array([a.sec[0], b.sec[1]]),
            timestamp=tr.timestamp,
            fs=a.fs,
            dur_sec=float(b.sec[1] - a.sec[0]),
            walltime=a.walltime,
            N=tr.N,
        )
        return self.model_copy(update={"signals": arrays, "time_range": tr})

    def __repr__(self) -> str:
        shapes = {k: v.shape for k, v in self.signals._asdict().items()}
        return (
            "Signals with attribues:\n"
            f"  dsource_id: {self.dsource_id}\n  TR: {self.time_range}\n  signals: {shapes}"
        )

    __str__ = __repr__
