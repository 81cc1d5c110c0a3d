"""The live channel table and signals on the hub's Radiens ports, checked against our own protocol.

``AllegoCore`` GetSignalGroupIDs / GetSignalGroup / UpdateSignalGroup and ``Pcache1``
GetHDSnapshot2 / GetSignals / SetTimeRangeToHead, driven with grpcio stubs of the published
protocol, compared with what our ``AsyncAllegoClient`` reads over ``radiens.v1`` from the same
hub: the same channel table, the same float32 samples for the same sample range.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Iterator

import grpc
import numpy as np
import numpy.typing as npt
import pytest

from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.utils.constants import COLOR_GROUP_IDX_UNSET
from radiens_async.utils.enums import SignalType, TrsMode

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

LIVE = "Live Signals"
INF, NAN = math.inf, math.nan
Req = common_pb2.UpdateSignalGroupRequest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def radiens_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("radiens-signals"), radiens_base_port=0) as process:
        yield process


@pytest.fixture
async def allego(radiens_hub: HubProcess) -> AsyncIterator[AsyncAllegoClient]:
    async with AsyncAllegoClient(radiens_hub.address) as client:
        yield client


@pytest.fixture
async def core(radiens_hub: HubProcess) -> AsyncIterator[allegoserver_pb2_grpc.AllegoCoreStub]:
    assert radiens_hub.radiens_base_port is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{radiens_hub.radiens_base_port}") as ch:
        yield allegoserver_pb2_grpc.AllegoCoreStub(ch)


@pytest.fixture
async def pcache(radiens_hub: HubProcess) -> AsyncIterator[allegoserver_pb2_grpc.Pcache1Stub]:
    assert radiens_hub.radiens_base_port is not None
    opts = [("grpc.max_receive_message_length", 512 << 20)]
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{radiens_hub.radiens_base_port + 1}", options=opts
    ) as ch:
        yield allegoserver_pb2_grpc.Pcache1Stub(ch)


async def fresh_frozen_cache(allego: AsyncAllegoClient, seconds: float = 0.6) -> None:
    """Restart, stream a while, stop: the cache then holds fixed samples both protocols read."""
    await allego.restart("smartbox_sim_gen_spikes")
    await allego.set_streaming("on")
    await asyncio.sleep(seconds)
    await allego.set_streaming("off")


@pytest.fixture
async def frozen(allego: AsyncAllegoClient) -> tuple[int, int, float]:
    """(oldest, head, fs) of a cache that no longer moves."""
    await fresh_frozen_cache(allego)
    status = await allego.get_status()
    fs = status.sample_freq
    t0, t1 = status.stream.time_range
    return round(t0 * fs), round(t1 * fs), fs


def snapshot_request(
    sec: list[float],
    mode: int = common_pb2.TRS_SUBSET,
    fs: float = 30000.0,
    sig_sel: common_pb2.SigSelector | None = None,
    dsource: str = LIVE,
    apply_dsp: bool = False,
) -> common_pb2.HDSnapshotRequest2:
    req = common_pb2.HDSnapshotRequest2(
        dsourceID=dsource,
        tR=common_pb2.TimeRange(timeRangeSec=sec, fs=fs),
        selMode=mode,
        applyDSPstage2=apply_dsp,
    )
    if sig_sel is not None:
        req.sigSel.CopyFrom(sig_sel)
    return req


def matrix(mb: common_pb2.RadixMatrixBytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(mb.data, np.float32).reshape(mb.shape[0], mb.shape[1])


async def ours(
    allego: AsyncAllegoClient, start: int, stop: int, fs: float
) -> dict[str, npt.NDArray[np.float32]]:
    """Samples [start, stop) of every channel through our own protocol (float32 again)."""
    sig = await allego.signals().get_signals([start / fs, stop / fs])
    assert list(sig.time_range.timestamp) == [start, stop]
    s = sig.signals
    return {
        "amp": s.amp.astype(np.float32),
        "ain": s.gpio_ain.astype(np.float32),
        "din": s.gpio_din.astype(np.float32),
        "dout": s.gpio_dout.astype(np.float32),
    }


async def expect_code(call: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    assert info.value.code() == code, info.value.details()
    details = info.value.details() or ""
    assert details
    return details


# -- the channel table -------------------------------------------------------------------------
async def test_signal_group_ids(core: allegoserver_pb2_grpc.AllegoCoreStub) -> None:
    reply = await core.GetSignalGroupIDs(common_pb2.StandardRequest())
    assert list(reply.continuous) == [LIVE]
    assert list(reply.discrete) == []


def assert_same_table(group: common_pb2.SignalGroup, meta: ChannelMetadata) -> None:
    assert group.IsInitialized()
    assert group.datasetUID == group.sourceLabel == meta.dataset_uid == LIVE
    assert group.sampFreq == meta.fs
    assert group.neighborMaxRadius == meta.neighbor_max_radius_um
    assert len(group.channels) == len(meta.channels)
    for rec, ch in zip(group.channels, meta.channels, strict=True):
        assert rec.chanName == ch.chan_name
        assert rec.ntvChanName == ch.ntv_chan_name
        assert SignalType(rec.chanType) == ch.chan_type
        assert rec.ntvChanIdx == ch.ntv_key_idx == rec.datasetRidx
        assert rec.sysChanIdx == ch.sys_key_idx == rec.datasetAidx
        assert rec.siteNum == ch.site_num
        assert common_pb2.Port.Name(rec.port) == ch.port
        assert rec.colorGroupIdx == ch.color_group_idx
        assert rec.isSelected == ch.selected
        assert rec.siteShape == ch.site_shape
        assert rec.siteAreaMicron2 == ch.site_area_um2
        # the wire carries positions in tens of µm (radiens-core multiplies by 10)
        for wire, um in (
            (rec.siteCtrX, ch.site_ctr_x),
            (rec.siteCtrY, ch.site_ctr_y),
            (rec.siteCtrZ, ch.site_ctr_z),
            (rec.siteLimXMin, ch.site_lim_x_min),
            (rec.siteLimXMax, ch.site_lim_x_max),
            (rec.siteLimYMin, ch.site_lim_y_min),
            (rec.siteLimYMax, ch.site_lim_y_max),
            (rec.siteCtrTcsX, ch.site_ctr_tcs_x),
            (rec.siteCtrTcsY, ch.site_ctr_tcs_y),
        ):
            assert wire * 10 == pytest.approx(um, abs=1e-9)
        assert (rec.probeID, rec.headstageID, rec.sensorUID) == (
            ch.probe_id,
            ch.headstage_id,
            ch.sensor_uid,
        )
    for letter, specs in meta.sensors.items():
        wire = list(getattr(group.sensorPortSpec, f"sensor{letter}"))
        assert [(s.probeId, s.headstageId, s.sensorUID) for s in wire] == [
            (s.probe_id, s.headstage_id, s.sensor_uid) for s in specs
        ]
        for w, s in zip(wire, specs, strict=True):
            assert [v.x * 10 for v in w.wireframe.vtx] == pytest.approx(s.wireframe_x)
            assert [v.y * 10 for v in w.wireframe.vtx] == pytest.approx(s.wireframe_y)


@pytest.mark.parametrize("n_channels", [32, 128])
async def test_signal_group_is_our_channel_table(
    allego: AsyncAllegoClient, core: allegoserver_pb2_grpc.AllegoCoreStub, n_channels: int
) -> None:
    await allego.restart("smartbox_sim_gen_spikes", num_channels=n_channels)
    group = await core.GetSignalGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    assert_same_table(group, await allego.get_channel_metadata())
    units = dict(group.signalUnits.units)
    assert units == {common_pb2.PRI: 1, common_pb2.AUX: 2, common_pb2.DIN: 3, common_pb2.DOUT: 3}
    assert group.hasDiscrete and group.hasContinuousAmp
    assert sorted(r.absIdx for r in group.channels) == list(range(len(group.channels)))


async def test_signal_group_follows_a_sensor_change_made_through_our_protocol(
    allego: AsyncAllegoClient, core: allegoserver_pb2_grpc.AllegoCoreStub
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    await allego.set_sensor("A", "acute_smartlink_A32", "a1x32_6mm50_177")
    group = await core.GetSignalGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    meta = await allego.get_channel_metadata()
    assert_same_table(group, meta)
    assert group.channels[0].probeID == "a1x32_6mm50_177"


async def test_unknown_stream_group_is_not_found(
    core: allegoserver_pb2_grpc.AllegoCoreStub, pcache: allegoserver_pb2_grpc.Pcache1Stub
) -> None:
    bad = common_pb2.SignalGroupIDRequest(streamGroupId="Dead Signals")
    assert "Dead Signals" in await expect_code(core.GetSignalGroup(bad), grpc.StatusCode.NOT_FOUND)
    await expect_code(pcache.SetTimeRangeToHead(bad), grpc.StatusCode.NOT_FOUND)
    await expect_code(
        core.UpdateSignalGroup(
            Req(streamGroupId="x", operation=Req.SELECT, addRemove=Req.ADD, signalType=0)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_code(
        pcache.GetHDSnapshot2(snapshot_request([0, 1], dsource="nope")), grpc.StatusCode.NOT_FOUND
    )


# -- selection, colour groups, sort ---------------------------------------------------------------
def selected(group: common_pb2.SignalGroup, stype: int) -> list[int]:
    return [r.ntvChanIdx for r in group.channels if r.chanType == stype and r.isSelected]


def groups(group: common_pb2.SignalGroup, stype: int) -> dict[int, int]:
    return {r.ntvChanIdx: r.colorGroupIdx for r in group.channels if r.chanType == stype}


async def test_select_and_deselect_are_domain_state(
    radiens_hub: HubProcess,
    allego: AsyncAllegoClient,
    core: allegoserver_pb2_grpc.AllegoCoreStub,
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    get = common_pb2.SignalGroupIDRequest(streamGroupId=LIVE)
    n_amp = sum(1 for c in (await allego.get_channel_metadata()).channels if c.chan_type == 0)
    await core.UpdateSignalGroup(
        Req(
            streamGroupId=LIVE,
            operation=Req.SELECT,
            addRemove=Req.REMOVE,
            ntvChanIdx=[1, 2, 5],
            signalType=common_pb2.PRI,
        )
    )
    await core.UpdateSignalGroup(
        Req(
            streamGroupId=LIVE,
            operation=Req.SELECT,
            addRemove=Req.REMOVE,
            ntvChanIdx=[0],
            signalType=common_pb2.DIN,
        )
    )
    # another connection sees it: it is the instrument's state, not the connection's
    assert radiens_hub.radiens_base_port is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{radiens_hub.radiens_base_port}") as ch:
        other = await allegoserver_pb2_grpc.AllegoCoreStub(ch).GetSignalGroup(get)
    assert selected(other, common_pb2.PRI) == [i for i in range(n_amp) if i not in (1, 2, 5)]
    assert selected(other, common_pb2.DIN) == [1]
    await core.UpdateSignalGroup(
        Req(
            streamGroupId=LIVE,
            operation=Req.SELECT,
            addRemove=Req.ADD,
            ntvChanIdx=[2],
            signalType=common_pb2.PRI,
        )
    )
    group = await core.GetSignalGroup(get)
    assert selected(group, common_pb2.PRI) == [i for i in range(n_amp) if i not in (1, 5)]
    # our own protocol sees the same selection (one instrument)
    meta = await allego.get_channel_metadata()
    assert meta.sel_index(SignalType.AMP).ntv == [i for i in range(n_amp) if i not in (1, 5)]
    assert meta.sel_index(SignalType.DIN).ntv == [1]
    assert_same_table(group, meta)
    # a restart through our own protocol returns the selection to its default
    await allego.restart("smartbox_sim_gen_spikes")
    group = await core.GetSignalGroup(get)
    assert selected(group, common_pb2.PRI) == list(range(n_amp))
    assert_same_table(group, await allego.get_channel_metadata())


async def test_color_groups_take_the_next_free_index_and_skip_unselected(
    allego: AsyncAllegoClient, core: allegoserver_pb2_grpc.AllegoCoreStub
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    get = common_pb2.SignalGroupIDRequest(streamGroupId=LIVE)
    meta = await allego.get_channel_metadata()
    n_amp = sum(1 for c in meta.channels if c.chan_type == 0)
    # the default groups are what our protocol reports (the probe's shanks)
    assert groups(await core.GetSignalGroup(get), common_pb2.PRI) == {
        c.ntv_key_idx: c.color_group_idx for c in meta.channels if c.chan_type == 0
    }

    def color(add: bool, idxs: list[int], stype: int = common_pb2.PRI) -> Req:
        return Req(
            streamGroupId=LIVE,
            operation=Req.COLOR,
            addRemove=Req.ADD if add else Req.REMOVE,
            ntvChanIdx=idxs,
            signalType=stype,
        )

    await core.UpdateSignalGroup(color(False, list(range(n_amp))))
    await core.UpdateSignalGroup(
        Req(
            streamGroupId=LIVE,
            operation=Req.SELECT,
            addRemove=Req.REMOVE,
            ntvChanIdx=[3],
            signalType=common_pb2.PRI,
        )
    )
    await core.UpdateSignalGroup(color(True, [0, 1, 2, 3]))
    await core.UpdateSignalGroup(color(True, [4, 5]))
    await core.UpdateSignalGroup(color(True, [0], common_pb2.AUX))
    group = await core.GetSignalGroup(get)
    amp = groups(group, common_pb2.PRI)
    assert [amp[i] for i in range(6)] == [1, 1, 1, COLOR_GROUP_IDX_UNSET, 2, 2]
    assert groups(group, common_pb2.AUX)[0] == 3
    # ... and our own protocol reports the same groups
    ours = {
        c.ntv_key_idx: c.color_group_idx
        for c in (await allego.get_channel_metadata()).channels
        if c.chan_type == 0
    }
    assert ours == amp
    await core.UpdateSignalGroup(color(False, [4]))
    assert groups(await core.GetSignalGroup(get), common_pb2.PRI)[4] == COLOR_GROUP_IDX_UNSET


async def test_sort_moves_the_display_order_only(
    allego: AsyncAllegoClient, core: allegoserver_pb2_grpc.AllegoCoreStub
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    get = common_pb2.SignalGroupIDRequest(streamGroupId=LIVE)
    await core.UpdateSignalGroup(
        Req(
            streamGroupId=LIVE,
            operation=Req.SORT,
            sortOp=common_pb2.SubOpSort(sort=[common_pb2.SubOpSort.SITE_CTR_Y]),
            signalType=common_pb2.PRI,
        )
    )
    group = await core.GetSignalGroup(get)
    amp = [r for r in group.channels if r.chanType == common_pb2.PRI]
    by_pos = sorted(amp, key=lambda r: r.absIdx)
    ys = [r.siteCtrY for r in by_pos]
    assert ys == sorted(ys)
    assert sorted(r.absIdx for r in amp) == list(range(len(amp)))  # amp keeps its slots
    # the records stay in sys order with their indices: only absIdx moved
    assert [r.sysChanIdx for r in group.channels] == list(range(len(group.channels)))
    assert_same_table(group, await allego.get_channel_metadata())


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        (
            Req(
                streamGroupId=LIVE,
                operation=Req.SELECT,
                addRemove=Req.REMOVE,
                ntvChanIdx=[0, 999],
                signalType=common_pb2.PRI,
            ),
            "999",
        ),
        (
            Req(streamGroupId=LIVE, operation=Req.SELECT, ntvChanIdx=[0], signalType=0),
            "addRemove",
        ),
        (
            Req(
                streamGroupId=LIVE,
                operation=Req.DEPRECATED_AUDIO,
                addRemove=Req.ADD,
                ntvChanIdx=[0],
                signalType=0,
            ),
            "DEPRECATED_AUDIO",
        ),
        (
            Req(streamGroupId=LIVE, operation=Req.SORT, addRemove=Req.ADD, signalType=0),
            "sortOp",
        ),
        (
            Req(
                streamGroupId=LIVE,
                operation=Req.COLOR,
                addRemove=Req.ADD,
                ntvChanIdx=[7],
                signalType=common_pb2.DOUT,
            ),
            "dout",
        ),
    ],
)
async def test_bad_updates_are_refused_and_change_nothing(
    allego: AsyncAllegoClient,
    core: allegoserver_pb2_grpc.AllegoCoreStub,
    request_: common_pb2.UpdateSignalGroupRequest,
    fragment: str,
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    get = common_pb2.SignalGroupIDRequest(streamGroupId=LIVE)
    before = await core.GetSignalGroup(get)
    details = await expect_code(core.UpdateSignalGroup(request_), grpc.StatusCode.INVALID_ARGUMENT)
    assert fragment in details
    assert await core.GetSignalGroup(get) == before


# -- GetHDSnapshot2 ---------------------------------------------------------------------------
async def test_snapshot_subset_is_our_samples(
    allego: AsyncAllegoClient,
    pcache: allegoserver_pb2_grpc.Pcache1Stub,
    frozen: tuple[int, int, float],
) -> None:
    oldest, head, fs = frozen
    start, stop = oldest + 1234, head - 567
    reply = await pcache.GetHDSnapshot2(snapshot_request([start / fs, stop / fs], fs=fs))
    sigs = reply.sigs
    assert reply.dsourceID == LIVE
    assert list(sigs.tR.timestamp) == [start, stop]
    assert list(sigs.tR.timeRangeSec) == [start / fs, stop / fs]
    assert sigs.tR.fs == fs
    assert not sigs.HasField("ain")  # no sigSel: every amplifier channel only
    amp = matrix(sigs.amp)
    assert amp.dtype == np.float32 and amp.shape == (32, stop - start)
    assert np.array_equal(amp, (await ours(allego, start, stop, fs))["amp"])
    assert_same_table(sigs.sG, await allego.get_channel_metadata())


async def test_snapshot_channel_subsets_of_every_type(
    allego: AsyncAllegoClient,
    pcache: allegoserver_pb2_grpc.Pcache1Stub,
    frozen: tuple[int, int, float],
) -> None:
    oldest, _head, fs = frozen
    start, stop = oldest + 300, oldest + 9300
    sel = common_pb2.SigSelector(
        ampNtvIdxs=[7, 0, 31, 7], ainNtvIdxs=[1], dinNtvIdxs=[0, 1], doutNtvIdxs=[1]
    )
    reply = await pcache.GetHDSnapshot2(
        snapshot_request([start / fs, stop / fs], fs=fs, sig_sel=sel)
    )
    want = await ours(allego, start, stop, fs)
    got = {k: matrix(getattr(reply.sigs, k)) for k in ("amp", "ain", "din", "dout")}
    assert np.array_equal(got["amp"], want["amp"][[7, 0, 31, 7]])
    assert np.array_equal(got["ain"], want["ain"][[1]])
    assert np.array_equal(got["din"], want["din"][[0, 1]])
    assert np.array_equal(got["dout"], want["dout"][[1]])
    only_ain = await pcache.GetHDSnapshot2(
        snapshot_request(
            [start / fs, stop / fs], fs=fs, sig_sel=common_pb2.SigSelector(ainNtvIdxs=[0])
        )
    )
    assert not only_ain.sigs.HasField("amp")
    assert np.array_equal(matrix(only_ain.sigs.ain), want["ain"][[0]])


@pytest.mark.parametrize(
    ("sec", "mode", "our_mode"),
    [
        ([0.1, INF], common_pb2.TRS_SUBSET, TrsMode.TO_HEAD),  # radiens-core's to_head
        ([0.1, INF], common_pb2.TRS_TO_HEAD, TrsMode.TO_HEAD),
        ([0.1], common_pb2.TRS_TO_HEAD, TrsMode.TO_HEAD),
        ([0.25, NAN], common_pb2.TRS_FROM_HEAD, TrsMode.FROM_HEAD),  # a look-back
    ],
)
async def test_snapshot_open_and_look_back_ranges(
    allego: AsyncAllegoClient,
    pcache: allegoserver_pb2_grpc.Pcache1Stub,
    frozen: tuple[int, int, float],
    sec: list[float],
    mode: int,
    our_mode: TrsMode,
) -> None:
    _oldest, head, fs = frozen
    reply = await pcache.GetHDSnapshot2(snapshot_request(sec, mode, fs=fs))
    start, stop = reply.sigs.tR.timestamp
    assert stop == head
    assert start == (head - round(0.25 * fs) if mode == common_pb2.TRS_FROM_HEAD else 3000)
    theirs = await allego.signals().get_signals(sec[:1], sel_mode=our_mode)
    assert list(theirs.time_range.timestamp) == [start, stop]
    assert np.array_equal(matrix(reply.sigs.amp), theirs.signals.amp.astype(np.float32))


async def test_snapshot_is_clipped_to_what_the_cache_holds(
    pcache: allegoserver_pb2_grpc.Pcache1Stub, frozen: tuple[int, int, float]
) -> None:
    oldest, head, fs = frozen
    for sec, mode in (
        ([-INF, INF], common_pb2.TRS_SUBSET),
        ([-5.0, head / fs + 5.0], common_pb2.TRS_SUBSET),
        ([1e6, NAN], common_pb2.TRS_FROM_HEAD),
        ([INF, NAN], common_pb2.TRS_FROM_HEAD),
    ):
        reply = await pcache.GetHDSnapshot2(snapshot_request(sec, mode, fs=fs))
        assert list(reply.sigs.tR.timestamp) == [oldest, head], sec
        assert matrix(reply.sigs.amp).shape == (32, head - oldest)


async def test_snapshot_outside_the_cache_is_out_of_range(
    pcache: allegoserver_pb2_grpc.Pcache1Stub, frozen: tuple[int, int, float]
) -> None:
    _oldest, head, fs = frozen
    after = head / fs + 1.0
    for sec, mode in (
        ([after, after + 1], common_pb2.TRS_SUBSET),
        ([after, INF], common_pb2.TRS_SUBSET),
        ([after], common_pb2.TRS_TO_HEAD),
        ([-3.0, -1.0], common_pb2.TRS_SUBSET),
    ):
        details = await expect_code(
            pcache.GetHDSnapshot2(snapshot_request(sec, mode, fs=fs)), grpc.StatusCode.OUT_OF_RANGE
        )
        assert "live cache" in details


@pytest.mark.parametrize(
    ("sec", "mode", "sel", "fragment"),
    [
        ([NAN, 1.0], common_pb2.TRS_SUBSET, None, "NaN"),
        ([0.2, NAN], common_pb2.TRS_SUBSET, None, "NaN"),
        ([0.3, 0.2], common_pb2.TRS_SUBSET, None, "reversed"),
        ([0.2, 0.2], common_pb2.TRS_SUBSET, None, "no samples"),
        ([0.2], common_pb2.TRS_SUBSET, None, "TRS_SUBSET"),
        ([INF, INF], common_pb2.TRS_SUBSET, None, "inf"),
        ([-0.1, NAN], common_pb2.TRS_FROM_HEAD, None, "positive"),
        ([NAN, NAN], common_pb2.TRS_FROM_HEAD, None, "positive"),
        ([], common_pb2.TRS_FROM_HEAD, None, "duration"),
        ([NAN], common_pb2.TRS_TO_HEAD, None, "NaN"),
        ([0.0, 0.1], common_pb2.TRS_SUBSET, common_pb2.SigSelector(ampNtvIdxs=[32]), "32"),
        ([0.0, 0.1], common_pb2.TRS_SUBSET, common_pb2.SigSelector(ainNtvIdxs=[-1]), "-1"),
        ([0.0, 0.1], common_pb2.TRS_SUBSET, common_pb2.SigSelector(), "empty"),
    ],
)
async def test_bad_snapshot_requests_are_invalid(
    pcache: allegoserver_pb2_grpc.Pcache1Stub,
    frozen: tuple[int, int, float],
    sec: list[float],
    mode: int,
    sel: common_pb2.SigSelector | None,
    fragment: str,
) -> None:
    _oldest, _head, fs = frozen
    details = await expect_code(
        pcache.GetHDSnapshot2(snapshot_request(sec, mode, fs=fs, sig_sel=sel)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fragment in details


async def test_unknown_sel_mode_and_bad_fs_are_invalid(
    pcache: allegoserver_pb2_grpc.Pcache1Stub, frozen: tuple[int, int, float]
) -> None:
    # selMode 9 is not an enum value: proto2 keeps it as an unknown field
    raw = snapshot_request([0.0, 0.1]).SerializeToString() + bytes([3 << 3, 9])
    bad_mode = common_pb2.HDSnapshotRequest2.FromString(raw)
    assert "selMode" in await expect_code(
        pcache.GetHDSnapshot2(bad_mode), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "fs" in await expect_code(
        pcache.GetHDSnapshot2(snapshot_request([0.0, 0.1], fs=NAN)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_apply_dsp_reads_only_selected_channels(
    allego: AsyncAllegoClient,
    core: allegoserver_pb2_grpc.AllegoCoreStub,
    pcache: allegoserver_pb2_grpc.Pcache1Stub,
    frozen: tuple[int, int, float],
) -> None:
    oldest, _head, fs = frozen
    sec = [(oldest + 100) / fs, (oldest + 3100) / fs]
    # no stage 2 set: the stage-2 signal is the raw signal
    plain = await pcache.GetHDSnapshot2(snapshot_request(sec, fs=fs))
    dsp = await pcache.GetHDSnapshot2(snapshot_request(sec, fs=fs, apply_dsp=True))
    assert np.array_equal(matrix(dsp.sigs.amp), matrix(plain.sigs.amp))
    await core.UpdateSignalGroup(
        Req(
            streamGroupId=LIVE,
            operation=Req.SELECT,
            addRemove=Req.REMOVE,
            ntvChanIdx=[4],
            signalType=common_pb2.PRI,
        )
    )
    details = await expect_code(
        pcache.GetHDSnapshot2(snapshot_request(sec, fs=fs, apply_dsp=True)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "[4]" in details
    # without stage 2 every channel can still be read
    again = await pcache.GetHDSnapshot2(snapshot_request(sec, fs=fs))
    assert np.array_equal(matrix(again.sigs.amp), matrix(plain.sigs.amp))


async def test_snapshot_while_streaming_matches_our_stream(
    allego: AsyncAllegoClient, pcache: allegoserver_pb2_grpc.Pcache1Stub
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    await allego.set_streaming("on")
    try:
        await asyncio.sleep(0.4)
        reply = await pcache.GetHDSnapshot2(snapshot_request([0.1, NAN], common_pb2.TRS_FROM_HEAD))
        start, stop = reply.sigs.tR.timestamp
        assert stop - start == 3000
        # the same samples through our push stream, from the same first sample
        got: list[np.ndarray] = []
        n = 0
        async for chunk in allego.stream_signals(start=start):
            assert chunk.missed_samples == 0
            got.append(chunk.data)
            n += chunk.data.shape[1]
            if n >= stop - start:
                break
        ours_amp = np.concatenate(got, axis=1)[:32, : stop - start]
        assert np.array_equal(matrix(reply.sigs.amp), ours_amp)
    finally:
        await allego.set_streaming("off")


async def test_snapshot_with_no_samples_is_a_failed_precondition(
    allego: AsyncAllegoClient, pcache: allegoserver_pb2_grpc.Pcache1Stub
) -> None:
    # a new layout: the old stream's cache does not describe it
    await allego.restart("smartbox_sim_gen_spikes", num_channels=64)
    await expect_code(
        pcache.GetHDSnapshot2(snapshot_request([0.0, 0.1])), grpc.StatusCode.FAILED_PRECONDITION
    )


# -- GetSignals + SetTimeRangeToHead (the 4.0.1 cursor) ---------------------------------------
def get_signals_request(component: str = "allego_python_client") -> common_pb2.GetSignalsRequest:
    return common_pb2.GetSignalsRequest(
        streamGroupId=LIVE,
        params=common_pb2.GetSignalsRequest.GetSigsParams(
            wdwSec=1,
            chanHeightPx=0,
            ampFsrUv=1.7976931348623157e308,
            plotWidthPoints=30000,
            gpioOnTop=False,
            ainFsrV=1,
            componentID=component,
            isHeatmap=True,
            clipToRange=False,
        ),
    )


async def test_cursor_reads_are_contiguous_and_are_our_samples(
    allego: AsyncAllegoClient, pcache: allegoserver_pb2_grpc.Pcache1Stub
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    await allego.set_streaming("on")
    try:
        await asyncio.sleep(0.2)
        await pcache.SetTimeRangeToHead(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
        replies = []
        for _ in range(3):
            await asyncio.sleep(0.1)
            replies.append(await pcache.GetSignals(get_signals_request()))
        await allego.set_streaming("off")
        fs = 30000.0
        edges = [tuple(r.tR.timestamp) for r in replies]
        for (_, stop), (start, _) in itertools.pairwise(edges):
            assert start == stop  # contiguous, no overlap
        meta = await allego.get_channel_metadata()
        for r in replies:
            start, stop = r.tR.timestamp
            assert list(r.shape) == [len(meta.channels), stop - start] and stop > start
            assert list(r.timeRange) == [start / fs, stop / fs]
            data = np.frombuffer(r.data, np.float32).reshape(r.shape[0], r.shape[1])
            want = await ours(allego, start, stop, fs)
            assert np.array_equal(
                data, np.concatenate([want["amp"], want["ain"], want["din"], want["dout"]])
            )
    finally:
        await allego.set_streaming("off")


async def test_a_cursor_never_set_starts_at_the_head(
    allego: AsyncAllegoClient, pcache: allegoserver_pb2_grpc.Pcache1Stub
) -> None:
    await allego.restart("smartbox_sim_gen_spikes")
    await allego.set_streaming("on")
    try:
        await asyncio.sleep(0.2)
        first = await pcache.GetSignals(get_signals_request("a-new-component"))
        assert first.shape[1] == 0 and len(first.data) == 0
        await asyncio.sleep(0.05)
        second = await pcache.GetSignals(get_signals_request("a-new-component"))
        assert second.tR.timestamp[0] == first.tR.timestamp[1] and second.shape[1] > 0
    finally:
        await allego.set_streaming("off")


async def test_get_signals_of_an_unknown_group_is_not_found(
    pcache: allegoserver_pb2_grpc.Pcache1Stub,
) -> None:
    req = get_signals_request()
    req.streamGroupId = "elsewhere"
    await expect_code(pcache.GetSignals(req), grpc.StatusCode.NOT_FOUND)


async def test_pcache_healthcheck(pcache: allegoserver_pb2_grpc.Pcache1Stub) -> None:
    assert (await pcache.Healthcheck(common_pb2.StandardRequest())).errMsg == ""
