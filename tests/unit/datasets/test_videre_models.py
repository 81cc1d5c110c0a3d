"""Models of the Videre API: SigSelect, DatasetSignals, PSD, SignalMetrics, Summa, converters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radiens_async._generated.radiens.v1 import videre_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata
from radiens_async.models.converters.datasets import time_range_to_proto
from radiens_async.models.converters.videre import (
    dataset_ids_frame,
    metrics_params_frame,
    metrics_to_model,
    summa_analysis_to_model,
)
from radiens_async.models.dataset_metadata import DatasetMetadata, make_time_range
from radiens_async.models.dataset_signals import DatasetSignals, SignalArrays
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, sort_metric_ids
from radiens_async.models.signal_selector import make_signal_selector
from radiens_async.models.summa import SummaStatus
from radiens_async.utils.enums import (
    FftWindow,
    KeyIndex,
    MetricMode,
    MetricName,
    PsdScaling,
    SignalType,
)


def _cm(n: int = 2) -> ChannelMetadata:
    return ChannelMetadata(
        channels=tuple(
            ChannelInfo(chan_type="amp", ntv_key_idx=i, sys_key_idx=i, chan_name=f"A-{i}")
            for i in range(n)
        ),
        fs=1000.0,
    )


def _signals(t0: int, n: int) -> DatasetSignals:
    empty = np.empty((0, n))
    return DatasetSignals(
        dsource_id="d",
        channel_metadata=_cm(),
        time_range=make_time_range(timestamp=[t0, t0 + n], fs=1000.0),
        signals=SignalArrays(np.full((2, n), float(t0)), empty, empty, empty),
    )


def test_signal_selector() -> None:
    sel = make_signal_selector(amp=np.array([1, 2]), ain="sel", dout=3)
    assert sel.amp.tolist() == [1, 2] and sel.gpio_ain.tolist() == [-3]
    assert sel.gpio_dout.tolist() == [3] and sel.key_idx == KeyIndex.NTV
    assert sel.amp.dtype == np.int64 and sel.gpio_din.size == 0
    with pytest.raises(InvalidArgument, match="Invalid site selection every"):
        make_signal_selector(amp="every")
    with pytest.raises(InvalidArgument):
        make_signal_selector(amp=[0.5])


def test_signals_concat() -> None:
    a, b = _signals(100, 10), _signals(110, 5)
    both = a.concat(b)
    assert both.signals.amp.shape == (2, 15) and both.TR.timestamp.tolist() == [100, 115]
    assert a.signals.amp.shape == (2, 10)  # unchanged
    assert "Signals with attribues" in repr(both) and both.attributes == {"dsource_id": "d"}
    with pytest.raises(TypeError, match="other must be Signals"):
        a.concat("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="not able to be concatenated"):
        a.concat(_signals(200, 5))
    other = _signals(110, 5).model_copy(update={"channel_metadata": _cm(3)})
    with pytest.raises(InvalidArgument, match="amp is not compatible"):
        a.concat(other)


def _psd() -> PSD:
    return PSD(
        dsource_id="rec",
        window_type=FftWindow.HAMMING_p01,
        scaling=PsdScaling.ABSOLUTE,
        freq_bin_width=1.0,
        channel_metadata=_cm(),
        time_range=make_time_range(timestamp=[0, 2000], fs=1000.0),
        psd=np.arange(6.0).reshape(2, 3) + 1,
        frequencies=np.array([1.0, 2.0, 3.0]),
        samp_freq=1000.0,
    )


def test_psd_save_and_load(tmp_path: Path) -> None:
    psd = _psd()
    assert psd.freq_range.tolist() == [1.0, 4.0] and psd.units[SignalType.AMP] == "μV²/Hz"
    written = psd.save(tmp_path / "p.npz")
    meta = DatasetMetadata(dsource_id="rec")
    loaded = PSD.load(written, meta)
    np.testing.assert_array_equal(loaded.psd, psd.psd)
    assert loaded.TR == psd.TR and loaded.window_type == psd.window_type
    with np.load(written) as z:
        assert set(z.files) >= {"psd", "freq", "freq_range", "wdw_type", "time_range_ts"}
    with pytest.warns(UserWarning, match="replaced with .npz"):
        assert psd.save(tmp_path / "p.csv").suffix == ".npz"


def test_psd_load_bad_input(tmp_path: Path) -> None:
    meta = DatasetMetadata(dsource_id="rec")
    with pytest.raises(FileNotFoundError, match="file not found"):
        PSD.load(tmp_path / "none.npz", meta)
    with pytest.raises(InvalidArgument, match="dataset_metadata must be provided"):
        PSD.load(tmp_path / "none.npz")
    path = _psd().save(tmp_path / "p.npz")
    with pytest.raises(InvalidArgument, match="not other"):
        PSD.load(path, DatasetMetadata(dsource_id="other"))
    with np.load(path) as z:
        doc = dict(z)
    doc["freq_range"] = np.array([2.0, 3.0])
    np.savez(tmp_path / "bad.npz", **doc)
    with pytest.raises(InvalidArgument, match="cover"):
        PSD.load(tmp_path / "bad.npz", meta)
    bad = _psd().model_copy(update={"scaling": 5})
    with pytest.raises(NotImplementedError):
        bad.units  # noqa: B018


def _metrics_reply() -> videre_pb2.MetricsReply:
    val = np.arange(2 * 3 * 2, dtype="<f8")
    return videre_pb2.MetricsReply(
        dataset_id="Live Signals",
        time_range=time_range_to_proto(make_time_range(timestamp=[0, 2000], fs=1000.0)),
        packet_dur_sec=1.0,
        ntv_idxs=[0, 1, 5],
        metrics=[videre_pb2.MetricId(mode=0, name=18), videre_pb2.MetricId(mode=2, name=22)],
        packet_idxs=[0, 1],
        packet_first_sample=[0, 1000],
        val=val.tobytes(),
    )


def test_signal_metrics_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = metrics_to_model(_metrics_reply())
    assert m.val.shape == (2, 3, 2) and m.val[1, 2, 1] == 11.0
    assert m.metric_ids == [
        MetricID(MetricMode.BASE, MetricName.RMS),
        MetricID(MetricMode.STREAM, MetricName.NUM_EVENTS),
    ]
    assert m.settings["num_metrics"] == 2 and m.packet_stats == {}
    assert m.table.loc["time range (sec)", "Value"] == "[0.000, 2.000]"
    frame = m.to_dataframe()
    assert frame["ntv_idx"].tolist() == [0, 1, 5, 0, 1, 5]
    assert frame["STREAM:NUM_EVENTS"].tolist() == [1, 3, 5, 7, 9, 11]
    m.print()
    assert capsys.readouterr().out.startswith("ALLEGO: Signal metrics")
    fig = m.plot(file=tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000 and len(fig.axes) == 2
    assert sort_metric_ids(list(reversed(m.metric_ids)))[0].name == MetricName.RMS


def test_params_frame_and_ids_frame() -> None:
    reply = videre_pb2.MetricsParamsReply(
        channels=[
            videre_pb2.MetricsChannelParams(
                ntv_idx=3,
                thr_activated=[True, False],
                thr=[-50.0, 4.0],
                thr_ref=["uV", "sd"],
                weak_thr_activated=[False, False],
                weak_thr=[-1000.0, 1000.0],
                weak_ref=["uV", "uV"],
            )
        ],
        pre_s=0.0005,
        post_s=0.001,
        shadow_s=0.0015,
        packet_dur_s=1.0,
        fs=30000.0,
    )
    frame = metrics_params_frame(reply)
    row = frame.iloc[0]
    assert row["ntv_idx"] == 3 and row["thr"][0] == -50.0 and np.isnan(row["thr"][1])
    assert row["thr_sd"][1] == 4.0 and row["thr_wdw"] == [0.5, 1.0, 1.5]
    assert row["thr_wdw_pts"] == [15, 30, 46] and row["shadow_pts"] == 45
    ids = dataset_ids_frame(
        videre_pb2.DatasetList(datasets=[videre_pb2.DatasetEntry(dataset_id="a", base_name="a")])
    )
    assert ids.index.name == "index" and ids.loc[0, "dataset ID"] == "a"


def test_summa_models() -> None:
    st = SummaStatus(id="s", is_complete=False, frac_complete=0.5, packet_dur_sec=1.0)
    assert "working (0.50/1.00), packet dur=1.000 sec" in st.string()
    reply = videre_pb2.SummaAnalysisReply(
        status=videre_pb2.SummaStatusReply(summa_id="s", is_complete=True, frac_complete=1.0),
        stats=[
            videre_pb2.SummaStats(
                dataset_id=d,
                metric=videre_pb2.MetricId(mode=0, name=18),
                stats=[float(i) for i in range(12)],
                counts=[1.0, 2.0],
                dividers=[0.0, 1.0, 2.0],
            )
            for d in ("", "a")
        ],
    )
    a = summa_analysis_to_model(reply)
    assert a.aggregate_table.loc["BASE:RMS", "median"] == 6.0
    assert a.datasource_table("a").loc["BASE:RMS", "N"] == 11.0
    assert a.aggregate[a.metric_ids[0]].num_bins == 2
