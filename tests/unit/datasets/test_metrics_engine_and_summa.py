"""MetricsEngine (parameters, scans, on-demand packets) and SummaSessions on a real catalog."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import FIRST_SAMPLE, FS, write_xdat

from radiens_async.dsp.signal_metrics import MetricsParams, packet_metrics
from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.datasets.metrics_engine import (
    PACKET_DUR,
    SHADOW,
    THR_ACTIVATE,
    THR_LEVEL,
    THR_LEVEL_SD,
    THR_WDW,
    MetricsEngine,
)
from radiens_async.hub.datasets.summa import SummaSessions
from radiens_async.hub.store import HubStore
from radiens_async.utils.enums import MetricMode, MetricName, SummaryStats


@pytest.fixture
def setup(tmp_path: Path) -> tuple[DatasetCatalog, MetricsEngine, np.ndarray]:
    catalog = DatasetCatalog(HubStore(tmp_path / "hub"))
    path, data = write_xdat(tmp_path, "m", n=25_000)
    catalog.link(path)
    return catalog, MetricsEngine(catalog.view), data


def _wait(pred, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end
        time.sleep(0.02)


def test_params_commands(setup: tuple[DatasetCatalog, MetricsEngine, np.ndarray]) -> None:
    _, engine, _ = setup
    p, pick, _ = engine.params("m")
    assert p.n_channels == 4 and pick.ntv_idxs["amp"] == [0, 1, 2, 3]
    p = engine.set_param("m", THR_LEVEL, [-50.0, 0.0], [True, False], [1])
    assert p.thr[1].tolist() == [-50.0, 2.0] and p.thr_ref[1].tolist() == ["uV", "rms"]
    p = engine.set_param("m", THR_LEVEL_SD, [0.0, 4.0], [False, True], [])
    assert p.thr_ref[:, 1].tolist() == ["sd"] * 4
    p = engine.set_param("m", THR_ACTIVATE, [0.0, 0.0], [True, False], [])
    assert p.thr_active[:, 0].tolist() == [False] * 4
    p = engine.set_param("m", THR_WDW, [0.001, 0.002], [True, True], [])
    assert (p.pre_s, p.post_s) == (0.001, 0.002)
    p = engine.set_param("m", SHADOW, [0.003, 0.0], [True, False], [])
    assert p.shadow_s == 0.003
    p = engine.set_param("m", PACKET_DUR, [0.25, 0.0], [True, False], [])
    assert p.packet_dur_s == 0.25
    for args, message in [
        ((999, [0.0, 0.0], [True, True], []), "unknown signal metrics parameter"),
        ((THR_LEVEL, [1.0], [True], []), "2 float and 2 bool"),
        ((THR_LEVEL, [1.0, 1.0], [True, True], [7]), "not a channel"),
        ((THR_WDW, [0.5, 0.001], [True, True], []), "event window"),
        ((SHADOW, [0.0, 0.0], [True, False], []), "shadow"),
        ((PACKET_DUR, [-1.0, 0.0], [True, False], []), "packet duration"),
        ((THR_LEVEL, [float("nan"), 0.0], [True, False], []), "finite"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            engine.set_param("m", *args)
    assert engine.params("m")[0] is p  # bad input changed nothing
    with pytest.raises(NotFound):
        engine.params("nope")


def test_on_demand_metrics_and_tail(
    setup: tuple[DatasetCatalog, MetricsEngine, np.ndarray],
) -> None:
    _, engine, data = setup
    r = engine.get_metrics("m", (5000, 17_500), [(0, int(MetricName.RMS))], tail=False)
    assert r.val.shape == (1, 4, 1) and r.packet_first_sample.tolist() == [FIRST_SAMPLE + 5000]
    np.testing.assert_allclose(
        r.val[0, :, 0], np.sqrt(np.mean(data[:4, 5000:15000].astype(np.float64) ** 2, axis=1))
    )
    tail = engine.get_metrics("m", (5000, 17_500), [(0, int(MetricName.NUM_PTS))], tail=True)
    assert tail.val[:, 0, 0].tolist() == [10_000, 2500] and tail.t1_pos == 17_500
    default = engine.get_metrics("m", None, [], tail=True)
    assert default.val.shape == (3, 4, 6) and default.metric_ids[0][1] == MetricName.RMS
    with pytest.raises(InvalidArgument, match="no whole packet"):
        engine.get_metrics("m", (0, 500), [], tail=False)
    with pytest.raises(InvalidArgument, match="unknown metric name"):
        engine.get_metrics("m", None, [(0, 77)], tail=True)
    with pytest.raises(InvalidArgument, match="unknown metric mode"):
        engine.get_metrics("m", None, [(5, 0)], tail=True)


def test_scan_serves_aligned_requests(
    setup: tuple[DatasetCatalog, MetricsEngine, np.ndarray],
) -> None:
    _, engine, data = setup
    assert not engine.status("m")["is_complete"]
    engine.calculate("m", "standard")
    _wait(lambda: engine.status("m")["is_complete"])
    st = engine.status("m")
    assert st["frac_complete"] == 1.0 and st["num_packets"] == 2 and st["source_type"] == "file"
    ids = [(int(MetricMode.BASE), int(m)) for m in MetricName]
    scanned = engine.get_metrics("m", (10_000, 20_000), ids, tail=False)
    p = MetricsParams.standard(4)
    ref = packet_metrics(data[:4, 10_000:20_000], FIRST_SAMPLE + 10_000, FS, p)
    np.testing.assert_allclose(scanned.val[0], ref, rtol=1e-12)
    engine.set_param("m", THR_LEVEL, [-20.0, 0.0], [True, False], [])
    _wait(lambda: engine.status("m")["is_complete"])  # rescanned with the new parameters
    with pytest.raises(InvalidArgument):
        engine.calculate("m", "quick")
    with pytest.raises(FailedPrecondition):
        engine.calculate("", "standard")
    engine.clear("m")
    assert not engine.status("m")["is_complete"]


def test_summa_sessions_persist(tmp_path: Path) -> None:
    store = HubStore(tmp_path / "hub")
    catalog = DatasetCatalog(store)
    for i in range(2):
        path, _ = write_xdat(tmp_path, f"s{i}", n=20_000, seed=i)
        catalog.link(path)
    sessions = SummaSessions(store, MetricsEngine(catalog.view))
    with pytest.raises(InvalidArgument):
        sessions.launch("x", [], 1.0)
    with pytest.raises(InvalidArgument):
        sessions.launch("x", ["s0", "s0"], 1.0)
    with pytest.raises(NotFound):
        sessions.launch("x", ["s0", "zz"], 1.0)
    assert sessions.list() == {}
    state = sessions.launch("", ["s0", "s1"], 0.5)
    assert state.summa_id == "default"
    _wait(lambda: sessions.get("default").is_complete)
    with pytest.raises(InvalidArgument, match="unknown Summa analysis part"):
        sessions.analysis("default", "everything")
    _, agg = sessions.analysis("default", "agg")
    assert len(agg) == 6 and all(s.dataset_id == "" for s in agg)
    rms = next(s for s in agg if s.name == MetricName.RMS)
    assert rms.stats[SummaryStats.N] == 2 * 4 * 4 and sum(rms.counts) == 32
    reopened = SummaSessions(store, MetricsEngine(catalog.view))  # a restarted hub
    assert reopened.list() == {"default": ["s0", "s1"]}
    _, again = reopened.analysis("default", "dsource:s1,")
    assert {s.dataset_id for s in again} == {"s1"}
    reopened.clear()
    with pytest.raises(NotFound):
        reopened.get("default")


def test_summa_not_complete_yet(tmp_path: Path) -> None:
    store = HubStore(tmp_path / "hub")
    catalog = DatasetCatalog(store)
    path, _ = write_xdat(tmp_path, "big", n=20_000)
    catalog.link(path)
    sessions = SummaSessions(store, MetricsEngine(catalog.view))
    sessions.launch("s", ["big"], 0.001)  # 20 000 packets: still running when asked
    with pytest.raises(FailedPrecondition, match="not complete"):
        sessions.analysis("s", "agg")
    _wait(lambda: sessions.get("s").finished > 0, timeout=120)


def test_metrics_of_a_window_in_seconds(
    setup: tuple[DatasetCatalog, MetricsEngine, np.ndarray],
) -> None:
    _, engine, _data = setup
    t0 = FIRST_SAMPLE / FS
    ids = [(0, int(MetricName.RMS))]
    by_sec = engine.get_metrics_sec("m", [t0 + 5000 / FS, t0 + 17_500 / FS], ids, tail=True)
    by_pos = engine.get_metrics("m", (5000, 17_500), ids, tail=True)
    np.testing.assert_array_equal(by_sec.val, by_pos.val)
    assert (by_sec.t0_pos, by_sec.t1_pos) == (by_pos.t0_pos, by_pos.t1_pos)
    whole = engine.get_metrics_sec("m", [], ids, tail=True)
    assert (whole.t0_pos, whole.t1_pos) == (0, 25_000)
    with pytest.raises(InvalidArgument, match=r"\[start, end\]"):
        engine.get_metrics_sec("m", [t0], ids, tail=True)
    with pytest.raises(NotFound):
        engine.get_metrics_sec("nope", [], ids, tail=True)
