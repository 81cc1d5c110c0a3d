"""Signal metrics and Summa through a real hub (async), and the blocking VidereClient."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import radiens_async as radiens
from radiens_async.dsp.signal_metrics import MetricsParams
from radiens_async.dsp.signal_metrics import packet_metrics_and_isi_mean as kernel
from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.models.signal_metrics import MetricID
from radiens_async.utils.enums import MetricMode, MetricName, SummaryStats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit" / "datasets"))
from dataset_fixtures import FIRST_SAMPLE, FS, write_xdat

pytestmark = pytest.mark.anyio
T0 = FIRST_SAMPLE / FS


def _spiky(path: Path, base: str, seed: int, n: int = 40_000) -> np.ndarray:
    _, data = write_xdat(path, base, n=n, seed=seed)
    return data


async def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.05)


async def test_metrics_equal_the_kernel_on_the_same_samples(address: str, tmp_path: Path) -> None:
    data = _spiky(tmp_path, "kpi", 1)
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "kpi.xdat", calc_metrics=False)
        sm = videre.signal_metrics()
        msg = await sm.set_event_threshold_level(neg_thr=30, pos_thr=35, dataset_metadata=meta)
        assert msg == "[4 channels] detect: neg thr=30.00 uV, pos thr=35.00 uV"
        msg = await sm.set_event_threshold(pos_thr="off", dataset_metadata=meta)
        assert msg == "[4 channels] detect: neg thr=n/a, pos thr=off"
        assert await sm.set_event_window(0.5, 1.0, meta) == (
            "[4 channels] event window: pre-threshold=0.5 ms, post-threshold=1 ms"
        )
        assert await sm.set_event_shadow(1.5, meta) == "[4 channels] event shadow 1.5 ms,"
        assert await sm.set_packet_duration(0.5, meta) == "[4 channels] packet duration 0.5 sec"
        params = await sm.get_params(meta)
        assert params["thr"][0] == [-30.0, 35.0] and params["thr_activated"][0] == [True, False]
        assert params["thr_wdw"][0] == [0.5, 1.0, 1.5] and params["shadow"][0] == 1.5
        ids = [MetricID(MetricMode.BASE, m) for m in MetricName]
        got = await sm.get_metrics(
            [T0 + 1.0, T0 + 3.0], metrics=ids, tail=False, plot=False, dataset_metadata=meta
        )
        assert got.val.shape == (4, 4, len(MetricName)) and got.packet_dur_sec == 0.5
        assert got.ntv_idxs == [0, 1, 2, 3]
        assert got.packet_first_sample.tolist() == [
            FIRST_SAMPLE + 10_000 + 5000 * k for k in range(4)
        ]
        p = MetricsParams.standard(4, 0.5).with_levels(np.arange(4), (-30.0, 35.0), "uV", False)
        p = p.with_active(np.arange(4), (None, False), False)
        for k in range(4):
            a = 10_000 + 5000 * k
            ref, _ = kernel(data[:4, a : a + 5000], FIRST_SAMPLE + a, FS, p)
            np.testing.assert_allclose(got.val[k], ref, rtol=1e-6)
        assert got.table.loc["num packets", "Value"] == 4
        frame = got.to_dataframe()
        assert len(frame) == 16 and "BASE:RMS" in frame.columns
        stream = await sm.get_metrics(
            [T0 + 1.0, T0 + 3.0],
            metrics=[(MetricMode.STREAM, MetricName.NUM_EVENTS), (MetricMode.AVG, MetricName.RMS)],
            tail=False,
            plot=False,
            dataset_metadata=meta,
        )
        base_events = got.val[:, :, MetricName.NUM_EVENTS]
        np.testing.assert_array_equal(stream.val[:, :, 0], np.cumsum(base_events, axis=0))
        np.testing.assert_allclose(
            stream.val[:, :, 1],
            np.cumsum(got.val[:, :, MetricName.RMS], axis=0) / np.arange(1, 5)[:, None],
        )
        png = tmp_path / "kpi.png"
        await sm.get_metrics([T0, T0 + 1.0], plot=True, file=png, dataset_metadata=meta)
        assert png.stat().st_size > 1000
        await videre.clear_dataset(dataset_id="kpi")


async def test_calculate_status_and_cached_results(address: str, tmp_path: Path) -> None:
    _spiky(tmp_path, "scan", 2)
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "scan.xdat", calc_metrics=False)
        sm = videre.signal_metrics()
        st = await sm.get_metrics_status(meta)
        assert st.type == "file" and not st.is_complete and st.num_sigs == 4
        await sm.calculate(meta)

        async def complete() -> bool:
            return (await sm.get_metrics_status(meta)).is_complete

        await _wait(complete)
        st = await sm.get_metrics_status(meta)
        assert st.frac_complete == 1.0 and st.num_packets == 4 and st.packet_dur_sec == 1.0
        assert not st.is_calculating_metrics
        whole = await sm.get_metrics(plot=False, dataset_metadata=meta)
        assert whole.val.shape == (4, 4, 6)  # the default metric list
        assert [m.name for m in whole.metric_ids][:2] == [MetricName.RMS, MetricName.NOISE_UV]
        params = await sm.get_params(meta)
        assert params["thr_ref"][0] == ["rms", "rms"]  # standard: ±2 V_rms
        await sm.clear(meta)
        assert not (await sm.get_metrics_status(meta)).is_complete
        await videre.clear_dataset(dataset_id="scan")


async def test_metrics_bad_input(address: str, tmp_path: Path) -> None:
    _spiky(tmp_path, "kbad", 3, n=20_000)
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "kbad.xdat", calc_metrics=False)
        sm = videre.signal_metrics()
        before = await sm.get_params(meta)
        with pytest.raises(ValueError, match="Invalid MetricName"):
            await sm.get_metrics(metrics=["NOT_A_METRIC"], plot=False, dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="unknown metric name"):
            await sm._call(
                "GetMetrics",
                radiens_pb().GetMetricsRequest(
                    target=radiens_pb().MetricsTarget(dataset_id="kbad"),
                    metrics=[radiens_pb().MetricId(mode=0, name=99)],
                ),
            )
        with pytest.raises(InvalidArgument, match="outside"):
            await sm.get_metrics([0.0, 1.0], plot=False, dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="reversed"):
            await sm.get_metrics([T0 + 1.0, T0 + 0.5], plot=False, dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match=r"\[start, end\]"):
            await sm.get_metrics(3.0, plot=False, dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="dataset_metadata must be provided"):
            await sm.get_metrics(plot=False)
        with pytest.raises(InvalidArgument, match="cmd must be"):
            await sm.calculate(meta, cmd="fast")
        with pytest.raises(InvalidArgument, match="positive magnitude"):
            await sm.set_event_threshold_level(neg_thr=-5, dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="``on`` or ``off``"):
            await sm.set_event_threshold(neg_thr="yes", dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="not a channel"):
            await sm.set_event_threshold_level(neg_thr=5, ntv_idxs=[99], dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="packet duration"):
            await sm.set_packet_duration(-1, meta)
        with pytest.raises(InvalidArgument, match="event window"):
            await sm.set_event_window(50, 1, meta)
        assert await sm.set_event_window([1], 1, meta) == "pre_ms and post_ms are required scalars"
        assert await sm.set_event_shadow("x", meta) == "shadow_ms is a required scalar"  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(await sm.get_params(meta), before)
        gone = meta.model_copy(update={"dsource_id": "nope"})
        with pytest.raises(NotFound):
            await sm.get_metrics(plot=False, dataset_metadata=gone)
        await videre.clear_dataset(dataset_id="kbad")


def radiens_pb():  # type: ignore[no-untyped-def]
    from radiens_async._generated.radiens.v1 import videre_pb2

    return videre_pb2


async def test_metrics_time_range_shapes_refused(address: str, tmp_path: Path) -> None:
    _spiky(tmp_path, "kshape", 3, n=20_000)
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "kshape.xdat", calc_metrics=False)
        sm = videre.signal_metrics()
        for bad in ([T0], [T0, T0 + 0.1, T0 + 0.2], (T0, T0 + 0.1), "0 1"):
            with pytest.raises(
                InvalidArgument, match=r"videre: time_range must be .*\[start, end\]"
            ):
                await sm.get_metrics(bad, plot=False, dataset_metadata=meta)


async def test_live_metrics_on_allego(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=4)
        await allego.set_streaming("on")
        try:
            await asyncio.sleep(2.5)
            sm = allego.signal_metrics()
            m = await sm.get_metrics(2.0, metrics=[MetricName.RMS, MetricName.NUM_PTS], plot=False)
            assert m.dsource_id == "Live Signals" and m.num_packets == 2
            assert np.all(m.val[:, :, 1] == m.TR.fs)  # 1 s packets
            assert np.all(m.val[:, :, 0] > 0)
            st = await sm.get_metrics_status()
            assert st.type == "cache" and st.is_calculating_metrics
            with pytest.raises(FailedPrecondition, match="not available for allego"):
                await sm.calculate()
            with pytest.raises(InvalidArgument, match="scalar lag"):
                await sm.get_metrics([0, 1], plot=False)
        finally:
            await allego.set_streaming("off")


async def test_summa_equals_pandas_aggregations(address: str, tmp_path: Path) -> None:
    names = ["sum_a", "sum_b", "sum_c"]
    for i, name in enumerate(names):
        _spiky(tmp_path, name, 10 + i, n=30_000)
    async with radiens.AsyncVidereClient(address) as videre:
        metas = [
            await videre.link_data_file(tmp_path / f"{n}.xdat", calc_metrics=False) for n in names
        ]
        with pytest.raises(InvalidArgument, match="must be a list"):
            await videre.summa_launch_session_analysis("s1", "sum_a", 1.0)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            await videre.summa_launch_session_analysis("s1", ["sum_a", "nope"], 1.0)
        with pytest.raises(InvalidArgument, match="bin_dur_sec"):
            await videre.summa_launch_session_analysis("s1", names, 0.0)
        st = await videre.summa_launch_session_analysis("s1", names, 1.0)
        assert st.id == "s1" and st.packet_dur_sec == 1.0

        async def complete() -> bool:
            return (await videre.summa_session_status("s1")).is_complete

        await _wait(complete)
        assert "SUMMA:s1" in (await videre.summa_session_status("s1")).string()
        assert (await videre.summa_list_sessions())["s1"] == {"dsource_ids": names}
        agg = await videre.summa_get_session_aggregate_statistics("s1")
        per = await videre.summa_get_session_datasource_statistics("s1")
        only_b = await videre.summa_get_session_datasource_statistics("s1", ["sum_b"])
        assert set(per.datasource) == set(names) and set(only_b.datasource) == {"sum_b"}
        frames = []
        for meta in metas:
            m = await videre.signal_metrics().get_metrics(
                tail=False, plot=False, dataset_metadata=meta
            )
            frames.append(m.to_dataframe().assign(dataset=meta.id))
        allm = pd.concat(frames)
        for mid in agg.metric_ids:
            col = f"{mid.mode.name}:{mid.name.name}"
            v = allm[col][np.isfinite(allm[col])]
            row = agg.aggregate_table.loc[col]
            assert row["N"] == len(v)
            if not len(v):
                continue
            assert row["mean"] == pytest.approx(v.mean(), rel=1e-9)
            assert row["sd"] == pytest.approx(v.std(), rel=1e-9)
            assert row["median"] == pytest.approx(v.median(), rel=1e-9)
            assert row["min"] == v.min() and row["max"] == v.max()
            assert row["q25"] == pytest.approx(v.quantile(0.25), rel=1e-9)
            assert row["q75"] == pytest.approx(v.quantile(0.75), rel=1e-9)
            hist = agg.aggregate[mid]
            assert hist.counts.sum() == len(v) and hist.stat(SummaryStats.N) == len(v)
            for name in names:
                d = allm.loc[allm["dataset"] == name, col]
                d = d[np.isfinite(d)]
                assert per.datasource_table(name).loc[col, "mean"] == pytest.approx(
                    d.mean(), rel=1e-9
                )
        with pytest.raises(InvalidArgument, match="not in Summa session"):
            await videre.summa_get_session_datasource_statistics("s1", ["other"])
        await videre.summa_clear_sessions()
        assert await videre.summa_list_sessions() == {}
        with pytest.raises(NotFound):
            await videre.summa_session_status("s1")
        await videre.clear_dataset(dataset_id=names)


def test_sync_videre_client(address: str, tmp_path: Path) -> None:
    """The blocking twin: link, metadata, ids, signals, PSD, metrics, Summa, clear."""
    _, data = write_xdat(tmp_path, "sync_rec", n=20_000)
    with radiens.VidereClient(address) as client:
        assert client.type == radiens.utils.ClientType.VIDERE
        meta = client.link_data_file(tmp_path / "sync_rec.xdat", calc_metrics=False)
        assert client.get_data_file_metadata(dataset_id="sync_rec") == meta
        assert "sync_rec" in set(client.get_dataset_ids()["dataset ID"])
        sig = client.signals().get_signals([T0, T0 + 0.5], dataset_metadata=meta)
        np.testing.assert_array_equal(sig.signals.amp, data[:4, :5000])
        psd = client.signals().get_psd([T0, T0 + 1.0], dataset_metadata=meta)
        assert psd.psd.shape == (4, 300)
        m = client.signal_metrics().get_metrics(plot=False, dataset_metadata=meta)
        assert m.val.shape == (2, 4, 6)
        with pytest.raises(InvalidArgument):
            client.signals().get_signals([T0 + 1, T0], dataset_metadata=meta)
        client.summa_launch_session_analysis("sync", ["sync_rec"], 0.5)
        end = time.monotonic() + 30
        while not client.summa_session_status("sync").is_complete:
            assert time.monotonic() < end
            time.sleep(0.05)
        agg = client.summa_get_session_aggregate_statistics("sync")
        assert agg.aggregate_table.loc["BASE:RMS", "N"] == 16
        client.summa_clear_sessions()
        n, _ids = client.clear_dataset(dataset_id="sync_rec")
        assert n == 1


def test_sync_allego_signals(address: str) -> None:
    with radiens.AllegoClient(address) as client:
        client.restart("sim-sine", seed=2)
        client.set_streaming("on")
        try:
            time.sleep(1.2)
            sig = client.signals().get_signals([0.5], sel_mode="FROM_HEAD")
            assert round(sig.TR.fs / 2) == sig.TR.N
            m = client.signal_metrics().get_metrics(1.0, plot=False)
            assert m.num_packets == 1
        finally:
            client.set_streaming("off")
