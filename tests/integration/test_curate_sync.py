"""The blocking ``CurateClient`` against a real hub: stream ids, progress, bar, clean-up, errors."""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from curate_recordings import CurateRecording, write_curate_recording

import radiens_async as radiens
from radiens_async.errors import AlreadyExists, InvalidArgument, NotFound
from radiens_async.formats.xdat import XdatReader
from radiens_async.utils.enums import ClientType


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    recording = write_curate_recording(tmp_path_factory.mktemp("curate_sync_src"), n=60_000)
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before


@pytest.fixture
def client(address: str) -> Iterator[radiens.CurateClient]:
    with radiens.CurateClient(address) as c:
        yield c


OPS = [
    "dsp_low_pass_filter",
    "dsp_high_pass_filter",
    "dsp_band_pass_filter",
    "dsp_band_stop_filter",
    "dsp_notch_filter",
    "dsp_paired_diff",
    "dsp_virtual_ref",
    "dsp_car",
    "dsp_time_decimate",
    "dsp_slice_time",
    "dsp_slice_channels",
    "file_convert",
]


def test_signatures_are_the_documented_ones(client: radiens.CurateClient) -> None:
    assert client.type is ClientType.CURATE
    for name in OPS:
        params = list(inspect.signature(getattr(radiens.CurateClient, name)).parameters)
        assert params[0] == "self"
        assert "force" in params and "hub_name" in params, name
    assert list(inspect.signature(radiens.CurateClient.dsp_low_pass_filter).parameters)[1:4] == [
        "cutoff_freq",
        "source_path",
        "target_path",
    ]


def test_every_operation_returns_a_stream_id_and_finishes(
    client: radiens.CurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    src = rec.path
    t0 = rec.t0
    ids = [
        client.dsp_low_pass_filter(750, src, tmp_path / "lp"),
        client.dsp_high_pass_filter(20, src, tmp_path / "hp", hub_name="default"),
        client.dsp_band_pass_filter(300, 6000, src, tmp_path / "bp"),
        client.dsp_band_stop_filter(750, 2000, src, tmp_path / "bs"),
        client.dsp_notch_filter(50, 2, src, tmp_path / "notch"),
        client.dsp_paired_diff(1, 5, src, tmp_path / "pd"),
        client.dsp_virtual_ref(5, src, tmp_path / "vr"),
        client.dsp_car(src, tmp_path / "car"),
        client.dsp_time_decimate(3, src, tmp_path / "dec"),
        client.dsp_slice_time(t0 + 0.5, t0 + 1.0, src, tmp_path / "st"),
        client.dsp_slice_channels([0, 2], src, tmp_path / "sc"),
        client.file_convert(src, tmp_path / "rec", "csv"),
    ]
    prefixes = [
        "lp_filter",
        "hp_filter",
        "bp_filter",
        "bs_filter",
        "notch_filter",
        "paired_diff",
        "virtual_ref",
        "CAR",
        "decimate",
        "slice_time_0",
        "slice_chan_0",
        "file_convert",
    ]
    for sid, prefix in zip(ids, prefixes, strict=True):
        assert isinstance(sid, str) and sid.startswith(prefix + "__")
        assert sid in client.dsp_stream
        assert client.dsp_stream[sid]["protocol"] == prefix
        assert client.dsp_stream[sid]["data_source"] == str(src)
    deadline = time.monotonic() + 60
    while any(client.dsp_progress(sid) < 1.0 for sid in ids):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with XdatReader(tmp_path / "pd") as out:
        np.testing.assert_array_equal(out.read(channels=[1])[0], rec.data[1] - rec.data[5])
    with XdatReader(tmp_path / "dec") as out:
        assert out.fs == pytest.approx(rec.fs / 3)
    assert (tmp_path / "rec.csv").exists()
    client.dsp_clean_up()
    assert client.dsp_stream == {}


def test_progress_bar_blocks_until_done(
    client: radiens.CurateClient,
    rec: CurateRecording,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sid = client.dsp_band_pass_filter(300, 6000, rec.path, tmp_path / "bp")
    assert client.progress_bar(sid) is None
    assert client.dsp_progress(sid) == 1.0
    assert "2/2" in capsys.readouterr().err or (tmp_path / "bp.xdat.json").exists()
    assert client.dsp_job(sid).id == sid


def test_cancel_through_the_blocking_client_leaves_no_target(
    client: radiens.CurateClient, tmp_path: Path
) -> None:
    big = write_curate_recording(tmp_path, name="big", n=450_000)
    out = tmp_path / "out"
    out.mkdir()
    sid = client.file_convert(big.path, out / "big.csv")
    while client.dsp_progress(sid) == 0.0:
        time.sleep(0.01)
    state = client.dsp_cancel(sid)
    assert state.value == "cancelled"
    assert list(out.iterdir()) == []
    with pytest.warns(UserWarning, match="cancelled"):
        client.progress_bar(sid)


def test_bad_input_raises_typed_errors(
    client: radiens.CurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    (tmp_path / "taken.xdat.json").write_text("{}")
    with pytest.raises(InvalidArgument):
        client.dsp_low_pass_filter(20_000, rec.path, tmp_path / "x")
    with pytest.raises(InvalidArgument):
        client.dsp_band_pass_filter(500, 400, rec.path, tmp_path / "x")
    with pytest.raises(InvalidArgument):
        client.dsp_time_decimate(1, rec.path, tmp_path / "x")
    with pytest.raises(InvalidArgument):
        client.dsp_slice_channels([99], rec.path, tmp_path / "x")
    with pytest.raises(AlreadyExists):
        client.dsp_car(rec.path, tmp_path / "taken")
    with pytest.raises(NotFound):
        client.dsp_car(tmp_path / "nothing", tmp_path / "x")
    with pytest.raises(InvalidArgument):
        client.file_convert(rec.path, tmp_path / "x.nex5", None)
    with pytest.raises(NotFound):
        client.dsp_progress("CAR__dead-beef")
    assert client.dsp_stream == {}
    assert [p.name for p in tmp_path.iterdir()] == ["taken.xdat.json"]


def test_signal_metrics_accessor(
    address: str, client: radiens.CurateClient, rec: CurateRecording
) -> None:
    videre = radiens.VidereClient(address)
    meta = videre.link_data_file(rec.path, calc_metrics=False)
    metrics = client.signal_metrics()
    metrics.calculate(meta)
    deadline = time.monotonic() + 20
    while not metrics.get_metrics_status(meta).is_complete:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(InvalidArgument):
        metrics.get_metrics_status(None)
