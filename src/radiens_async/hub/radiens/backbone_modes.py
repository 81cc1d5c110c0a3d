"""``allego.BackboneMode`` <-> our :class:`SystemMode`: which simulator a Radiens restart runs,
and which backbone mode the Radiens ports report.

The numbers agree wherever both enums have a mode (0-2, 4-9, 13-19). The rest differ:

* Published simulator modes we have no simulator of our own for run on the nearest one:
  ``SMARTBOX_SIM_GEN_LFP`` (24) on ``smartbox_sim_gen_sine_multi_band`` (sines in the delta ..
  high-gamma bands), ``SMARTBOX_SIM_GEN_BROADBAND`` (25, "LFP plus spikes") and
  ``SMARTBOX_SIM_DATASOURCE`` (3, playback of a recording; the hub has no replay source yet) on
  ``smartbox_sim_gen_spikes`` (units over a 1.5-90 Hz background).
* ``XDAQ_GEN2_*`` (20-23) are hardware modes our enum lacks: refused like every hardware mode.
* Our ``smartbox_sim_gen_sine_mapped`` / ``_high_freq`` / ``_multi_band`` (10-12) are not in the
  published enum (a proto2 enum is closed: an unknown value cannot even be sent), so they are
  reported as what they simulate: ``SMARTBOX_SIM_GEN_SINE`` for the two single-sine modes,
  ``SMARTBOX_SIM_GEN_LFP`` for the multi-band one.

A mode restarted through the Radiens ports is reported back as asked (:class:`BackboneModes`
remembers it while the device keeps the configuration that restart made).
"""

from __future__ import annotations

import weakref
from typing import Final

from radiens_async._generated.allego import allegoserver_pb2
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.utils.enums import SystemMode

_BM = allegoserver_pb2

SIMULATOR_OF: Final[dict[int, SystemMode]] = {
    _BM.SMARTBOX_SIM_GEN_SINE: SystemMode.SMARTBOX_SIM_GEN_SINE,
    _BM.SMARTBOX_SIM_GEN_SPIKES: SystemMode.SMARTBOX_SIM_GEN_SPIKES,
    _BM.SMARTBOX_SIM_DATASOURCE: SystemMode.SMARTBOX_SIM_GEN_SPIKES,
    _BM.SMARTBOX_SIM_GEN_LFP: SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND,
    _BM.SMARTBOX_SIM_GEN_BROADBAND: SystemMode.SMARTBOX_SIM_GEN_SPIKES,
}
"""Published simulator mode -> the simulator mode of ours it runs on."""

_REPORTED_AS: Final[dict[SystemMode, int]] = {
    SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED: _BM.SMARTBOX_SIM_GEN_SINE,
    SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ: _BM.SMARTBOX_SIM_GEN_SINE,
    SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND: _BM.SMARTBOX_SIM_GEN_LFP,
}

# hardware modes of the published enum that our SystemMode does not have
_GEN2_HARDWARE: Final = frozenset(
    {_BM.XDAQ_GEN2_ONE_STIM, _BM.XDAQ_GEN2_CORE_STIM, _BM.XDAQ_GEN2_ONE_REC, _BM.XDAQ_GEN2_CORE_REC}
)


def backbone_mode_name(value: int) -> str:
    """The lower-case published name of a backbone mode value (``'smartbox_sim_gen_lfp'``).

    Raises
    ------
    InvalidArgument
        For a value the published enum does not have.
    """
    try:
        return str(allegoserver_pb2.BackboneMode.Name(value)).lower()
    except ValueError:
        raise InvalidArgument(f"Invalid BackboneMode value: {value}") from None


def restart_target(value: int) -> SystemMode:
    """The :class:`SystemMode` a ``Restart`` into backbone mode ``value`` asks the device for.

    Hardware modes our enum has are returned as they are: the device refuses them ("no ...
    hardware detected") and changes nothing.

    Raises
    ------
    InvalidArgument
        An unknown backbone mode value.
    FailedPrecondition
        An ``xdaq_gen2_*`` mode (hardware our enum has no member for).

    Examples
    --------
    >>> restart_target(24)
    <SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND: 12>
    """
    name = backbone_mode_name(value)
    if value in SIMULATOR_OF:
        return SIMULATOR_OF[value]
    if value in _GEN2_HARDWARE:
        raise FailedPrecondition(
            f"no XDAQ hardware detected: cannot restart in {name}; use a smartbox_sim_* mode"
        )
    return SystemMode(value)


def reported_mode(mode: SystemMode) -> int:
    """The backbone mode value reported for a device running ``mode`` (no Radiens restart known).

    Examples
    --------
    >>> reported_mode(SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ)
    1
    """
    return _REPORTED_AS.get(mode, int(mode))


class BackboneModes:
    """The backbone mode the Radiens ports report, remembering what a Radiens restart asked for.

    A restart into ``smartbox_sim_gen_broadband`` runs ``smartbox_sim_gen_spikes``; it is
    reported as ``smartbox_sim_gen_broadband`` for as long as the device keeps the configuration
    that restart made. A configuration is told by its simulator object: the device builds a new
    one on every restart, workspace switch, rate or sensor change. The Radiens port carries the
    request over its own rate and sensor changes (:meth:`reconfigured`); after any other change
    the device's own mode is reported (the nearest published one), which is what really runs.

    Examples
    --------
    >>> Sim = type("Sim", (), {})  # any object that can be weakly referenced
    >>> sim = Sim()
    >>> modes = BackboneModes()
    >>> modes.restarted(25, SystemMode.SMARTBOX_SIM_GEN_SPIKES, sim)
    >>> modes.reported(SystemMode.SMARTBOX_SIM_GEN_SPIKES, sim)
    25
    >>> modes.reported(SystemMode.SMARTBOX_SIM_GEN_SPIKES, Sim())
    2
    """

    def __init__(self) -> None:
        self._asked: tuple[int, weakref.ref[object]] | None = None

    def restarted(self, value: int, mode: SystemMode, configuration: object) -> None:
        """A Radiens ``Restart`` into ``value`` left the device in ``mode`` as ``configuration``."""
        keep = reported_mode(mode) != value
        self._asked = (value, weakref.ref(configuration)) if keep else None

    def reconfigured(self, before: object, after: object) -> None:
        """The Radiens port changed the rate or a sensor: ``after`` continues ``before``."""
        asked = self._asked
        if asked is not None and asked[1]() is before:
            self._asked = (asked[0], weakref.ref(after))

    def reported(self, mode: SystemMode, configuration: object) -> int:
        """The backbone mode value to report for a device running ``mode`` as ``configuration``."""
        asked = self._asked
        if asked is not None and asked[1]() is configuration:
            return asked[0]
        self._asked = None
        return reported_mode(mode)
