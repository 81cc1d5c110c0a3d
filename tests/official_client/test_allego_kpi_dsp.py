"""radiens-core's AllegoClient drives the hub's live DSP group and KPI (Radiens ports), and the
values equal what our own client reads (radiens.v1) for the same state.

Run only inside a private network namespace (radiens-core always dials localhost:50051-50055).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest
from radiens_core import AllegoClient
from radiens_core.exceptions import ServerCommunicationError
from radiens_core.models.dsp import DSPParams, DSPType, FilterStage, FreqSpecBand
from radiens_core.models.kpi import KpiMetric

import radiens_async as radiens
from radiens_async.models.signal_metrics import MetricID
from radiens_async.utils.enums import MetricMode, MetricName

from hub_process import HubProcess

METRICS = [
    (KpiMetric.RMS, MetricName.RMS),
    (KpiMetric.NOISE_UV, MetricName.NOISE_UV),
    (KpiMetric.MAX_ABS, MetricName.MAX_ABS),
    (KpiMetric.EVENT_RATE, MetricName.EVENT_RATE),
    (KpiMetric.EVENT_MEAN_MAX_ABS, MetricName.MEAN_MAX_ABS),
]


def ours(hub: HubProcess, call):  # type: ignore[no-untyped-def]
    """Run ``call(allego)`` with our own async client on the hub's radiens.v1 port."""

    async def run():  # type: ignore[no-untyped-def]
        async with radiens.AsyncAllegoClient(hub.address) as allego:
            return await call(allego)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def allego(radiens_hub: HubProcess) -> Iterator[AllegoClient]:
    async def stream(a):  # type: ignore[no-untyped-def]
        await a.restart("smartbox_sim_gen_spikes", seed=2)
        await a.set_streaming("on")
        await asyncio.sleep(3.0)
        await a.set_streaming("off")  # a fixed window: both clients read the same samples

    ours(radiens_hub, stream)
    client = AllegoClient()
    try:
        yield client
    finally:
        client.set_dsp_group(stage="stage2", params=[])
        client.close()


def test_dsp_group_round_trip(allego: AllegoClient) -> None:
    assert allego.get_dsp_group().software_stage2 == []
    params = [
        DSPParams(type=DSPType.HIGHPASS, stage=FilterStage.STAGE2, freq=300.0, port="A"),
        DSPParams(
            type=DSPType.BANDSTOP,
            stage=FilterStage.STAGE2,
            freq_spec_band=FreqSpecBand(low_freq=55.0, high_freq=65.0),
            port="A",
            filter_order=6,
        ),
        DSPParams(type="car", stage="stage2", port="A", user_label="car"),
    ]
    allego.set_dsp_group(stage="stage2", params=params)
    group = allego.get_dsp_group()
    assert group.software_stage2 == params
    assert group.hardware == [] and group.software_stage1 == []
    allego.set_dsp_group(stage="stage2", params=[])
    assert allego.get_dsp_group().software_stage2 == []


def test_bad_dsp_group_is_refused_and_nothing_changes(allego: AllegoClient) -> None:
    good = [DSPParams(type="lowpass", stage="stage2", freq=3000.0, port="A")]
    allego.set_dsp_group(stage="stage2", params=good)
    with pytest.raises(ServerCommunicationError, match="fs/2"):
        allego.set_dsp_group(
            stage="stage2", params=[DSPParams(type="lowpass", stage=2, freq=20000.0, port="A")]
        )
    with pytest.raises(ServerCommunicationError, match="not connected"):
        allego.set_dsp_group(
            stage="stage2", params=[DSPParams(type="highpass", stage=2, freq=300.0, port="D")]
        )
    assert allego.get_dsp_group().software_stage2 == good
    allego.set_dsp_group(stage="stage2", params=[])


def test_kpi_status_equals_our_own_client(allego: AllegoClient, radiens_hub: HubProcess) -> None:
    status = allego.get_kpi_status()
    mine = ours(radiens_hub, lambda a: a.signal_metrics().get_metrics_status())
    assert status.stream_group_id == mine.datasource_id == "Live Signals"
    assert status.packet_dur == mine.packet_dur_sec
    assert status.num_packets == mine.num_packets and status.num_sigs == mine.num_sigs == 32
    assert status.persistence == pytest.approx(mine.persistence_sec)
    assert status.time_range is not None
    assert list(status.time_range.timestamp) == mine.time_range.timestamp.tolist()


@pytest.mark.parametrize("stage2", [False, True])
def test_kpi_metrics_equal_our_own_client(
    allego: AllegoClient, radiens_hub: HubProcess, stage2: bool
) -> None:
    if stage2:
        allego.set_dsp_group(
            stage="stage2", params=[DSPParams(type="highpass", stage=2, freq=300.0, port="A")]
        )
    try:
        result = allego.get_kpi_metrics(
            [k for k, _ in METRICS], channel_indices=[0, 7, 3], stream_lookback_sec=2.0
        )
        mine = ours(
            radiens_hub,
            lambda a: a.signal_metrics().get_metrics(
                2.0, metrics=[MetricID(MetricMode.STREAM, n) for _, n in METRICS], plot=False
            ),
        )
    finally:
        allego.set_dsp_group(stage="stage2", params=[])
    assert result.channel_indices == (0, 7, 3)
    assert [m.name for m in result.metrics] == [k for k, _ in METRICS]
    assert result.values.shape == (3, len(METRICS))
    expected = np.asarray(mine.val[-1])[[0, 7, 3]].astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(result.values, expected, rtol=1e-6)
    assert result.time_range.n == 60000 and result.time_range.fs == 30000.0


def test_bad_kpi_requests(allego: AllegoClient) -> None:
    with pytest.raises(ServerCommunicationError, match="RANGE"):
        allego.get_kpi_metrics(["rms"], service_mode="range")
    with pytest.raises(ServerCommunicationError, match="Live Signals"):
        allego.get_kpi_status("nope")
