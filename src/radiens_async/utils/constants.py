"""Constants of the documented ``radiens.utils.constants`` module, plus the few our hub adds."""

from __future__ import annotations

from typing import Final

__all__ = [
    "COLOR_GROUP_IDX_UNSET",
    "DEFAULT_HUB",
    "DEFAULT_HUB_HOST",
    "DEFAULT_HUB_PORT",
    "HEADSTAGE_ID_PREFIX",
    "LIVE_CLIENT_COMPONENT_ID",
    "PORT_LETTERS",
    "PRIMARY_CACHE_STREAM_GROUP_ID",
    "PROBE_ID_PREFIX",
    "SITE_NUM_UNSET",
    "SORTER_SINK_ID",
    "SPIKE_SORTER_ID",
    "VALID_SAMPLING_FREQS",
]

DEFAULT_HUB: Final = "default"
"""Name of the hub a client uses when no ``hub_name`` is given."""

DEFAULT_HUB_HOST: Final = "127.0.0.1"
"""Loopback address where the ``default`` hub listens."""

DEFAULT_HUB_PORT: Final = 50150
"""Well-known TCP port of the ``default`` hub."""

PRIMARY_CACHE_STREAM_GROUP_ID: Final = "Live Signals"
"""Stream group of the live signals (Allego's primary cache)."""

SPIKE_SORTER_ID: Final = PRIMARY_CACHE_STREAM_GROUP_ID
"""ID of the live spike sorter (the same literal as the live stream group)."""

SORTER_SINK_ID: Final = "sorter-sink:primary_cache"
"""Datasource ID of the live spike sorter's spike sink."""

LIVE_CLIENT_COMPONENT_ID: Final = "allego_python_client"
"""Component ID with which Python clients read the live cache (one shared read cursor)."""

HEADSTAGE_ID_PREFIX: Final = "hstg__"
"""Prefix of headstage IDs on the wire."""

PROBE_ID_PREFIX: Final = "probe__"
"""Prefix of probe IDs on the wire."""

VALID_SAMPLING_FREQS: Final[tuple[int, ...]] = (
    625,
    1000,
    1250,
    1500,
    2000,
    2500,
    3000,
    3333,
    4000,
    5000,
    6250,
    8000,
    10000,
    12500,
    15000,
    20000,
    25000,
    30000,
)
"""The documented sampling frequencies of Allego, in Hz (ascending)."""

PORT_LETTERS: Final[tuple[str, ...]] = ("A", "B", "C", "D", "E", "F", "G", "H")
"""Headstage port letters, in ``Port`` value order."""

SITE_NUM_UNSET: Final = -23
"""``site_num`` of a channel that is not mapped to a probe site."""

COLOR_GROUP_IDX_UNSET: Final = 2147483647
"""``color_group_idx`` of a channel without a colour group."""
