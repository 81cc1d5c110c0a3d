"""XDAT metadata whose ranges contradict ``shape`` / ``samp_freq`` is a FormatError; ours opens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from xdat_fixtures import FIRST_SAMPLE, FS, Recording, write_recording

from radiens_async.errors import FormatError
from radiens_async.formats.xdat import XdatReader, xdat_paths

N = 300


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return write_recording(tmp_path_factory.mktemp("cons"), name="cons_0", n=N)


def _edited(rec: Recording, directory: Path, **status: Any) -> Path:
    for path in xdat_paths(rec.base):
        shutil.copy(path, directory / path.name)
    base = directory / rec.base.name
    json_path = xdat_paths(base).json
    doc = json.loads(json_path.read_text())
    doc["status"].update(status)
    json_path.write_text(json.dumps(doc))
    return base


def test_our_writer_output_opens_with_consistent_ranges(rec: Recording) -> None:
    with XdatReader(rec.base) as reader:
        md = reader.metadata
        assert md.n_samples == N
        assert md.timestamp_range == (FIRST_SAMPLE, FIRST_SAMPLE + N - 1)
        assert md.t_range == pytest.approx((FIRST_SAMPLE / FS, (FIRST_SAMPLE + N) / FS))


def test_neo_still_reads_our_files(rec: Recording) -> None:
    rawio = pytest.importorskip("neo.rawio")
    reader = rawio.NeuroNexusRawIO(filename=str(xdat_paths(rec.base).json))
    reader.parse_header()
    assert reader.get_signal_size(0, 0, 0) == N


def test_radiens_style_t_range_of_n_minus_one_samples_opens(rec: Recording, tmp_path: Path) -> None:
    t0 = FIRST_SAMPLE / FS
    base = _edited(rec, tmp_path, t_range=[t0, t0 + (N - 1) / FS])
    with XdatReader(base) as reader:
        assert reader.metadata.t_range[1] == pytest.approx(t0 + (N - 1) / FS)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"t_range": [0.0, 1000.0]}, r"status\.t_range \[0\.0, 1000\.0\] lasts 1000 s"),
        ({"t_range": [4.0, 4.0]}, r"status\.shape holds 300 samples \(expected 299\.\.300"),
        ({"samp_freq": 10.0}, r"at status\.samp_freq 10 Hz"),
        ({"samp_freq": 3e9}, r"at status\.samp_freq 3e\+09 Hz"),
        (
            {"timestamp_range": [FIRST_SAMPLE, FIRST_SAMPLE + 10]},
            r"spans 11 sample indices but status\.shape holds 300",
        ),
        ({"samp_freq": float("nan")}, r"samp_freq must be a positive"),
        ({"samp_freq": float("inf")}, r"samp_freq must be a positive"),
    ],
)
def test_contradicting_ranges_are_a_format_error(
    rec: Recording, tmp_path: Path, status: dict[str, Any], message: str
) -> None:
    base = _edited(rec, tmp_path, **status)
    with pytest.raises(FormatError, match=message):
        XdatReader(base)
