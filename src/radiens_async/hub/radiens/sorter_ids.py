"""The names an Allego gives its one live spike sorter and the sorter's spike sink.

An Allego runs exactly one sorter, on the live stream. ``AllegoCore.GetSpikeSorterIDs`` lists its
ID (radiens-core takes the first as the default sorter); the Neurons1 calls name it in their
requests. radiens 4.0.1 sends an empty sorter ID, which an Allego reads as "the live sorter".
Spikes are read from the sorter's sink datasource (``SpikesGetSpikesRequest.dsourceID``).
Anything else is a sorter or datasource this hub does not have: NOT_FOUND.
"""

from __future__ import annotations

from typing import Final

from radiens_async.errors import NotFound
from radiens_async.utils.constants import SORTER_SINK_ID, SPIKE_SORTER_ID

LIVE_SORTER_ID: Final = SPIKE_SORTER_ID
"""The live sorter's ID ("Live Signals", the live stream group's, as on an Allego)."""

LIVE_SORTER_IDS: Final = (LIVE_SORTER_ID,)
"""What ``GetSpikeSorterIDs`` answers: the live sorter, running or not."""

_SORTER_NAMES: Final = frozenset({"", LIVE_SORTER_ID})
_SPIKES_SOURCE_NAMES: Final = frozenset({SORTER_SINK_ID, LIVE_SORTER_ID})

__all__ = [
    "LIVE_SORTER_ID",
    "LIVE_SORTER_IDS",
    "SORTER_SINK_ID",
    "check_sorter_id",
    "check_spikes_source",
]


def check_sorter_id(sorter_id: str) -> None:
    """Refuse a sorter ID other than the live sorter's (or empty, as 4.0.1 sends).

    Raises
    ------
    NotFound
        For any other ID.

    Examples
    --------
    >>> check_sorter_id("Live Signals")
    >>> check_sorter_id("offline-7")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    radiens_async.errors.NotFound: unknown spike sorter 'offline-7': ...
    """
    if sorter_id not in _SORTER_NAMES:
        raise NotFound(
            f"unknown spike sorter {sorter_id!r}: this Allego runs one live sorter, "
            f"{LIVE_SORTER_ID!r}"
        )


def check_spikes_source(dsource_id: str) -> None:
    """Refuse a spikes datasource other than the live sorter's sink (or the sorter itself).

    Raises
    ------
    NotFound
        For any other ID.

    Examples
    --------
    >>> check_spikes_source("sorter-sink:primary_cache")
    """
    if dsource_id not in _SPIKES_SOURCE_NAMES:
        raise NotFound(
            f"unknown spikes datasource {dsource_id!r}: the live sorter's spikes are in "
            f"{SORTER_SINK_ID!r}"
        )
