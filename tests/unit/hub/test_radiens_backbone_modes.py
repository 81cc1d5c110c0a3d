"""The published ``allego.BackboneMode`` values against our ``SystemMode``."""

from __future__ import annotations

import pytest

from radiens_async._generated.allego import allegoserver_pb2
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.radiens.backbone_modes import (
    SIMULATOR_OF,
    BackboneModes,
    backbone_mode_name,
    reported_mode,
    restart_target,
)
from radiens_async.utils.aliases import is_simulator
from radiens_async.utils.enums import SystemMode

PUBLISHED = dict(allegoserver_pb2.BackboneMode.items())


def test_every_published_simulator_mode_runs_on_one_of_ours() -> None:
    sims = {v for name, v in PUBLISHED.items() if name.startswith("SMARTBOX_SIM_")}
    assert set(SIMULATOR_OF) == sims
    for value in sims:
        assert is_simulator(restart_target(value))


@pytest.mark.parametrize("name", [n for n in PUBLISHED if not n.startswith("SMARTBOX_SIM_")])
def test_published_hardware_modes_are_hardware_of_ours_or_refused(name: str) -> None:
    value = PUBLISHED[name]
    if name in SystemMode.__members__:
        # the same number for the same name, and the device refuses it as hardware
        assert restart_target(value) == SystemMode[name] == value
        assert not is_simulator(SystemMode[name])
    else:
        with pytest.raises(FailedPrecondition, match="no XDAQ hardware detected"):
            restart_target(value)


def test_unknown_values_are_invalid() -> None:
    with pytest.raises(InvalidArgument, match="Invalid BackboneMode value: 10"):
        restart_target(10)
    with pytest.raises(InvalidArgument):
        backbone_mode_name(99)


@pytest.mark.parametrize("mode", list(SystemMode))
def test_every_mode_of_ours_is_reported_as_a_published_one(mode: SystemMode) -> None:
    value = reported_mode(mode)
    assert value in PUBLISHED.values()
    if mode.name in PUBLISHED:
        assert value == PUBLISHED[mode.name]
    else:  # our extra simulator modes: the published simulator of the same content
        assert is_simulator(restart_target(value))


class _Configuration:
    """Stands in for the device's simulator object (weakly referenced)."""


def test_a_radiens_restart_is_reported_back_while_its_configuration_lasts() -> None:
    modes, first = BackboneModes(), _Configuration()
    broadband = PUBLISHED["SMARTBOX_SIM_GEN_BROADBAND"]
    spikes = SystemMode.SMARTBOX_SIM_GEN_SPIKES
    modes.restarted(broadband, restart_target(broadband), first)
    assert modes.reported(spikes, first) == broadband
    second = _Configuration()
    modes.reconfigured(first, second)  # a rate change through the Radiens port
    assert modes.reported(spikes, second) == broadband
    assert modes.reported(spikes, _Configuration()) == int(spikes)  # any other change
    assert modes.reported(spikes, second) == int(spikes)  # and it stays forgotten
