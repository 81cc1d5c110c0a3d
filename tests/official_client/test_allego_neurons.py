"""radiens-core's own AllegoClient on the hub's Neurons1 port: sorter IDs, commands, state,
dashboard, detection parameters.

Each result is checked against what our own client reads through radiens.v1 on the same hub.
Run only inside a private network namespace (radiens-core always dials localhost:50051-50055)::

    unshare --net bash -c 'ip link set lo up; cd /work/main; RADIENS_OFFLINE=1 \\
        python -m pytest -q -p no:cacheprovider tests/official_client/test_allego_neurons.py'
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pytest
from radiens_core import AllegoClient as RadiensCoreAllego
from radiens_core.exceptions import ServerCommunicationError
from radiens_core.models.spikesorter import (
    DashElement,
    SpikeDetectParams,
    SpikeSorterCommand,
    SpikeSorterStateSystem,
    SpikeSorterType,
)

import radiens_async

from hub_process import HubProcess


@pytest.fixture(scope="module")
def rc(radiens_hub: HubProcess) -> Iterator[RadiensCoreAllego]:
    with RadiensCoreAllego() as client:
        yield client


@pytest.fixture
def ours(radiens_hub: HubProcess) -> Iterator[radiens_async.AllegoClient]:
    """Our own blocking client on radiens.v1, the instrument reset to the default simulator."""
    with radiens_async.AllegoClient(radiens_hub.address) as client:
        client.set_recording("off")
        client.set_streaming("off")
        client.restart("smartbox_sim_gen_spikes")
        yield client


@pytest.fixture
def sorter_id(rc: RadiensCoreAllego) -> str:
    return rc.get_default_spike_sorter_id()


def test_spike_sorter_ids(rc: RadiensCoreAllego, ours: radiens_async.AllegoClient) -> None:
    live = ours.spikes().get_spikes_metadata().id
    assert rc.get_spike_sorter_ids() == [live] == ["Live Signals"]
    assert rc.get_default_spike_sorter_id() == live


def test_command_on_off_and_state(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    ours.set_streaming("on")
    try:
        rc.spike_sorter_command(cmd="off")  # the default sorter
        state = rc.get_spike_sorter_state(sorter_id)
        mine = ours.spike_sorter().get_state()
        assert state.sys == SpikeSorterStateSystem.OFF and not state.is_on
        assert mine.mode == "SYS_OFF" and not mine.is_on and state.msg == mine.message
        rc.spike_sorter_command(sorter_id, SpikeSorterCommand.ON)
        state = rc.get_spike_sorter_state(sorter_id)
        mine = ours.spike_sorter().get_state()
        assert state.sys == SpikeSorterStateSystem.ON and state.is_on
        assert mine.mode == "SYS_ON" and mine.is_on
        assert state.msg == mine.message and state.frac_complete == mine.frac_complete
        assert state.error_msg == mine.kernel_err_message
        rc.spike_sorter_command(sorter_id, "on", sub_cmd="detect_only")
        assert not ours.spike_sorter().get_state().is_on
        ours.spike_sorter().set_sorting("on")
        assert rc.get_spike_sorter_state(sorter_id).is_on
    finally:
        ours.set_streaming("off")
    # as on an Allego, ON needs a stream; nothing changes
    before = ours.spike_sorter().get_state().mode
    with pytest.raises(ServerCommunicationError, match="streaming is off"):
        rc.spike_sorter_command(sorter_id, "on")
    assert ours.spike_sorter().get_state().mode == before


def test_commands_init_clear_rebase(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    ours.spike_sorter().set_spike_shadow(3.0)
    rc.spike_sorter_command(sorter_id, "init")
    assert ours.spike_sorter().get_params().loc[0, "shadow"] == 1.5  # defaults restored
    ours.set_streaming("on")
    try:
        time.sleep(1.0)
        assert ours.spike_sorter().get_dashboard().num_spikes_processed > 0
        rc.spike_sorter_command(sorter_id, "clear_sort")
        assert ours.spike_sorter().get_dashboard().num_spikes_processed < 20
        rc.spike_sorter_command(sorter_id, "rebase")
        assert ours.spike_sorter().get_dashboard().num_units == 0
    finally:
        ours.set_streaming("off")
    with pytest.raises(ServerCommunicationError, match="NOT_FOUND"):
        rc.spike_sorter_command("offline-3", "off")


def test_dashboard_is_ours(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    ours.set_streaming("on")
    rc.spike_sorter_command(sorter_id, "on")
    time.sleep(3.0)
    ours.set_streaming("off")  # frozen: both read the same figures
    dash = rc.get_spike_sorter_dashboard(sorter_id)
    mine = ours.spike_sorter().get_dashboard()
    assert [p.name for p in dash.enabled_ports] == list(mine.ports) == ["A"]
    g = dash.general
    assert g is not None
    assert g.sorter_id == sorter_id and g.sorter_type == SpikeSorterType.SPIKES_STREAM
    assert g.time_range == pytest.approx(mine.time_range)
    assert g.num_total_sites == mine.num_sites_total == 32
    assert g.num_enabled_sites == mine.num_sites_enabled
    assert g.num_active_sites == mine.num_sites_active > 0
    assert g.num_neurons == mine.num_units
    assert g.num_spikes_processed == mine.num_spikes_processed > 0
    assert g.num_spikes_labeled == mine.num_spikes_labeled
    assert g.sort_efficiency == pytest.approx(mine.num_spikes_labeled / mine.num_spikes_processed)
    assert g.state.is_on == mine.sorter_state.is_on
    only = rc.get_spike_sorter_dashboard(sorter_id, elements=[DashElement.GENERAL])
    assert only.general == g and only.enabled_ports == []


def test_detect_params_are_ours(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    params = rc.get_detect_params(sorter_id)
    table = ours.spike_sorter().get_params().set_index("ntv_idx")
    assert sorted(params) == list(table.index) == list(range(32))
    for ntv, p in params.items():
        row = table.loc[ntv]
        assert p.is_enabled == row["chan_enabled"] and p.ntv_chan_idx == ntv
        assert p.is_set_thr == list(row["thr_activated"])
        assert p.thr_sd == list(row["thr_sd"])
        np.testing.assert_array_equal(p.thr, row["thr"])  # NaN until the noise is known
        assert p.thr_wdw == pytest.approx(list(row["thr_wdw"] / 1000.0))
        assert p.thr_wdw_pts == list(row["thr_wdw_pts"])
        assert p.shadow == pytest.approx(row["shadow"] / 1000.0) and p.shadow_pts == 45
        assert p.weak_thr == list(row["weak_thr"])
        assert p.is_set_weak_thr == list(row["weak_thr_activated"])
        assert p.spike_width_sec == [0.0, math.inf]  # the default: any width
    assert sorted(rc.get_detect_params(sorter_id, channels=[3, 1])) == [1, 3]


def test_update_detect_params_is_seen_by_ours(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    rc.update_detect_params(
        sorter_id,
        SpikeDetectParams(
            thr=[-55.0, 60.0],
            is_set_thr=[True, True],
            thr_wdw=[0.0004, 0.0011],
            shadow=0.002,
            weak_thr_sd=[-30.0, 30.0],
            is_set_weak_thr=[True, False],
        ),
        channels=[0, 2],
    )
    table = ours.spike_sorter().get_params().set_index("ntv_idx")
    for ntv in (0, 2):
        assert list(table.loc[ntv, "thr"]) == [-55.0, 60.0]
        assert list(table.loc[ntv, "thr_activated"]) == [True, True]
        assert list(table.loc[ntv, "weak_thr_sd"]) == [-30.0, 30.0]
        assert list(table.loc[ntv, "weak_thr_activated"]) == [True, False]
    assert list(table.loc[1, "thr_activated"]) == [True, False]  # not named: unchanged
    assert list(table.loc[1, "thr_sd"]) == [-5.0, 5.0]
    # the window and the shadow are one setting of the stream
    assert list(table.loc[7, "thr_wdw"][:2]) == [0.4, 1.1] and table.loc[7, "shadow"] == 2.0
    # and the other way round
    ours.spike_sorter().set_threshold_level(neg_thr=6, scale="sd", ntv_idxs=[5])
    assert rc.get_detect_params(sorter_id, channels=[5])[5].thr_sd == [-6.0, 5.0]


def test_bad_detect_params_change_nothing(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    before = ours.spike_sorter().get_params()
    bad = [
        (SpikeDetectParams(thr=[math.nan, 50.0]), [0]),
        (SpikeDetectParams(thr=[-50.0, 50.0], shadow=0.5), [0]),  # 500 ms shadow
        (SpikeDetectParams(thr=[-50.0, 50.0]), [0, 99]),
        (SpikeDetectParams(thr_sd=[-5.0, -4.0]), [1]),  # a positive threshold below zero
    ]
    for params, channels in bad:
        with pytest.raises(ServerCommunicationError, match="INVALID_ARGUMENT"):
            rc.update_detect_params(sorter_id, params, channels)
    for width in ([0.002, 0.0002], [-0.0001, 0.001], [math.nan, 0.001], [math.inf, math.inf]):
        with pytest.raises(ServerCommunicationError, match="INVALID_ARGUMENT"):
            rc.update_detect_params(sorter_id, SpikeDetectParams(spike_width_sec=width), [0])
    with pytest.raises(ServerCommunicationError, match="INVALID_ARGUMENT"):
        rc.update_detect_params(sorter_id, SpikeDetectParams(spike_width_sec=[0.0, 0.001]), [99])
    with pytest.raises(ValueError, match="spike_width_sec"):  # refused before it is sent
        rc.update_detect_params(sorter_id, SpikeDetectParams(spike_width_sec=[0.001]), [0])
    assert before.astype(str).equals(ours.spike_sorter().get_params().astype(str))
    widths = {c: p.spike_width_sec for c, p in rc.get_detect_params(sorter_id).items()}
    assert set(map(tuple, widths.values())) == {(0.0, math.inf)}


def test_update_spike_width_reads_back_and_filters_spikes(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, sorter_id: str
) -> None:
    narrow, wide = list(range(8)), list(range(8, 32))
    # nothing is a single sample wide at half its peak: every spike of `narrow` is dropped
    rc.update_detect_params(sorter_id, SpikeDetectParams(spike_width_sec=[0.0, 1 / 30000]), narrow)
    rc.update_detect_params(sorter_id, SpikeDetectParams(spike_width_sec=[0.0001, 0.01]), [9])
    params = rc.get_detect_params(sorter_id)
    assert all(params[c].spike_width_sec == [0.0, 1 / 30000] for c in narrow)
    assert params[9].spike_width_sec == [0.0001, 0.01]
    assert params[8].spike_width_sec == [0.0, math.inf]
    ours.set_streaming("on")
    try:
        time.sleep(1.5)
        recent = ours.spikes().get_recent_spikes(1.0, max_spikes_per_chan=10_000).channels()
    finally:
        ours.set_streaming("off")
    assert sum(recent[c]["num_spikes"] for c in narrow) == 0
    assert sum(recent[c]["num_spikes"] for c in wide) > 20
    rc.spike_sorter_command(sorter_id, SpikeSorterCommand.INIT)
    assert rc.get_detect_params(sorter_id, channels=[0])[0].spike_width_sec == [0.0, math.inf]
