"""spike_sorter() client: the documented parameter-set protocol and summary strings (no hub)."""

from __future__ import annotations

from typing import Any

import pytest

from radiens_async._generated.radiens.v1 import neurons_pb2
from radiens_async.client.backends.hub_allego import HubAllegoBackend
from radiens_async.client.spike_sorter import AsyncSpikeSorterClient
from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata
from radiens_async.utils.enums import SignalType

pytestmark = pytest.mark.anyio


def _meta(n: int = 32) -> ChannelMetadata:
    channels = [
        ChannelInfo(
            chan_type=SignalType.AMP,
            ntv_key_idx=i,
            sys_key_idx=i,
            chan_name=f"A-{i:03d}",
            ntv_chan_name=f"A-{i:03d}",
            port="A",
        )
        for i in range(n)
    ]
    return ChannelMetadata(channels=channels)


class _MethodNames:
    """A stub whose methods are their names (the fake transport's ``call`` gets the name)."""

    def __getattr__(self, name: str) -> str:
        return name


class FakeParent:
    """Stands in for the hub transport under HubAllegoBackend: records the ``radiens.v1``
    requests and answers the sorter parameters like the hub."""

    neurons = _MethodNames()

    def __init__(self, n: int = 32, fs: float = 30000.0) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.n, self.fs = n, fs
        self.pre_s, self.post_s, self.shadow_s = 0.0005, 0.001, 0.001

    async def get_channel_metadata(self) -> ChannelMetadata:
        return _meta(self.n)

    async def open(self) -> None:
        pass

    async def call(self, method: str, request: Any, *, timeout: float | None = None) -> Any:
        self.requests.append((method, request))
        if method == "SetSorterParam" and request.command == 8:
            self.pre_s, self.post_s = request.reg_float64
        if method == "SetSorterParam" and request.command == 17:
            self.shadow_s = request.reg_float64[0]
        if method == "GetSorterParams":
            pre, post = round(self.pre_s * self.fs), round(self.post_s * self.fs)
            chans = [
                neurons_pb2.SorterChannelParams(
                    ntv_idx=i,
                    chan_enabled=True,
                    thr_activated=[True, False],
                    thr=[-85.0, 85.0],
                    thr_sd=[-5.0, 5.0],
                    thr_wdw_s=[self.pre_s, self.post_s, self.pre_s + self.post_s],
                    shadow_s=self.shadow_s,
                    weak_thr=[-1000.0, 1000.0],
                    thr_wdw_pts=[pre, post, pre + post],
                    shadow_pts=round(self.shadow_s * self.fs),
                    weak_thr_activated=[False, False],
                    weak_thr_sd=[-50.0, 50.0],
                )
                for i in range(self.n)
            ]
            return neurons_pb2.SorterParamsReply(channels=chans, fs=self.fs)
        return None


def _sorter(parent: FakeParent) -> AsyncSpikeSorterClient:
    backend = HubAllegoBackend(parent)  # type: ignore[arg-type]

    async def opened() -> HubAllegoBackend:
        return backend

    return AsyncSpikeSorterClient(opened, parent.get_channel_metadata)


async def test_commands_use_documented_codes() -> None:
    parent = FakeParent()
    sorter = _sorter(parent)
    await sorter.set_sorting("on")
    await sorter.set_sorting("off")
    await sorter.clear_spikes()
    await sorter.rebase()
    await sorter.initialize()
    assert [r.command for _, r in parent.requests] == [0, 1, 2, 4, 5]
    for bad in ("ON", "On", 1, True, "start"):
        with pytest.raises(InvalidArgument, match=r"mode must be in \['on', 'off'\]"):
            await sorter.set_sorting(bad)  # type: ignore[arg-type]
    assert len(parent.requests) == 5


