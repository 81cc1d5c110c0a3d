"""Short names users type for sensors and system modes, and how they are resolved.

``HEADSTAGE_ALIAS`` and ``PROBE_ALIAS`` are the documented ``radiens.utils`` tables (alias -> ID).
``SYSTEM_MODE_ALIAS`` holds the short mode names of the command line (``'sim-spikes'``,
``'sbpro'`` ...), which the documented ``restart`` example uses but ``SystemMode.parse`` refuses.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Final

from radiens_async.errors import InvalidArgument
from radiens_async.utils.constants import HEADSTAGE_ID_PREFIX, PROBE_ID_PREFIX
from radiens_async.utils.enums import SystemMode

__all__ = [
    "HEADSTAGE_ALIAS",
    "PROBE_ALIAS",
    "SYSTEM_MODE_ALIAS",
    "hardware_name",
    "is_simulator",
    "parse_system_mode",
    "resolve_headstage",
    "resolve_probe",
    "strip_sensor_prefix",
]

HEADSTAGE_ALIAS: Final[dict[str, str]] = {
    "smart-16": "acute_smartlink_A16",
    "smart-32": "chronic_smartlink_CM32",
    "pass-32": "passthrough_32",
    "pass-64": "passthrough_64",
    "chronic-64": "chronic_smartlink_H64",
}
"""Headstage alias -> headstage ID (without the ``hstg__`` prefix)."""

PROBE_ALIAS: Final[dict[str, str]] = {
    "v1x16-16": "v1x16_edge_10mm200_177",
    "4x8-32": "a4x8_5mm100_200_177",
    "8x1tet-32": "a8x1_tet_7mm_200_121",
    "buz-32": "buz32",
    "poly3-32": "a1x32_poly3_8mm50s_177",
    # The documented table spells this alias with a leading space; both spellings work.
    " poly5-32": "a1x32_poly5_6mm35s_100",
    "poly5-32": "a1x32_poly5_6mm35s_100",
    "8x8-64": "a8x8_5mm200_200_413",
    "poly3-64": "v1x64_poly3_10mm25s_177",
    "buz-64": "buz64",
}
"""Probe alias -> probe ID (without the ``probe__`` prefix)."""

SYSTEM_MODE_ALIAS: Final[dict[str, SystemMode]] = {
    "sbpro": SystemMode.SMARTBOX_PRO,
    "sbclassic": SystemMode.SMARTBOX_CLASSIC,
    "sinaps256": SystemMode.SMARTBOX_PRO_SINAPS_256,
    "sinaps512": SystemMode.SMARTBOX_PRO_SINAPS_512,
    "sinaps1024": SystemMode.SMARTBOX_PRO_SINAPS_1024,
    "sim-sine": SystemMode.SMARTBOX_SIM_GEN_SINE,
    "sim-sine-mapped": SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED,
    "sim-sine-high-freq": SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ,
    "sim-sine-multi-band": SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND,
    "sim-spikes": SystemMode.SMARTBOX_SIM_GEN_SPIKES,
    "oe-usb2": SystemMode.OPEN_EPHYS_USB2,
    "open-ephys-usb2": SystemMode.OPEN_EPHYS_USB2,
    "oe-usb3": SystemMode.OPEN_EPHYS_USB3,
    "open-ephys-usb3": SystemMode.OPEN_EPHYS_USB3,
    "intan-usb2": SystemMode.INTAN_USB2,
    "intan1024": SystemMode.INTAN_RECORDING_CONTROLLER_1024,
    "intan512": SystemMode.INTAN_RECORDING_CONTROLLER_512,
    "xdaq-one-rec": SystemMode.XDAQ_ONE_REC,
    "xdaq-one-stim": SystemMode.XDAQ_ONE_STIM,
    "xdaq-core-rec": SystemMode.XDAQ_CORE_REC,
    "xdaq-core-stim": SystemMode.XDAQ_CORE_STIM,
    # The documented ``restart`` docstring lists these misspellings of the ``_rec`` modes.
    "xdaq_one_req": SystemMode.XDAQ_ONE_REC,
    "xdaq_core_req": SystemMode.XDAQ_CORE_REC,
}
"""Short system-mode name -> ``SystemMode`` (hyphens and underscores are interchangeable)."""

_SIMULATORS: Final = frozenset(
    {
        SystemMode.SMARTBOX_SIM_GEN_SINE,
        SystemMode.SMARTBOX_SIM_GEN_SPIKES,
        SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED,
        SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ,
        SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND,
    }
)

_HARDWARE_NAMES: Final[dict[SystemMode, str]] = {
    SystemMode.SMARTBOX_PRO: "SmartBox Pro",
    SystemMode.SMARTBOX_PRO_SINAPS_256: "SmartBox Pro",
    SystemMode.SMARTBOX_PRO_SINAPS_512: "SmartBox Pro",
    SystemMode.SMARTBOX_PRO_SINAPS_1024: "SmartBox Pro",
    SystemMode.SMARTBOX_CLASSIC: "SmartBox Classic",
    SystemMode.OPEN_EPHYS_USB2: "Open Ephys",
    SystemMode.OPEN_EPHYS_USB3: "Open Ephys",
    SystemMode.INTAN_USB2: "Intan RHD USB",
    SystemMode.INTAN_RECORDING_CONTROLLER_1024: "Intan Recording Controller",
    SystemMode.INTAN_RECORDING_CONTROLLER_512: "Intan Recording Controller",
    SystemMode.XDAQ_ONE_REC: "XDAQ",
    SystemMode.XDAQ_ONE_STIM: "XDAQ",
    SystemMode.XDAQ_CORE_REC: "XDAQ",
    SystemMode.XDAQ_CORE_STIM: "XDAQ",
}


def _normalize_mode_name(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


_MODE_BY_NAME: Final[dict[str, SystemMode]] = {
    **{_normalize_mode_name(k): v for k, v in SYSTEM_MODE_ALIAS.items()},
    **{m.name.lower(): m for m in SystemMode},
}


def _mode_hint() -> str:
    names = ", ".join(m.name.lower() for m in SystemMode)
    aliases = ", ".join(k for k in SYSTEM_MODE_ALIAS if "_req" not in k)
    return f" (valid modes: {names}; short names: {aliases})"


def parse_system_mode(mode: object) -> SystemMode:
    """Resolve a system mode given as a member, its value, its name or a short name.

    Parameters
    ----------
    mode : SystemMode, int or str
        A member; its integer value; its name in any case, with ``-`` or ``_``
        (``'smartbox-sim-gen-spikes'``); or a key of :data:`SYSTEM_MODE_ALIAS` (``'sim-spikes'``).

    Returns
    -------
    SystemMode

    Raises
    ------
    InvalidArgument
        (a ``ValueError``) ``"Invalid SystemMode value: <x>"`` followed by the valid names.
    TypeError
        For ``None`` and any type other than a number or a string.

    Examples
    --------
    >>> parse_system_mode('sim-spikes')
    <SystemMode.SMARTBOX_SIM_GEN_SPIKES: 2>
    >>> parse_system_mode('SMARTBOX_PRO'), parse_system_mode(19)
    (<SystemMode.SMARTBOX_PRO: 0>, <SystemMode.SMARTBOX_PRO_SINAPS_512: 19>)
    """
    if isinstance(mode, SystemMode):
        return mode
    if isinstance(mode, numbers.Real):
        try:
            return SystemMode.parse(mode)
        except InvalidArgument:
            raise InvalidArgument(f"Invalid SystemMode value: {mode}{_mode_hint()}") from None
    if isinstance(mode, str):
        found = _MODE_BY_NAME.get(_normalize_mode_name(mode))
        if found is None:
            raise InvalidArgument(f"Invalid SystemMode value: {mode}{_mode_hint()}")
        return found
    raise TypeError(f"Expected int, str, or SystemMode instance, got {type(mode)}.")


def is_simulator(mode: object) -> bool:
    """Whether a system mode is one of the built-in signal simulators.

    Parameters
    ----------
    mode : SystemMode, int or str
        Anything :func:`parse_system_mode` accepts.

    Examples
    --------
    >>> is_simulator('sim-sine'), is_simulator(SystemMode.SMARTBOX_PRO)
    (True, False)
    """
    return parse_system_mode(mode) in _SIMULATORS


def hardware_name(mode: object) -> str:
    """Human name of the device a system mode drives, for "no <device> hardware detected".

    Parameters
    ----------
    mode : SystemMode, int or str
        Anything :func:`parse_system_mode` accepts.

    Returns
    -------
    str
        e.g. ``'SmartBox Pro'``, ``'Intan RHD USB'``, ``'Open Ephys'``, ``'XDAQ'``;
        ``'SmartBox simulator'`` for the simulators.

    Examples
    --------
    >>> hardware_name('intan-usb2')
    'Intan RHD USB'
    """
    return _HARDWARE_NAMES.get(parse_system_mode(mode), "SmartBox simulator")


def strip_sensor_prefix(sensor_id: str) -> str:
    """Remove a leading ``hstg__`` or ``probe__`` prefix (a prefix, never a character set).

    Examples
    --------
    >>> strip_sensor_prefix('probe__buz32'), strip_sensor_prefix('hstg__smartlink_A64')
    ('buz32', 'smartlink_A64')
    """
    for prefix in (HEADSTAGE_ID_PREFIX, PROBE_ID_PREFIX):
        if sensor_id.startswith(prefix):
            return sensor_id[len(prefix) :]
    return sensor_id


def _resolve(name: str, available: Mapping[str, int], aliases: Mapping[str, str], kind: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{kind} ID must be a str, got {type(name)}.")
    if name in aliases:
        return aliases[name]
    wanted = strip_sensor_prefix(name)
    if any(strip_sensor_prefix(sensor_id) == wanted for sensor_id in available):
        return wanted
    raise InvalidArgument(f"{kind} {name} is not an alias nor an available {kind} ID")


def resolve_headstage(name: str, available: Mapping[str, int]) -> str:
    """Resolve a headstage alias or ID to a headstage ID without its ``hstg__`` prefix.

    Parameters
    ----------
    name : str
        A key of :data:`HEADSTAGE_ALIAS` (checked first) or an available headstage ID, with or
        without the ``hstg__`` prefix.
    available : Mapping[str, int]
        Available headstages, ID -> number of channels (IDs with or without the prefix), as in
        ``get_available_sensors()['headstages']``.

    Returns
    -------
    str
        The headstage ID without prefix.

    Raises
    ------
    InvalidArgument
        ``'headstage <name> is not an alias nor an available headstage ID'``.

    Examples
    --------
    >>> resolve_headstage('smart-32', {})
    'chronic_smartlink_CM32'
    >>> resolve_headstage('hstg__smartlink_A64', {'smartlink_A64': 64})
    'smartlink_A64'
    """
    return _resolve(name, available, HEADSTAGE_ALIAS, "headstage")


def resolve_probe(name: str, available: Mapping[str, int]) -> str:
    """Resolve a probe alias or ID to a probe ID without its ``probe__`` prefix.

    Parameters
    ----------
    name : str
        A key of :data:`PROBE_ALIAS` (checked first) or an available probe ID, with or without
        the ``probe__`` prefix.
    available : Mapping[str, int]
        Available probes, ID -> number of channels (IDs with or without the prefix), as in
        ``get_available_sensors()['probes']``.

    Returns
    -------
    str
        The probe ID without prefix.

    Raises
    ------
    InvalidArgument
        ``'probe <name> is not an alias nor an available probe ID'``.

    Examples
    --------
    >>> resolve_probe('4x8-32', {})
    'a4x8_5mm100_200_177'
    >>> resolve_probe('buz32', {'probe__buz32': 32})
    'buz32'
    """
    return _resolve(name, available, PROBE_ALIAS, "probe")
