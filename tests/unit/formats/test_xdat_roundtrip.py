"""Random data written with XdatWriter reads back bit-identical through our reader, neo and SI."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from xdat_fixtures import FIRST_SAMPLE, FS, Recording

from radiens_async.formats.xdat import (
    XdatMetadata,
    XdatReader,
    format_start_time,
    parse_start_time,
    xdat_paths,
)

STREAMS = {
    "ai-pri": ("amp", "uV"),
    "aux": ("ain", "V"),
    "din": ("din", "a.u."),
    "dout": ("dout", "a.u."),
}


def rows_of(rec: Recording, kind: str) -> list[int]:
    return [i for i, ch in enumerate(rec.channels) if ch.signal_type == kind]


def test_reader_reads_everything_bit_identical(recording: Recording) -> None:
    with XdatReader(recording.base) as reader:
        assert reader.n_samples == recording.data.shape[1]
        assert reader.n_channels == len(recording.channels)
        assert reader.fs == FS
        out = reader.read()
        assert out.dtype == np.float32 and out.flags.c_contiguous
        assert type(out) is np.ndarray
        np.testing.assert_array_equal(out, recording.data)
        np.testing.assert_array_equal(reader.read(layout="sample_major"), recording.data.T)
        ts = np.asarray(reader.timestamps)
        np.testing.assert_array_equal(ts, FIRST_SAMPLE + np.arange(reader.n_samples))
        md = reader.metadata
        assert md.timestamp_range == (FIRST_SAMPLE, FIRST_SAMPLE + reader.n_samples - 1)
        assert md.t_range == pytest.approx((FIRST_SAMPLE / FS, (FIRST_SAMPLE + md.n_samples) / FS))
        assert md.channels == recording.channels
        assert md.start_time.tzinfo is not None


@pytest.mark.parametrize("layout", ["channel_major", "sample_major"])
def test_reader_random_windows_and_channel_selections(recording: Recording, layout: str) -> None:
    rng = np.random.default_rng(7)
    data = recording.data
    n_ch, n = data.shape
    with XdatReader(recording.base.with_suffix(".xdat")) as reader:
        for _ in range(60):
            i0 = int(rng.integers(0, n))
            i1 = int(rng.integers(i0, n + 1))
            choice = int(rng.integers(0, 5))
            sel: object
            if choice == 0:
                c0 = int(rng.integers(0, n_ch))
                sel = slice(c0, int(rng.integers(c0, n_ch + 1)))
                expect_rows = np.arange(n_ch)[sel]
            elif choice == 1:
                expect_rows = rng.choice(n_ch, size=int(rng.integers(1, n_ch)), replace=False)
                sel = expect_rows.tolist()
            elif choice == 2:
                mask = rng.random(n_ch) < 0.5
                sel, expect_rows = mask, np.flatnonzero(mask)
            elif choice == 3:
                c0 = int(rng.integers(0, n_ch - 3))
                expect_rows = np.arange(c0, c0 + 3)
                sel = expect_rows  # contiguous list: the fast path
            else:
                sel, expect_rows = None, np.arange(n_ch)
            out = reader.read(i0, i1, sel, layout=layout)  # type: ignore[arg-type]
            expect = data[expect_rows, i0:i1]
            if layout == "sample_major":
                expect = expect.T
            assert out.shape == expect.shape
            np.testing.assert_array_equal(out, expect)


def test_read_by_time_range(recording: Recording) -> None:
    with XdatReader(recording.base) as reader:
        t0 = reader.time_range[0]
        out = reader.read(time_range=(t0 + 0.1, t0 + 0.2), channels=slice(0, 8))
        np.testing.assert_array_equal(out, recording.data[:8, 3000:6000])
        assert reader.sample_index(t0 + 0.5) == 15000
        with pytest.raises(ValueError, match="outside"):
            reader.read(time_range=(t0 - 1.0, t0))
        with pytest.raises(ValueError, match="either"):
            reader.read(0, 10, time_range=(t0, t0 + 0.1))


def test_bad_read_arguments(recording: Recording) -> None:
    with XdatReader(recording.base) as reader:
        with pytest.raises(ValueError, match="outside"):
            reader.read(10, 5)
        with pytest.raises(ValueError, match="outside"):
            reader.read(0, reader.n_samples + 1)
        with pytest.raises(ValueError, match="channel indices"):
            reader.read(0, 10, [0, reader.n_channels])
        with pytest.raises(ValueError, match="mask"):
            reader.read(0, 10, np.ones(3, bool))
        with pytest.raises(ValueError, match="layout"):
            reader.read(0, 10, layout="bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="closed"):
        reader.read(0, 10)


def test_neo_reads_every_stream(recording: Recording) -> None:
    from neo.rawio import NeuroNexusRawIO

    io = NeuroNexusRawIO(filename=str(xdat_paths(recording.base).json))
    io.parse_header()
    streams = io.header["signal_streams"]
    assert sorted(streams["id"]) == sorted(STREAMS)
    assert io.segment_t_start(0, 0) == pytest.approx(FIRST_SAMPLE / FS)
    assert io.get_signal_size(0, 0, 0) == recording.data.shape[1]
    for stream_index, stream_id in enumerate(streams["id"]):
        kind, units = STREAMS[str(stream_id)]
        rows = rows_of(recording, kind)
        chans = io.header["signal_channels"]
        chans = chans[chans["stream_id"] == stream_id]
        assert list(chans["name"]) == [recording.channels[r].name for r in rows]
        assert list(chans["id"]) == [recording.channels[r].ntv_name for r in rows]
        assert set(chans["units"]) == {units}
        assert set(chans["sampling_rate"]) == {FS}
        assert io.get_signal_sampling_rate(stream_index) == FS
        assert io.get_signal_t_start(0, 0, stream_index) == pytest.approx(FIRST_SAMPLE / FS)
        raw = io.get_analogsignal_chunk(0, 0, None, None, stream_index=stream_index)
        scaled = io.rescale_signal_raw_to_float(raw, dtype="float32", stream_index=stream_index)
        np.testing.assert_array_equal(scaled.T, recording.data[rows])
        window = io.get_analogsignal_chunk(
            0, 0, 1000, 1500, stream_index=stream_index, channel_indexes=[0]
        )
        np.testing.assert_array_equal(window[:, 0], recording.data[rows[0], 1000:1500])
    rec_datetime = io.raw_annotations["blocks"][0]["rec_datetime"]
    with XdatReader(recording.base) as reader:
        assert rec_datetime == reader.metadata.start_time


def test_spikeinterface_reads_every_stream(recording: Recording) -> None:
    from spikeinterface.extractors import read_neuronexus

    json_path = xdat_paths(recording.base).json
    for stream_id, (kind, units) in STREAMS.items():
        rows = rows_of(recording, kind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si_rec = read_neuronexus(json_path, stream_id=stream_id)
        assert si_rec.get_sampling_frequency() == FS
        assert si_rec.get_num_samples() == recording.data.shape[1]
        assert list(si_rec.get_channel_ids()) == [recording.channels[r].ntv_name for r in rows]
        assert list(si_rec.get_property("channel_name")) == [
            recording.channels[r].name for r in rows
        ]
        assert si_rec.get_dtype() == np.float32
        assert list(si_rec.get_property("physical_unit")) == [units] * len(rows)
        np.testing.assert_array_equal(si_rec.get_traces().T, recording.data[rows])
        if units == "uV":
            np.testing.assert_array_equal(
                si_rec.get_traces(return_in_uV=True).T, recording.data[rows]
            )
        elif units == "V":
            np.testing.assert_allclose(
                si_rec.get_traces(return_in_uV=True).T, recording.data[rows] * 1e6, rtol=1e-6
            )


def test_metadata_json_round_trip_keeps_extras(recording: Recording, tmp_path: Path) -> None:
    doc = json.loads(xdat_paths(recording.base).json.read_text())
    doc["status"]["recording_mode"] = "continuous"
    doc["sapiens_base"]["sensor_spec"] = {"A": [{"probe_id": "A1x8"}]}
    doc["sapiens_base"]["biointerface_map"]["color"] = list(range(len(recording.channels)))
    doc["provenance"] = {"tool": "test", "n": [1, 2, 3]}
    md = XdatMetadata.from_json_dict(doc)
    assert md.extras == {
        "status": {"recording_mode": "continuous"},
        "sapiens_base": {
            "sensor_spec": {"A": [{"probe_id": "A1x8"}]},
            "biointerface_map": {"color": list(range(len(recording.channels)))},
        },
        "provenance": {"tool": "test", "n": [1, 2, 3]},
    }
    assert md.to_json_dict() == doc
    assert XdatMetadata.from_json_dict(md.to_json_dict()) == md


def test_metadata_from_minimal_radiens_style_document() -> None:
    doc = {
        "status": {
            "samp_freq": 30000,
            "shape": [10, 3],
            "t_range": [5.0, 5.0003],
            "timestamp_range": [150000, 150009],
            "start_time": "2024-07-01T13:04:49.4972245-04:00",
        },
        "sapiens_base": {
            "biointerface_map": {
                "chan_name": ["pri_0", "din_0", "aux_0"],
                "ntv_chan_name": ["A-000", "DIN-00", "X"],
                "chan_type": ["ai0", "din0", "ai1"],
            }
        },
    }
    md = XdatMetadata.from_json_dict(doc)
    assert [ch.signal_type for ch in md.channels] == ["amp", "din", "ain"]
    assert [ch.units for ch in md.channels] == ["uV", "a.u.", "V"]
    assert [ch.ntv_idx for ch in md.channels] == [0, 0, 0]
    assert [ch.sys_idx for ch in md.channels] == [0, 1, 2]
    assert md.fs == 30000.0 and md.duration_s == pytest.approx(10 / 30000)


def test_start_time_format() -> None:
    tz = timezone(timedelta(hours=-4))
    value = datetime(2024, 7, 1, 13, 4, 49, 497224, tz)
    text = format_start_time(value)
    assert text == "2024-07-01T13:04:49.4972240-04:00"
    assert parse_start_time(text) == value
    assert parse_start_time("2024-07-01T13:04:49.4972245-04:00") == value
    assert parse_start_time("2024-07-01T13:04:49.497224-04:00") == value
    with pytest.raises(ValueError, match="offset"):
        parse_start_time("2024-07-01T13:04:49.497224")


@pytest.mark.parametrize(
    "given", ["/d/rec_1.xdat.json", "/d/rec_1.xdat", "/d/rec_1", "/d/rec_1.other.xdat.json"]
)
def test_xdat_paths(given: str) -> None:
    paths = xdat_paths(given)
    assert paths.data == Path("/d/rec_1_data.xdat")
    assert paths.timestamp == Path("/d/rec_1_timestamp.xdat")
    assert paths.json.name.endswith(".xdat.json")


@pytest.mark.parametrize("given", ["/d/.xdat.json", "/d/.xdat", ""])
def test_xdat_paths_empty_base(given: str) -> None:
    with pytest.raises(ValueError, match="empty base name"):
        xdat_paths(given)


def test_writer_stores_extras_and_its_own_keys_win(tmp_path: Path) -> None:
    from xdat_fixtures import make_channels

    from radiens_async.formats.xdat import XdatWriter

    chans = make_channels(2, 0, 0, 0)
    extras = {
        "radiens_system_mode": "smartbox_sim_gen_spikes",
        "seed": 7,
        "status": {"recording_mode": "continuous", "samp_freq": 1.0},
        "sapiens_base": {"sensor_spec": {"A": ["A1x2"]}, "biointerface_map": {"x": [1, 2]}},
    }
    with XdatWriter(tmp_path / "ext_0", FS, chans, extras=extras) as writer:
        writer.append(np.zeros((2, 5), np.float32))
        assert writer.metadata.extras == {
            "status": {"recording_mode": "continuous"},
            "sapiens_base": {"sensor_spec": {"A": ["A1x2"]}},
            "radiens_system_mode": "smartbox_sim_gen_spikes",
            "seed": 7,
        }
    doc = json.loads(xdat_paths(tmp_path / "ext_0").json.read_text())
    assert list(doc) == ["status", "sapiens_base", "radiens_system_mode", "seed"]
    assert doc["status"]["samp_freq"] == FS and doc["status"]["recording_mode"] == "continuous"
    with XdatReader(tmp_path / "ext_0") as reader:
        assert reader.metadata == writer.metadata
