"""TimeRange, make_time_range, DatasetMetadata, the dataset converters and describe_dataset_file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import FIRST_SAMPLE, FS, channels, write_xdat
from pydantic import ValidationError

from radiens_async.errors import FormatError, InvalidArgument, NotFound
from radiens_async.hub.datasets.describe import describe_dataset_file
from radiens_async.models.converters.datasets import (
    dataset_metadata_to_model,
    dataset_metadata_to_proto,
    time_range_to_model,
    time_range_to_proto,
)
from radiens_async.models.dataset_metadata import DatasetMetadata, make_time_range
from radiens_async.utils import make_time_range as utils_make_time_range
from radiens_async.utils.enums import RadiensFileType, SignalType


def test_make_time_range_from_seconds_truncates() -> None:
    tr = make_time_range([0.29, 1.00015], fs=100.0)
    assert tr.timestamp.dtype == np.int64 and tr.sec.dtype == np.float64
    assert tr.timestamp.tolist() == [29, 100]
    assert tr.dur_sec == pytest.approx(0.71015) and tr.N == 71
    assert tr.walltime == datetime.min


def test_make_time_range_timestamp_wins() -> None:
    tr = make_time_range([5.0, 6.0], timestamp=np.array([300, 600]), fs=30000.0)
    assert tr.sec.tolist() == [0.01, 0.02] and tr.N == 300


def test_make_time_range_is_the_documented_utils_function() -> None:
    assert utils_make_time_range is make_time_range


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_range": [0, 1]}, "missing fs"),
        ({"fs": 10.0}, "missing both time_range and timestamp arg"),
        ({"time_range": (0, 1), "fs": 10.0}, "tuple"),
        ({"time_range": [0, 1, 2], "fs": 10.0}, "2 elements"),
        ({"time_range": [0, float("nan")], "fs": 10.0}, "finite"),
        ({"time_range": [0, 1], "fs": -1.0}, "positive"),
        ({"timestamp": [0.5, 3], "fs": 10.0}, "integers"),
    ],
)
def test_make_time_range_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        make_time_range(**kwargs)  # type: ignore[arg-type]


def test_time_range_is_frozen_and_read_only() -> None:
    tr = make_time_range([0, 1], fs=10.0)
    with pytest.raises(ValueError):
        tr.sec[0] = 3.0
    with pytest.raises(ValidationError):
        tr.fs = 3.0  # type: ignore[misc]
    _sec, _ts, fs, _dur, _wall, n = tr
    assert fs == 10.0 and n == 10


def test_time_range_wire_round_trip() -> None:
    wall = datetime.fromisoformat("2024-07-01T13:04:49.497224-04:00")
    tr = make_time_range(timestamp=[123, 456], fs=1000.0, walltime=wall)
    assert time_range_to_model(time_range_to_proto(tr)) == tr
    empty = make_time_range([0, 0], fs=1.0)
    assert time_range_to_model(time_range_to_proto(empty)).walltime == datetime.min


def test_empty_dataset_metadata_defaults() -> None:
    meta = DatasetMetadata()
    assert meta.TR.sec.tolist() == [0.0, 0.0] and meta.TR.fs == 1.0
    assert meta.channel_metadata.num_sigs_total() == 0
    assert meta.table.loc["sample freq", "Value"] == "1"


def test_describe_xdat(tmp_path: Path) -> None:
    write_xdat(tmp_path, "rec_0", n=5000)
    meta = describe_dataset_file(tmp_path / "rec_0.xdat.json", "rec_0")
    assert meta.id == "rec_0" and meta.base_name == "rec_0" and meta.path == str(tmp_path)
    assert meta.file_type == RadiensFileType.XDAT
    assert meta.TR.fs == FS
    assert meta.TR.timestamp.tolist() == [FIRST_SAMPLE, FIRST_SAMPLE + 5000]
    assert meta.TR.sec.tolist() == pytest.approx([FIRST_SAMPLE / FS, (FIRST_SAMPLE + 5000) / FS])
    assert meta.TR.walltime.tzinfo is not None
    cm = meta.channel_metadata
    assert cm.num_sigs(SignalType.AMP) == 4 and cm.num_sigs(SignalType.AIN) == 1
    assert cm.index(SignalType.DIN).sys == [5]
    assert cm.table.loc[1, "site_ctr_x"] == 20.0 and cm.table.loc[3, "site_ctr_y"] == 25.0
    assert cm.table.loc[0, "site_lim_x_max"] == 5.0
    assert cm.sensors["A"][0].probe_id == "a1x16_5mm50"
    table = meta.table
    assert table.loc["channels", "Value"] == 4 and table.loc["gpio", "Value"] == [1, 1, 0]
    assert table.loc["type", "Value"] == "XDAT"
    assert "rec_0" in repr(meta) and "rec_0" in str(meta)


def test_dataset_metadata_wire_round_trip(tmp_path: Path) -> None:
    write_xdat(tmp_path, "rec_1", n=1000)
    meta = describe_dataset_file(tmp_path / "rec_1.xdat", "rec_1")
    meta = meta.model_copy(update={"spikes_ids": ("rec_1_sorted",)})
    back = dataset_metadata_to_model(dataset_metadata_to_proto(meta))
    assert back == meta
    assert back.channel_metadata == meta.channel_metadata


def test_describe_missing_and_unsupported(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        describe_dataset_file(tmp_path / "nothing.xdat", "x")
    (tmp_path / "a.csv").write_text("1,2\n")
    with pytest.raises(InvalidArgument):
        describe_dataset_file(tmp_path / "a.csv", "x")
    (tmp_path / "a.foo").write_text("")
    with pytest.raises(InvalidArgument, match="unknown file extension"):
        describe_dataset_file(tmp_path / "a.foo", "x")


def test_describe_corrupt_xdat(tmp_path: Path) -> None:
    write_xdat(tmp_path, "rec_2", n=1000, chans=channels(2, 0, 0))
    (tmp_path / "rec_2.xdat.json").write_text("{not json")
    with pytest.raises(FormatError):
        describe_dataset_file(tmp_path / "rec_2.xdat", "x")
