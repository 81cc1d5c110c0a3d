"""radiens-core's AllegoClient reads the live channel table and signals of our hub.

Every value radiens-core returns is compared with what our own client reads for the same state
over ``radiens.v1``: the same channel table, the same float32 samples for the same samples, and
selection / colour-group changes made by radiens-core seen in the table both clients read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
from radiens_core import AllegoClient as CoreAllegoClient
from radiens_core.exceptions import ServerCommunicationError, TimeRangeError
from radiens_core.models.channels import COLOR_GROUP_UNSET
from radiens_core.models.channels import ChannelMetadata as CoreChannelMetadata
from radiens_core.models.dataset import TimeRangeSpec
from radiens_core.models.signals import SignalType as CoreSignalType

import radiens_async
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.utils.enums import SignalType

from hub_process import HubProcess

FS = 30000.0
STREAM_S = 0.6


@pytest.fixture(scope="module")
def ours(radiens_hub: HubProcess) -> Iterator[radiens_async.AllegoClient]:
    client = radiens_async.AllegoClient(radiens_hub.address)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def core(radiens_hub: HubProcess) -> CoreAllegoClient:
    return CoreAllegoClient()


def frozen_cache(ours: radiens_async.AllegoClient, num_channels: int = 32) -> tuple[int, int]:
    """Restart, stream a while and stop: (oldest, head) of a cache that no longer moves."""
    ours.restart("smartbox_sim_gen_spikes", num_channels=num_channels)
    ours.set_streaming("on")
    time.sleep(STREAM_S)
    ours.set_streaming("off")
    t0, t1 = ours.get_status().stream.time_range
    return round(t0 * FS), round(t1 * FS)


def our_samples(
    ours: radiens_async.AllegoClient, start: int, stop: int
) -> dict[str, npt.NDArray[np.float64]]:
    sig = ours.signals().get_signals([start / FS, stop / FS])
    assert list(sig.time_range.timestamp) == [start, stop]
    s = sig.signals
    return {"amp": s.amp, "ain": s.gpio_ain, "din": s.gpio_din, "dout": s.gpio_dout}


def exact(theirs: npt.NDArray[np.float64] | None, mine: npt.NDArray[np.float64]) -> bool:
    """Equal as the float32 samples both protocols carry."""
    assert theirs is not None
    return np.array_equal(theirs.astype(np.float32), mine.astype(np.float32))


# -- the channel table --------------------------------------------------------------------------
def assert_tables_equal(m: CoreChannelMetadata, our_meta: ChannelMetadata) -> None:
    assert m.fs == our_meta.fs and m.dataset_uid == our_meta.dataset_uid == "Live Signals"
    for core_type in CoreSignalType:
        our_type = SignalType[core_type.name]
        chans = [c for c in our_meta.channels if c.chan_type == our_type]
        assert m.sig_map[core_type].ntv == [c.ntv_key_idx for c in chans]
        assert m.sig_map[core_type].sys == [c.sys_key_idx for c in chans]
        assert m.sig_map[core_type].dset == [c.dataset_key_idx for c in chans]
        assert m.chan_names[core_type] == [c.chan_name for c in chans]
        assert m.probe_ids[core_type] == [c.probe_id for c in chans]
        assert m.site_nums[core_type] == [c.site_num for c in chans]
        assert m.color_group_idxs[core_type] == [c.color_group_idx for c in chans]
    amp = [c for c in our_meta.channels if c.chan_type == SignalType.AMP]
    assert len(m.site_positions) == len(amp)
    for pos, ch in zip(m.site_positions, amp, strict=True):
        assert pos.probe_x == pytest.approx(ch.site_ctr_x, abs=1e-9)
        assert pos.probe_y == pytest.approx(ch.site_ctr_y, abs=1e-9)
        assert pos.site_area_um2 == ch.site_area_um2


@pytest.mark.parametrize("num_channels", [32, 64])
def test_channel_metadata_is_ours(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient, num_channels: int
) -> None:
    ours.restart("smartbox_sim_gen_spikes", num_channels=num_channels)
    meta = core.get_channel_metadata()
    assert_tables_equal(meta, ours.get_channel_metadata())
    assert meta.num_channels[CoreSignalType.AMP] == num_channels
    assert meta.selected_num_channels[CoreSignalType.AMP] == num_channels


# -- get_signals ----------------------------------------------------------------------------------
def test_get_signals_all_amplifier_channels_subset_range(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient
) -> None:
    oldest, head = frozen_cache(ours)
    start, stop = oldest + 1500, head - 900
    got = core.get_signals([start / FS, stop / FS])
    assert got.time_range.timestamp == (start, stop)
    assert got.time_range.fs == FS
    assert got.amp is not None and got.amp.shape == (32, stop - start)
    assert got.gpio_ain is None
    assert exact(got.amp, our_samples(ours, start, stop)["amp"])


def test_get_signals_channel_subsets(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient
) -> None:
    oldest, _head = frozen_cache(ours)
    start, stop = oldest + 30, oldest + 6030
    mine = our_samples(ours, start, stop)
    got = core.get_signals(TimeRangeSpec.subset(start / FS, stop / FS), [9, 2, 30])
    assert exact(got.amp, mine["amp"][[9, 2, 30]])
    multi = core.get_signals(
        [start / FS, stop / FS], {"amp": [1], "ain": "all", "din": [1], "dout": [0]}
    )
    assert exact(multi.amp, mine["amp"][[1]])
    assert exact(multi.gpio_ain, mine["ain"])
    assert exact(multi.gpio_din, mine["din"][[1]])
    assert exact(multi.gpio_dout, mine["dout"][[0]])
    with pytest.raises(ValueError):
        core.get_signals([start / FS, stop / FS], [99])  # radiens-core checks the table


def test_get_signals_to_head_look_back_and_full(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient
) -> None:
    oldest, head = frozen_cache(ours)
    to_head = core.get_signals(TimeRangeSpec.to_head(0.2))
    assert to_head.time_range.timestamp == (6000, head)
    assert exact(to_head.amp, our_samples(ours, 6000, head)["amp"])
    look_back = core.get_signals(TimeRangeSpec.lookback(0.1))
    assert look_back.time_range.timestamp == (head - 3000, head)
    assert exact(look_back.amp, our_samples(ours, head - 3000, head)["amp"])
    assert core.get_signals([0.2, math.inf]).time_range.timestamp == (6000, head)
    full = core.get_signals(TimeRangeSpec.full())
    assert full.time_range.timestamp == (oldest, head)
    assert exact(full.amp, our_samples(ours, oldest, head)["amp"])


def test_get_signals_outside_the_cache_is_a_time_range_error(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient
) -> None:
    _oldest, head = frozen_cache(ours)
    with pytest.raises(TimeRangeError):
        core.get_signals([head / FS + 1, head / FS + 2])


def test_get_signals_apply_dsp_needs_selected_channels(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient
) -> None:
    oldest, _head = frozen_cache(ours)
    window = [(oldest + 300) / FS, (oldest + 3300) / FS]
    plain = core.get_signals(window)
    # no stage-2 DSP set: stage 2 of the signal is the signal
    assert exact(core.get_signals(window, apply_dsp=True).amp, plain.amp)  # type: ignore[arg-type]
    core.deselect_channels([0])
    with pytest.raises(ServerCommunicationError, match="not selected"):
        core.get_signals(window, apply_dsp=True)
    got = core.get_signals(window, {"amp": "selected"}, apply_dsp=True)
    assert exact(got.amp, plain.amp[1:])  # type: ignore[index]


def test_get_signals_apply_dsp_is_the_stage2_filter_of_the_signal(
    ours: radiens_async.AllegoClient, core: CoreAllegoClient
) -> None:
    """A stage-2 high-pass set through radiens-core: ``apply_dsp=True`` returns the causal
    Butterworth high-pass of the raw samples (scipy.signal.sosfilt from the oldest sample, the
    hub's warm-up margin leaving only a transient below the float32 resolution)."""
    import scipy.signal
    from radiens_core.models.dsp import DSPParams, DSPType, FilterStage

    oldest, _head = frozen_cache(ours)
    core.set_dsp_group(
        stage="stage2",
        params=[
            DSPParams(
                type=DSPType.HIGHPASS, stage=FilterStage.STAGE2, freq=300.0, port="A",
                filter_order=2,
            )
        ],
    )  # fmt: skip
    try:
        window = [(oldest + 9000) / FS, (oldest + 12000) / FS]
        filtered = core.get_signals(window, apply_dsp=True).amp
        raw = our_samples(ours, oldest, oldest + 12000)["amp"]
    finally:
        core.set_dsp_group(stage="stage2", params=[])
    sos = scipy.signal.butter(2, 300.0, "highpass", fs=FS, output="sos")
    reference = scipy.signal.sosfilt(sos, raw, axis=1)[:, 9000:12000]
    assert filtered is not None and filtered.shape == reference.shape
    assert not np.allclose(filtered, raw[:, 9000:12000], atol=1.0)  # the filter did something
    np.testing.assert_allclose(filtered, reference, rtol=1e-3, atol=0.05)


# -- selection and colour groups ----------------------------------------------------------------
def test_selection_calls(ours: radiens_async.AllegoClient, core: CoreAllegoClient) -> None:
    ours.restart("smartbox_sim_gen_spikes")
    meta = core.set_selected_channels([0, 1, 2, 3])
    assert meta.selected_sig_map[CoreSignalType.AMP].ntv == [0, 1, 2, 3]
    assert meta.selected_sig_map[CoreSignalType.AIN].ntv == [0, 1]  # not named: untouched
    meta = core.select_channels([10, 11])
    assert meta.selected_sig_map[CoreSignalType.AMP].ntv == [0, 1, 2, 3, 10, 11]
    meta = core.deselect_channels({"amp": [1], "din": [0]})
    assert meta.selected_sig_map[CoreSignalType.AMP].ntv == [0, 2, 3, 10, 11]
    assert meta.selected_sig_map[CoreSignalType.DIN].ntv == [1]
    # a fresh read sees it, and the rest of the table is still ours
    again = core.get_channel_metadata()
    assert again.selected_sig_map == meta.selected_sig_map
    assert_tables_equal(again, ours.get_channel_metadata())
    # a restart through our own protocol resets it
    ours.restart("smartbox_sim_gen_spikes")
    assert core.get_channel_metadata().selected_num_channels[CoreSignalType.AMP] == 32


def test_set_channel_groups(ours: radiens_async.AllegoClient, core: CoreAllegoClient) -> None:
    ours.restart("smartbox_sim_gen_spikes")
    meta = core.set_channel_groups([[0, 1, 2], [5, 6], {"ain": [0]}])
    amp = meta.color_group_idxs[CoreSignalType.AMP]
    assert amp[:7] == [1, 1, 1, COLOR_GROUP_UNSET, COLOR_GROUP_UNSET, 2, 2]
    assert set(amp[7:]) == {COLOR_GROUP_UNSET}
    assert meta.color_group_idxs[CoreSignalType.AIN][0] == 3
    core.deselect_channels([9])
    with pytest.raises(ValueError, match="unselected"):
        core.set_channel_groups([[9]])
    cleared = core.set_channel_groups([])
    assert set(cleared.color_group_idxs[CoreSignalType.AMP]) == {COLOR_GROUP_UNSET}
