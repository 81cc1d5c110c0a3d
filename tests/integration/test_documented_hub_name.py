"""The documented ``hub_name`` parameters, ``VidereClient(hub_name)``, ``dashboard()`` and
``CurateClient.spikes()``: the client's own hub is accepted, any other name refused and nothing
done."""

from __future__ import annotations

import pytest

import radiens_async as radiens

pytestmark = pytest.mark.anyio


async def test_other_hub_names_are_refused_and_change_nothing(address: str) -> None:
    async with radiens.AsyncVidereClient(address) as videre:
        ids = await videre.get_dataset_ids(hub_name="default")
        sessions = await videre.summa_list_sessions(hub_name="default")
        for call in (
            lambda: videre.get_dataset_ids(hub_name="rig9"),
            lambda: videre.clear_dataset(dataset_id="all", hub_name="rig9"),
            lambda: videre.summa_clear_sessions(hub_name="rig9"),
            lambda: videre.dashboard(hub_name="rig9"),
            lambda: videre.signal_metrics().get_params(hub_name="rig9"),
        ):
            with pytest.raises(radiens.InvalidArgument, match="rig9"):
                await call()
        assert (await videre.get_dataset_ids()).equals(ids)
        assert await videre.summa_list_sessions() == sessions


async def test_dashboard_prints_the_hub_state(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with radiens.AsyncVidereClient(address) as videre:
        assert await videre.dashboard() is None
        out = capsys.readouterr().out
        assert "serving" in out and "linked datasets:" in out and "Summa sessions:" in out
        assert await videre.dashboard(close=True) is None
        assert capsys.readouterr().out == ""


def test_blocking_videre_client_takes_a_hub_name_or_an_address(address: str) -> None:
    by_address = radiens.VidereClient(address)
    assert by_address.hub_health().serving
    keyword = radiens.VidereClient(address=address)
    assert keyword.get_dataset_ids().equals(by_address.get_dataset_ids())
    with pytest.raises(radiens.InvalidArgument):
        by_address.get_dataset_ids(hub_name="elsewhere")


def test_curate_client_has_the_spikes_api(address: str) -> None:
    curate = radiens.CurateClient(address)
    with pytest.raises(radiens.NotFound):
        curate.spikes().get_spike_timestamps("no_such_dataset")
