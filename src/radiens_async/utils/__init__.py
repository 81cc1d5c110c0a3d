"""The documented ``radiens.utils`` surface: enums, constants and aliases.

Examples
--------
>>> from radiens_async.utils import HEADSTAGE_ALIAS, SignalType
>>> HEADSTAGE_ALIAS['smart-32'], SignalType.parse('amp')
('chronic_smartlink_CM32', <SignalType.AMP: 0>)
"""

from __future__ import annotations

from radiens_async.utils import aliases, constants, enums
from radiens_async.utils.aliases import (
    HEADSTAGE_ALIAS,
    PROBE_ALIAS,
    SYSTEM_MODE_ALIAS,
    hardware_name,
    is_simulator,
    parse_system_mode,
    resolve_headstage,
    resolve_probe,
    strip_sensor_prefix,
)
from radiens_async.utils.constants import (
    COLOR_GROUP_IDX_UNSET,
    DEFAULT_HUB,
    DEFAULT_HUB_HOST,
    DEFAULT_HUB_PORT,
    HEADSTAGE_ID_PREFIX,
    LIVE_CLIENT_COMPONENT_ID,
    PORT_LETTERS,
    PRIMARY_CACHE_STREAM_GROUP_ID,
    PROBE_ID_PREFIX,
    SITE_NUM_UNSET,
    SORTER_SINK_ID,
    SPIKE_SORTER_ID,
    VALID_SAMPLING_FREQS,
)
from radiens_async.utils.enums import (
    ClientType,
    DioMode,
    FftWindow,
    KeyIndex,
    MetricMode,
    MetricName,
    Port,
    PsdScaling,
    RadiensEnum,
    RadiensFileType,
    RadiensService,
    RasterMode,
    RecordMode,
    SignalType,
    SignalUnits,
    StatsVector,
    StreamMode,
    SummaryStats,
    SystemMode,
    TrsMode,
    WorkspaceApp,
)

__all__ = [
    "COLOR_GROUP_IDX_UNSET",
    "DEFAULT_HUB",
    "DEFAULT_HUB_HOST",
    "DEFAULT_HUB_PORT",
    "HEADSTAGE_ALIAS",
    "HEADSTAGE_ID_PREFIX",
    "LIVE_CLIENT_COMPONENT_ID",
    "PORT_LETTERS",
    "PRIMARY_CACHE_STREAM_GROUP_ID",
    "PROBE_ALIAS",
    "PROBE_ID_PREFIX",
    "SITE_NUM_UNSET",
    "SORTER_SINK_ID",
    "SPIKE_SORTER_ID",
    "SYSTEM_MODE_ALIAS",
    "VALID_SAMPLING_FREQS",
    "ClientType",
    "DioMode",
    "FftWindow",
    "KeyIndex",
    "MetricMode",
    "MetricName",
    "Port",
    "PsdScaling",
    "RadiensEnum",
    "RadiensFileType",
    "RadiensService",
    "RasterMode",
    "RecordMode",
    "SignalType",
    "SignalUnits",
    "StatsVector",
    "StreamMode",
    "SummaryStats",
    "SystemMode",
    "TrsMode",
    "WorkspaceApp",
    "aliases",
    "constants",
    "enums",
    "hardware_name",
    "is_simulator",
    "parse_system_mode",
    "resolve_headstage",
    "resolve_probe",
    "strip_sensor_prefix",
]

_LAZY = {
    "TimeRange": "radiens_async.models.dataset_metadata",
    "make_time_range": "radiens_async.models.dataset_metadata",
    "SigSelect": "radiens_async.models.signal_selector",
    "make_signal_selector": "radiens_async.models.signal_selector",
}


def __getattr__(name: str) -> object:
    # the documented radiens.utils helpers live with their models; imported on first use
    # because the models import this package's enums
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