async def test_threshold_level_messages_and_registers() -> None:
    parent = FakeParent()
    sorter = _sorter(parent)
    msg = await sorter.set_threshold_level(neg_thr=85)
    assert msg == "[32 channels] detect: neg thr=85.00 uV, pos thr=n/a uV"
    _, req = parent.requests[-1]
    assert req.command == 1 and list(req.reg_float64) == [-85.0, 0.0]
    assert list(req.reg_bool) == [True, False] and list(req.ntv_idxs) == list(range(32))
    msg = await sorter.set_threshold_level(pos_thr=4.5, scale="sd", ntv_idxs=[1, 2], weak_thr=True)
    assert msg == "[2 channels] weak: neg thr=n/a sd, pos thr=4.50 sd"
    _, req = parent.requests[-1]
    assert (
        req.command == 13 and list(req.reg_bool) == [False, True] and list(req.ntv_idxs) == [1, 2]
    )
    assert (await sorter.set_threshold_level()) == (
        "no new threshold levels were requested so none were changed"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"neg_thr": -85}, "positive magnitude"),
        ({"pos_thr": 0}, "positive magnitude"),
        ({"neg_thr": float("nan")}, "finite"),
        ({"neg_thr": float("inf")}, "finite"),
        ({"neg_thr": "85"}, "finite"),
        ({"neg_thr": 85, "scale": "mV"}, r"scale must be `uV` \| `sd`"),
        ({"neg_thr": 85, "weak_thr": "yes"}, r"scale must be `uV` \| `sd`"),
        ({"neg_thr": 85, "ntv_idxs": 3}, "must be a list"),
        ({"neg_thr": 85, "channel_meta": {"a": 1}}, "ChannelMetadata"),
    ],
)
async def test_threshold_level_bad_input_sends_nothing(kwargs: dict[str, Any], match: str) -> None:
    parent = FakeParent()
    with pytest.raises(InvalidArgument, match=match):
        await _sorter(parent).set_threshold_level(**kwargs)
    assert not [m for m, _ in parent.requests if m == "SetSorterParam"]


async def test_threshold_arming() -> None:
    parent = FakeParent()
    sorter = _sorter(parent)
    assert (await sorter.set_threshold(neg_thr="on")) == (
        "[32 channels] detect: neg thr=on, pos thr=n/a"
    )
    _, req = parent.requests[-1]
    assert req.command == 19 and list(req.reg_float64) == [1.0, 0.0]
    assert (await sorter.set_threshold(pos_thr="off", weak_thr=True)) == (
        "[32 channels] weak: neg thr=n/a, pos thr=off"
    )
    assert parent.requests[-1][1].command == 21
    with pytest.raises(InvalidArgument, match="neg_thr must be ``on`` or ``off``"):
        await sorter.set_threshold(neg_thr="yes")
    with pytest.raises(InvalidArgument, match=r"weak_thr must be True \| False"):
        await sorter.set_threshold(neg_thr="on", weak_thr=1)  # type: ignore[arg-type]
    assert (await sorter.set_threshold()) == (
        "no new threshold states were requested so none were changed"
    )


async def test_window_and_shadow_travel_in_seconds() -> None:
    parent = FakeParent()
    sorter = _sorter(parent)
    msg = await sorter.set_spike_window(0.6, 1.2)
    assert msg == "[32 channels] window: pre-thr=0.60, post-thr=1.20, total=1.80 ms [54 points]"
    req = next(r for m, r in parent.requests if m == "SetSorterParam")
    assert req.command == 8 and list(req.reg_float64) == pytest.approx([0.0006, 0.0012])
    msg = await sorter.set_spike_window(post_thr_ms=2.0)  # pre kept
    assert msg.startswith("[32 channels] window: pre-thr=0.60, post-thr=2.00, total=2.60 ms")
    assert (
        await sorter.set_spike_shadow(1.5)
    ) == "[32 channels] shadow window: 1.50  ms [45 points]"
    assert (await sorter.set_spike_shadow()) == "[32 channels] shadow window: 1.50  ms [45 points]"
    for bad in (0, -1, 10.5, float("nan"), "1"):
        with pytest.raises(InvalidArgument):
            await sorter.set_spike_window(pre_thr_ms=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await sorter.set_spike_shadow(bad)  # type: ignore[arg-type]


async def test_no_channels_messages() -> None:
    parent = FakeParent(n=0)
    sorter = _sorter(parent)
    assert (await sorter.set_spike_window(1, 1)) == (
        "no connected channels, spike window was not changed"
    )
    assert (await sorter.set_spike_shadow(1)) == (
        "no connected channels, spike shadow window was not changed"
    )


async def test_get_params_columns_in_ms() -> None:
    params = await _sorter(FakeParent()).get_params()
    assert list(params.columns) == [
        "ntv_idx",
        "chan_enabled",
        "thr_activated",
        "thr",
        "thr_sd",
        "thr_wdw",
        "shadow",
        "weak_thr",
        "thr_wdw_pts",
        "shadow_pts",
        "weak_thr_activated",
        "weak_thr_sd",
    ]
    row = params.iloc[0]
    assert list(row["thr_wdw"]) == [0.5, 1.0, 1.5] and row["shadow"] == 1.0
    assert list(row["thr_wdw_pts"]) == [15, 30, 45] and row["shadow_pts"] == 30
