"""Protocol selection against a real hub that serves both protocols: its own ``radiens.v1`` port
and the Radiens ports (``--radiens-ports``). One instrument, two protocols, the same methods."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import radiens_async as radiens
from radiens_async.client.backends.hub_allego import HubAllegoBackend
from radiens_async.errors import NotSupported, RemoteError

from hub_process import HubProcess

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("protocols"), radiens_base_port=0) as process:
        yield process


def _radiens_address(hub: HubProcess) -> str:
    assert hub.radiens_base_port is not None
    return f"127.0.0.1:{hub.radiens_base_port}"


async def test_auto_picks_each_port_s_protocol_and_both_see_one_instrument(
    both: HubProcess,
) -> None:
    over_radiens = radiens.AsyncAllegoClient(_radiens_address(both))
    over_hub = radiens.AsyncAllegoClient(both.address)
    assert over_radiens.protocol is None  # chosen when it connects
    async with over_radiens, over_hub:
        assert over_hub.protocol == "radiens.v1"
        assert over_radiens.protocol not in (None, "radiens.v1")
        assert isinstance(over_hub._backend, HubAllegoBackend)
        assert not isinstance(over_radiens._backend, HubAllegoBackend)
        assert str(over_radiens.address) == _radiens_address(both)
        await over_hub.restart("sim-sine")
        a, b = await over_radiens.get_status(), await over_hub.get_status()
        assert a.system_mode == b.system_mode == radiens.utils.SystemMode.SMARTBOX_SIM_GEN_SINE
        assert a.sample_freq == b.sample_freq
        # what the Radiens protocol lacks is refused by name, nothing is sent
        with pytest.raises(NotSupported, match="get_ground_truth"):
            await over_radiens.get_ground_truth()
        with pytest.raises(NotSupported, match="hub_version"):
            await over_radiens.hub_version()
        assert (await over_hub.get_ground_truth()).model_dump() is not None


async def test_explicit_protocols(both: HubProcess) -> None:
    # the hub protocol on a Radiens port: the hub's error, no fallback
    client = radiens.AsyncAllegoClient(_radiens_address(both), protocol="hub")
    with pytest.raises(RemoteError) as info:
        await client.get_status()
    assert info.value.status == "UNIMPLEMENTED"
    await client.aclose()
    async with radiens.AsyncAllegoClient(_radiens_address(both), protocol="radiens") as client:
        assert (await client.get_channel_metadata()).channels
        assert client.protocol != "radiens.v1"


def test_blocking_client_takes_the_protocol(both: HubProcess, tmp_path: Path) -> None:
    with radiens.AllegoClient(_radiens_address(both), protocol="radiens") as client:
        over_radiens = client.get_stream_loop_dur_ms()
        assert client.protocol not in (None, "radiens.v1")
    with radiens.AllegoClient(both.address, protocol="hub") as client:
        assert client.get_stream_loop_dur_ms() == over_radiens
        assert client.protocol == "radiens.v1"
