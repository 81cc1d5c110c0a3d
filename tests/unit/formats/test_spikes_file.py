"""``.spikes`` sets: round trip, selection, live reading, crash safety, refusals and bad files."""

from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import radiens_async.formats.spikes_writer as spikes_writer_module
from radiens_async.errors import FormatError
from radiens_async.formats.spikes_file import (
    LIVE_SORTER_PROVENANCE,
    SpikesChannel,
    SpikesFileMetadata,
    SpikesReader,
    SpikesUnit,
    SpikesWriter,
    channels_from_xdat,
    spikes_paths,
)
from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter

FS = 30000.0
N_PTS = 40
PRE_PTS = 12
SRC = Path(__file__).resolve().parents[3] / "src"


class Spikes:
    """Known spikes: what was appended, in order."""

    def __init__(self, n: int, seed: int = 0, start: int = 1000, n_channels: int = 8) -> None:
        rng = np.random.default_rng(seed)
        self.ts = start + np.sort(rng.integers(0, 20 * int(FS), n)).astype(np.int64)
        self.ch = rng.integers(0, n_channels, n).astype(np.int32)
        self.lab = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 6, n)).astype(np.int32)
        self.wf = rng.normal(0, 50, (n, N_PTS)).astype(np.float32)

    def __len__(self) -> int:
        return int(self.ts.size)


def table(n: int = 8) -> list[SpikesChannel]:
    """Channels with ntv 0..n-1, reversed dataset order and sites."""
    return [
        SpikesChannel(
            ntv_idx=i, dset_idx=n - 1 - i, name=f"A-{i:03d}", x_um=30.0 * (i % 2), y_um=25.0 * i
        )
        for i in range(n)
    ]


def write_set(
    base: Path, spikes: Spikes, *, batches: int = 7, seed: int = 1, **kwargs: Any
) -> SpikesWriter:
    """Append ``spikes`` in batches of random size (some empty) and close."""
    kwargs.setdefault("channels", table())
    kwargs.setdefault("start_sample", 1000)
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.integers(0, len(spikes), batches - 1))
    edges = [0, *cuts.tolist(), len(spikes)]
    with SpikesWriter(base, FS, N_PTS, PRE_PTS, **kwargs) as writer:
        for a, b in itertools.pairwise(edges):
            writer.append(spikes.ts[a:b], spikes.ch[a:b], spikes.lab[a:b], spikes.wf[a:b])
    return writer


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Spikes]:
    base = tmp_path_factory.mktemp("spikes") / "rec_0"
    spikes = Spikes(3000)
    units = [SpikesUnit(label=k, channel=k, n_spikes=int((spikes.lab == k).sum())) for k in (1, 2)]
    write_set(base, spikes, units=units, source_recording="rec_0", extras={"note": "x"})
    return base, spikes


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------ round trip
def test_round_trip(written: tuple[Path, Spikes]) -> None:
    base, spikes = written
    assert listing(base.parent) == [
        "rec_0.spikes.json",
        "rec_0_channel.spikes",
        "rec_0_label.spikes",
        "rec_0_timestamp.spikes",
        "rec_0_waveform.spikes",
    ]
    with SpikesReader(base) as reader:
        assert reader.n_spikes == len(spikes) and reader.n_pts == N_PTS
        assert reader.pre_pts == PRE_PTS and reader.fs == FS
        np.testing.assert_array_equal(reader.timestamps(), spikes.ts)
        np.testing.assert_array_equal(reader.channels, spikes.ch)
        np.testing.assert_array_equal(reader.labels, spikes.lab)
        np.testing.assert_array_equal(reader.waveforms(), spikes.wf)
        assert reader.waveforms().dtype == np.float32 and reader.timestamps().dtype == np.int64
        md = reader.metadata
    assert md.complete and md.source_recording == "rec_0" and md.extras == {"note": "x"}
    assert md.timestamp_range == (int(spikes.ts[0]), int(spikes.ts[-1]))
    assert md.sample_range == (1000, int(spikes.ts[-1]) + 1)
    assert md.time_range == (1000 / FS, (int(spikes.ts[-1]) + 1) / FS)
    assert md.provenance.source == LIVE_SORTER_PROVENANCE
    assert md.provenance.created.utcoffset() is not None
    assert md.channels == table() and [u.label for u in md.units] == [1, 2]
    assert md.waveform_units == "uV"
    raw = json.loads(spikes_paths(base).json.read_text())
    assert raw["format"] == "radiens-spikes" and raw["format_version"] == 1
    assert SpikesFileMetadata.from_json(json.dumps(raw)) == md


def test_binaries_are_headerless_little_endian(written: tuple[Path, Spikes]) -> None:
    base, spikes = written
    paths = spikes_paths(base)
    np.testing.assert_array_equal(np.fromfile(paths.timestamp, "<i8"), spikes.ts)
    np.testing.assert_array_equal(np.fromfile(paths.channel, "<i4"), spikes.ch)
    np.testing.assert_array_equal(np.fromfile(paths.label, "<i4"), spikes.lab)
    np.testing.assert_array_equal(np.fromfile(paths.waveform, "<f4").reshape(-1, N_PTS), spikes.wf)


@pytest.mark.parametrize(
    "name",
    ["rec_0", "rec_0.spikes", "rec_0.spikes.json", "rec_0.xdat", "rec_0.xdat.json"],
)
def test_any_name_of_the_set_opens_it(written: tuple[Path, Spikes], name: str) -> None:
    base, spikes = written
    with SpikesReader(base.parent / name) as reader:
        assert reader.n_spikes == len(spikes)


def test_writer_next_to_a_recording_takes_its_base_name(tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "allego_3.xdat", FS, N_PTS, PRE_PTS) as writer:
        writer.append([5], 0, 1, np.zeros((1, N_PTS)))
    assert writer.paths.json == tmp_path / "allego_3.spikes.json"
    with SpikesReader(tmp_path / "allego_3.xdat") as reader:
        assert reader.metadata.source_recording == "allego_3"
        assert reader.metadata.channels == [] and reader.metadata.units == []


# ------------------------------------------------------------------ selection
def naive(
    spikes: Spikes,
    time_range: tuple[float, float] | None = None,
    channels: list[int] | None = None,
    labeled_only: bool = False,
    max_per_channel: int | None = None,
) -> list[int]:
    """Reference selection, one spike at a time."""
    out, seen = [], dict[int, int]()
    for i in range(len(spikes)):
        s, c = int(spikes.ts[i]), int(spikes.ch[i])
        if time_range is not None and not (
            round(time_range[0] * FS) <= s < round(time_range[1] * FS)
        ):
            continue
        if channels is not None and c not in channels:
            continue
        if labeled_only and spikes.lab[i] == 0:
            continue
        if max_per_channel is not None:
            if seen.get(c, 0) >= max_per_channel:
                continue
            seen[c] = seen.get(c, 0) + 1
        out.append(i)
    return out


@pytest.mark.parametrize(
    ("time_range", "channels", "labeled_only", "max_per_channel"),
    [
        (None, None, False, None),
        ((1.0, 2.5), None, False, None),
        ((0.1, 0.1), None, False, None),
        ((-5.0, 100.0), [3], False, None),
        (None, [0, 7, 3], True, None),
        ((2.0, 9.0), [1, 2], True, 5),
        (None, None, False, 10),
        (None, None, True, 0),
        ((19.0, 30.0), [5, 99], False, 3),
    ],
)
def test_selection_matches_a_naive_filter(
    written: tuple[Path, Spikes],
    time_range: tuple[float, float] | None,
    channels: list[int] | None,
    labeled_only: bool,
    max_per_channel: int | None,
) -> None:
    base, spikes = written
    expect = naive(spikes, time_range, channels, labeled_only, max_per_channel)
    with SpikesReader(base) as reader:
        idx = reader.select(
            time_range, channels, labeled_only=labeled_only, max_per_channel=max_per_channel
        )
        assert idx.tolist() == expect
        wf = reader.waveforms(time_range, channels, max_per_channel, labeled_only=labeled_only)
        np.testing.assert_array_equal(wf, spikes.wf[expect])
        assert wf.shape == (len(expect), N_PTS)
        if max_per_channel is None:
            ts = reader.timestamps(time_range, channels, labeled_only)
            np.testing.assert_array_equal(ts, spikes.ts[expect])


def test_time_range_is_half_open_in_samples(tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "edge_0", FS, N_PTS, PRE_PTS) as writer:
        writer.append([29999, 30000, 60000], 0, 1, np.zeros((3, N_PTS)))
    with SpikesReader(tmp_path / "edge_0") as reader:
        assert reader.timestamps((1.0, 2.0)).tolist() == [30000]
        assert reader.timestamps([0.0, 2.0 + 1 / FS]).tolist() == [29999, 30000, 60000]
        assert reader.timestamps((0.0, 1.0)).tolist() == [29999]


@pytest.mark.parametrize("channels", [3, np.int64(3), [3], (3,), np.array([3]), {3}])
def test_channel_filter_forms(written: tuple[Path, Spikes], channels: Any) -> None:
    base, spikes = written
    with SpikesReader(base) as reader:
        np.testing.assert_array_equal(
            reader.timestamps(channels=channels), spikes.ts[spikes.ch == 3]
        )


def test_spike_timestamps_table(written: tuple[Path, Spikes]) -> None:
    base, spikes = written
    labeled = spikes.lab != 0
    with SpikesReader(base) as reader:
        out = reader.spike_timestamps_table()
        assert set(out) == {"timestamps", "labels", "dset_idxs"}
        assert out["timestamps"].dtype == np.float64
        assert out["labels"].dtype == np.int32 and out["dset_idxs"].dtype == np.int32
        np.testing.assert_array_equal(out["timestamps"], spikes.ts[labeled].astype(np.float64))
        np.testing.assert_array_equal(out["labels"], spikes.lab[labeled])
        np.testing.assert_array_equal(out["dset_idxs"], 7 - spikes.ch[labeled])  # table()
        part = reader.spike_timestamps_table((2.0, 4.0), channels=[1])
        keep = naive(spikes, (2.0, 4.0), [1], labeled_only=True)
        np.testing.assert_array_equal(part["timestamps"], spikes.ts[keep])
        assert (part["dset_idxs"] == 6).all()


def test_dset_idxs_default_to_ntv_without_a_channel_table(tmp_path: Path) -> None:
    spikes = Spikes(50, n_channels=4)
    write_set(tmp_path / "bare_0", spikes, channels=None)
    with SpikesReader(tmp_path / "bare_0") as reader:
        out = reader.spike_timestamps_table()
    np.testing.assert_array_equal(out["dset_idxs"], spikes.ch[spikes.lab != 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_range": (2.0, 1.0)}, "t_stop < t_start"),
        ({"time_range": (float("nan"), 1.0)}, "finite"),
        ({"time_range": (1.0,)}, "two finite numbers"),
        ({"channels": ["a"]}, "channel indices"),
        ({"channels": [1.5]}, "channel indices"),
        ({"max_per_channel": -1}, "max_per_channel"),
        ({"max_per_channel": 1.5}, "max_per_channel"),
    ],
)
def test_bad_selection_arguments(
    written: tuple[Path, Spikes], kwargs: dict[str, Any], message: str
) -> None:
    base, _ = written
    with SpikesReader(base) as reader, pytest.raises(ValueError, match=message):
        reader.select(**kwargs)


def test_closed_reader(written: tuple[Path, Spikes]) -> None:
    base, _ = written
    reader = SpikesReader(base)
    wf = reader.waveforms(max_per_channel=1)
    reader.close()
    assert reader.closed and wf.shape == (8, N_PTS)
    with pytest.raises(ValueError, match="closed"):
        reader.timestamps()
    with pytest.raises(ValueError, match="closed"):
        _ = reader.labels


def test_empty_set(tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "none_0", FS, N_PTS, PRE_PTS, start_sample=300) as writer:
        writer.append([], [], [], np.empty((0, N_PTS)), until_sample=30300)
        writer.append(np.empty(0, np.int64), 0, 0, [])
    with SpikesReader(tmp_path / "none_0") as reader:
        assert reader.n_spikes == 0 and reader.metadata.timestamp_range is None
        assert reader.time_range == (300 / FS, 30300 / FS)
        assert reader.timestamps().shape == (0,) and reader.waveforms().shape == (0, N_PTS)
        assert reader.waveforms(max_per_channel=3, channels=[1]).shape == (0, N_PTS)
        out = reader.spike_timestamps_table((0.0, 1.0))
        assert all(v.shape == (0,) for v in out.values())


# ------------------------------------------------------------------ live reading and crashes
def test_reader_sees_the_flushed_prefix_while_writing(tmp_path: Path) -> None:
    spikes = Spikes(400)
    with SpikesWriter(tmp_path / "live_0", FS, N_PTS, PRE_PTS, start_sample=1000) as writer:
        with SpikesReader(tmp_path / "live_0") as empty:
            assert empty.n_spikes == 0 and not empty.metadata.complete
        writer.append(spikes.ts[:100], spikes.ch[:100], spikes.lab[:100], spikes.wf[:100])
        writer.flush()
        writer.append(spikes.ts[100:], spikes.ch[100:], spikes.lab[100:], spikes.wf[100:])
        with SpikesReader(tmp_path / "live_0") as reader:
            n = reader.n_spikes  # 100, or 400 if the interval elapsed in between
            assert n in (100, 400) and not reader.metadata.complete
            np.testing.assert_array_equal(reader.timestamps(), spikes.ts[:n])
            np.testing.assert_array_equal(reader.waveforms(), spikes.wf[:n])
        assert writer.metadata.n_spikes == 400
    with SpikesReader(tmp_path / "live_0") as reader:
        assert reader.n_spikes == 400 and reader.metadata.complete


def test_metadata_is_rewritten_on_append_after_the_interval(tmp_path: Path) -> None:
    wf = np.zeros((1, N_PTS))
    with SpikesWriter(tmp_path / "tick_0", FS, N_PTS, PRE_PTS, flush_interval_s=0.05) as writer:
        writer.append([10], 0, 1, wf)
        time.sleep(0.06)
        writer.append([20], 0, 1, wf)  # past the interval: rewrites
        with SpikesReader(tmp_path / "tick_0") as reader:
            assert reader.n_spikes == 2
        time.sleep(0.06)
        writer.append([], 0, 0, [], until_sample=30000)  # an empty batch still rewrites
        with SpikesReader(tmp_path / "tick_0") as reader:
            assert reader.time_range == (0.0, 1.0)


CRASH_SCRIPT = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {src!r})
from radiens_async.formats.spikes_file import SpikesWriter
rng = np.random.default_rng(5)
ts = np.sort(rng.integers(0, 10**7, 200_000))
ch = rng.integers(0, 32, ts.size)
wf = rng.normal(size=(ts.size, 30)).astype(np.float32)
w = SpikesWriter({base!r}, 30000.0, 30, 10, flush_interval_s=1.0)
for i in range(0, 5000, 100):
    w.append(ts[i:i + 100], ch[i:i + 100], 1, wf[i:i + 100])
w.flush()
for i in range(5000, ts.size, 100):
    w.append(ts[i:i + 100], ch[i:i + 100], 1, wf[i:i + 100])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_writer_leaves_a_readable_prefix(tmp_path: Path) -> None:
    base = tmp_path / "crash_0"
    script = CRASH_SCRIPT.format(src=str(SRC), base=str(base))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert not list(tmp_path.glob(".*partial"))
    rng = np.random.default_rng(5)
    ts = np.sort(rng.integers(0, 10**7, 200_000))
    rng.integers(0, 32, ts.size)
    wf = rng.normal(size=(ts.size, 30)).astype(np.float32)
    assert spikes_paths(base).timestamp.stat().st_size == ts.size * 8  # all on disk ...
    with SpikesReader(base) as reader:
        n = reader.n_spikes  # ... but only what the last rewrite described is visible
        assert 5000 <= n <= ts.size and not reader.metadata.complete
        np.testing.assert_array_equal(reader.timestamps(), ts[:n])
        np.testing.assert_array_equal(reader.waveforms(), wf[:n])


def test_a_failed_write_keeps_the_set_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spikes = Spikes(30)
    writer = SpikesWriter(tmp_path / "full_0", FS, N_PTS, PRE_PTS, start_sample=1000)
    writer.append(spikes.ts[:10], spikes.ch[:10], spikes.lab[:10], spikes.wf[:10])
    writer.flush()
    real = spikes_writer_module._write_all
    calls = []

    def disk_full(fd: int, view: memoryview) -> None:
        calls.append(fd)
        if len(calls) == 3:  # timestamps and channels written, labels fail
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, view)

    monkeypatch.setattr(spikes_writer_module, "_write_all", disk_full)
    with pytest.raises(OSError, match="holds the 10 spikes") as info:
        writer.append(spikes.ts[10:], spikes.ch[10:], spikes.lab[10:], spikes.wf[10:])
    assert info.value.errno == errno.ENOSPC
    monkeypatch.setattr(spikes_writer_module, "_write_all", real)
    with pytest.raises(OSError, match="earlier write"):
        writer.append(spikes.ts[10:], spikes.ch[10:], spikes.lab[10:], spikes.wf[10:])
    writer.close()
    paths = spikes_paths(tmp_path / "full_0")  # cut back to the 10 spikes
    sizes = [p.stat().st_size for p in paths[1:]]
    assert sizes == [10 * 8, 10 * 4, 10 * 4, 10 * N_PTS * 4]
    with SpikesReader(tmp_path / "full_0") as reader:
        assert reader.n_spikes == 10 and not reader.metadata.complete
        np.testing.assert_array_equal(reader.waveforms(), spikes.wf[:10])


# ------------------------------------------------------------------ writer refusals
def test_appends_that_break_the_rules_write_nothing(tmp_path: Path) -> None:
    wf = np.zeros((2, N_PTS))
    with SpikesWriter(
        tmp_path / "rule_0", FS, N_PTS, PRE_PTS, channels=table(4), start_sample=100
    ) as writer:
        writer.append([200, 300], [0, 1], [1, 1], wf)
        bad: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
            (([250, 400], [0, 1], 1, wf), {}, "before the last spike appended"),
            (([400, 350], [0, 1], 1, wf), {}, r"decreases within the batch \(400 then 350"),
            (([400, 500], [0, 9], 1, wf), {}, r"channel\(s\) \[9\] are not among"),
            (([400, 500], [0, -1], 1, wf), {}, r"channel values must be in"),
            (([400, 500], [0, 1], [1, -2], wf), {}, r"label values must be in"),
            (([400, 500], [0, 1], [1, 2**31], wf), {}, r"label values must be in"),
            (([400, 500], [0, 1], 1, wf[:, :-1]), {}, r"waveform must have shape"),
            (([400, 500], [0, 1], 1, wf.astype(complex)), {}, "real numbers"),
            (([400.0, 500.0], [0, 1], 1, wf), {}, "sample_index must hold integers"),
            (([400, 500], [0, 1, 2], 1, wf), {}, r"channel must have shape \(2,\)"),
            (([[400, 500]], 0, 1, wf), {}, r"sample_index must have shape \(n,\)"),
            (([400, 500], [0, 1], 1, wf), {"until_sample": -1}, "until_sample"),
        ]
        for args, kwargs, message in bad:
            with pytest.raises(ValueError, match=message):
                writer.append(*args, **kwargs)
        assert writer.n_spikes == 2 and writer.last_sample == 300
        writer.flush()
    with pytest.raises(ValueError, match="closed"):
        writer.append([400], 0, 1, wf[:1])
    writer.close()  # idempotent
    paths = spikes_paths(tmp_path / "rule_0")
    assert paths.timestamp.stat().st_size == 16 and paths.waveform.stat().st_size == 2 * N_PTS * 4
    with SpikesReader(tmp_path / "rule_0") as reader:
        assert reader.timestamps().tolist() == [200, 300]


def test_spikes_before_start_sample_are_refused(tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "early_0", FS, N_PTS, PRE_PTS, start_sample=100) as writer:
        with pytest.raises(ValueError, match=r"before start_sample \(100\)"):
            writer.append([99], 0, 1, np.zeros((1, N_PTS)))
        writer.append([100], 0, 1, np.zeros((1, N_PTS)))  # equal sample indices are fine
        writer.append([100, 100], 0, 1, np.zeros((2, N_PTS)))


def test_set_units_is_written_with_the_next_rewrite(tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "units_0", FS, N_PTS, PRE_PTS) as writer:
        writer.set_units([SpikesUnit(label=1, channel=2)])
        with SpikesReader(tmp_path / "units_0") as reader:
            assert reader.metadata.units == []
        writer.flush()
        with SpikesReader(tmp_path / "units_0") as reader:
            assert reader.metadata.units == [SpikesUnit(label=1, channel=2)]
        with pytest.raises(ValueError, match="SpikesUnit"):
            writer.set_units([{"label": 1}])  # type: ignore[list-item]


def test_writer_refuses_an_existing_set_and_leaves_it_alone(
    written: tuple[Path, Spikes], tmp_path: Path
) -> None:
    for path in spikes_paths(written[0]):
        shutil.copy(path, tmp_path / path.name)
    base = tmp_path / "rec_0"
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for target in (base, base.with_suffix(".spikes"), base.with_suffix(".xdat")):
        with pytest.raises(FileExistsError, match="never overwritten"):
            SpikesWriter(target, FS, N_PTS, PRE_PTS)
    for path in spikes_paths(base):  # any one file of the set is enough to refuse
        others = [p for p in spikes_paths(base) if p != path]
        for other in others:
            other.rename(other.with_name("moved_" + other.name))
        with pytest.raises(FileExistsError):
            SpikesWriter(base, FS, N_PTS, PRE_PTS)
        for other in others:
            other.with_name("moved_" + other.name).rename(other)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("name", ["", ".spikes", ".xdat", "a.b", "rec.v2.spikes"])
def test_writer_refuses_bad_base_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="base name"):
        SpikesWriter(tmp_path / name if name else str(tmp_path) + "/", FS, N_PTS, PRE_PTS)
    assert listing(tmp_path) == []


def test_writer_refuses_missing_or_unusable_directories(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SpikesWriter(tmp_path / "nope" / "rec_0", FS, N_PTS, PRE_PTS)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        SpikesWriter(tmp_path / "file" / "rec_0", FS, N_PTS, PRE_PTS)
    assert listing(tmp_path) == ["file"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fs": 0.0}, "fs must be"),
        ({"fs": float("inf")}, "fs must be"),
        ({"fs": True}, "fs must be"),
        ({"n_pts": 0}, "n_pts must be"),
        ({"n_pts": 2.0}, "n_pts must be"),
        ({"pre_pts": N_PTS}, "pre_pts must be"),
        ({"pre_pts": -1}, "pre_pts must be"),
        ({"start_sample": -1}, "start_sample"),
        ({"flush_interval_s": 0}, "flush_interval_s"),
        ({"flush_interval_s": 2.0}, "flush_interval_s"),
        ({"channels": [1, 2]}, "SpikesChannel"),
        ({"channels": [SpikesChannel(ntv_idx=1)] * 2}, "unique"),
        ({"units": [1]}, "SpikesUnit"),
        ({"provenance_details": {"x": object()}}, "must be JSON data"),
        ({"extras": {"x": {1: object()}}}, "must be JSON data"),
    ],
)
def test_writer_refuses_bad_arguments_creating_nothing(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"fs": FS, "n_pts": N_PTS, "pre_pts": PRE_PTS, **kwargs}
    with pytest.raises(ValueError, match=message):
        SpikesWriter(tmp_path / "rec_0", **args)
    assert listing(tmp_path) == []


def test_channels_from_xdat(tmp_path: Path) -> None:
    chans = [
        XdatChannel(
            name=f"B-{i:03d}",
            ntv_name=f"B-{i:03d}",
            signal_type="amp",
            ntv_idx=31 - i,
            sys_idx=i,
            site_x_um=float(i),
            site_y_um=2.0 * i,
        )
        for i in range(3)
    ]
    chans.insert(1, XdatChannel(name="DIN-00", ntv_name="DIN-00", signal_type="din", sys_idx=9))
    with XdatWriter(tmp_path / "rec_0", FS, chans):
        pass
    with XdatReader(tmp_path / "rec_0") as rec:
        out = channels_from_xdat(rec.metadata)
    assert [(c.ntv_idx, c.dset_idx, c.name, c.x_um, c.y_um) for c in out] == [
        (31, 0, "B-000", 0.0, 0.0),
        (30, 1, "B-001", 1.0, 2.0),
        (29, 2, "B-002", 2.0, 4.0),
    ]


# ------------------------------------------------------------------ bad files
@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("small") / "small_0"
    write_set(base, Spikes(60, seed=3), units=[SpikesUnit(label=1, cluster_id=0)])
    return base


def copy_set(base: Path, directory: Path) -> Path:
    for path in spikes_paths(base):
        shutil.copy(path, directory / path.name)
    return directory / base.name


def test_missing_metadata(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nothing_0\.spikes\.json: metadata file not found"):
        SpikesReader(tmp_path / "nothing_0")


@pytest.mark.parametrize("which", ["timestamp", "channel", "label", "waveform"])
def test_missing_or_truncated_binary(small: Path, tmp_path: Path, which: str) -> None:
    base = copy_set(small, tmp_path)
    target = getattr(spikes_paths(base), which)
    os.truncate(target, target.stat().st_size - 1)
    with pytest.raises(FormatError, match=f"{target.name}: {which} file is truncated"):
        SpikesReader(base)
    target.unlink()
    with pytest.raises(FormatError, match=f"{target.name}: {which} file not found"):
        SpikesReader(base)


def test_trailing_bytes_are_ignored(small: Path, tmp_path: Path) -> None:
    base = copy_set(small, tmp_path)
    with spikes_paths(base).waveform.open("ab") as f:
        f.write(b"\0" * 7)
    with SpikesReader(base) as reader:
        assert reader.n_spikes == 60


def test_decreasing_timestamps_on_disk(small: Path, tmp_path: Path) -> None:
    base = copy_set(small, tmp_path)
    path = spikes_paths(base).timestamp
    ts = np.fromfile(path, "<i8")
    ts[10], ts[11] = ts[11] + 1, ts[10]
    ts.tofile(path)
    with pytest.raises(FormatError, match="sample indices decrease at spike 11"):
        SpikesReader(base)


def edit_json(base: Path, edit: Any) -> None:
    path = spikes_paths(base).json
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(n_spikes=61), r"timestamp file is truncated"),
        (lambda d: d.update(n_spikes=59), r"holds sample indices .* says timestamp_range"),
        (lambda d: d.update(n_spikes=0), r"timestamp_range must be null exactly when"),
        (lambda d: d.update(n_spikes=-1), r"n_spikes: Input should be greater than or equal"),
        (lambda d: d.update(n_pts=41), r"waveform file is truncated"),
        (lambda d: d.update(pre_pts=40), r"pre_pts=40 must be less than n_pts=40"),
        (lambda d: d.update(fs=0), r"fs: Input should be greater than 0"),
        (lambda d: d.update(fs="30000"), r"fs: Input should be a valid number"),
        (lambda d: d.pop("fs"), r"missing key fs"),
        (lambda d: d.update(format="xdat"), r"format: Input should be 'radiens-spikes'"),
        (lambda d: d.update(format_version=2), r"format_version: Input should be 1"),
        (lambda d: d.update(time_range=[1.0, 0.5]), r"t_stop < t_start"),
        (lambda d: d.update(time_range=[5.0, 6.0]), r"not inside the searched samples"),
        (lambda d: d.update(timestamp_range=[2000, 3000]), r"holds sample indices"),
        (lambda d: d.update(surprise=1), r"surprise: Extra inputs are not permitted"),
        (lambda d: d["channels"][1].update(ntv_idx=0), r"ntv_idx values must be unique"),
        (lambda d: d["channels"][0].update(ntv_idx=-3), r"channels\.0\.ntv_idx"),
        (lambda d: d["units"][0].update(label=True), r"units\.0\.label"),
        (lambda d: d["provenance"].update(created="2024-01-01T00:00:00"), r"timezone"),
        (lambda d: d["provenance"].pop("source"), r"missing key provenance\.source"),
        (lambda d: d.update(complete="yes"), r"complete: Input should be a valid boolean"),
    ],
)
def test_bad_metadata(small: Path, tmp_path: Path, edit: Any, message: str) -> None:
    base = copy_set(small, tmp_path)
    edit_json(base, edit)
    with pytest.raises(FormatError, match=r"small_0[._]\w*\.?spikes(\.json)?: .*" + message):
        SpikesReader(base)


@pytest.mark.parametrize("text", [b"", b"{", b"\xff\xfe\x00garbage", b"[1, 2]", b"null"])
def test_not_a_metadata_document(small: Path, tmp_path: Path, text: bytes) -> None:
    base = copy_set(small, tmp_path)
    spikes_paths(base).json.write_bytes(text)
    with pytest.raises(FormatError, match=r"small_0\.spikes\.json: "):
        SpikesReader(base)


# ------------------------------------------------------------------ mutation fuzzing
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def all_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from all_paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:3]):
            yield (*prefix, i)
            yield from all_paths(value, (*prefix, i))


def mutate(doc: Any, data: st.DataObject) -> None:
    paths = list(all_paths(doc))
    for _ in range(data.draw(st.integers(1, 3), label="n_mutations")):
        path = data.draw(st.sampled_from(paths), label="path")
        holder = doc
        try:
            for key in path[:-1]:
                holder = holder[key]
            value = holder[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
        op = data.draw(st.sampled_from(["delete", "replace", "shorten", "lengthen", "number"]))
        if op == "delete":
            del holder[path[-1]]
        elif op == "shorten" and isinstance(value, list) and value:
            value.pop()
        elif op == "lengthen" and isinstance(value, list):
            value.append(data.draw(JSON_VALUES, label="extra"))
        elif op == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            holder[path[-1]] = value + data.draw(st.sampled_from([-1, 1, -1000, 10**6]))
        else:
            holder[path[-1]] = data.draw(JSON_VALUES, label="value")


def open_and_use(base: Path) -> None:
    with SpikesReader(base) as reader:
        n = reader.n_spikes
        assert reader.timestamps().shape == (n,)
        assert reader.waveforms().shape == (n, reader.n_pts)
        t0, t1 = reader.time_range
        reader.waveforms((t0, (t0 + t1) / 2), channels=[0, 1], max_per_channel=2)
        table_ = reader.spike_timestamps_table((t0, t1))
        assert table_["timestamps"].shape == table_["dset_idxs"].shape
        assert reader.labels.shape == reader.channels.shape == (n,)
        reader.metadata.to_json()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_files_open_or_raise_format_error(small: Path, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = copy_set(small, Path(tmp))
        paths = spikes_paths(base)
        kind = data.draw(st.sampled_from(["json", "json", "json", "json_bytes", "binary"]))
        if kind == "json":
            doc = json.loads(paths.json.read_text())
            mutate(doc, data)
            paths.json.write_text(json.dumps(doc))
        elif kind == "json_bytes":
            raw = paths.json.read_bytes()
            cut = data.draw(st.integers(0, len(raw)), label="cut")
            noise = data.draw(st.binary(max_size=20), label="noise")
            paths.json.write_bytes(raw[:cut] + noise)
        else:
            target = data.draw(st.sampled_from(list(paths[1:])))
            size = target.stat().st_size
            os.truncate(target, data.draw(st.integers(0, size), label="size"))
        try:
            open_and_use(base)
            event("opened")
        except FormatError:
            event("FormatError")


# --- relabelling spikes already written ------------------------------------------------------


def test_relabel_rewrites_only_the_named_labels(tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "late", 30000.0, n_pts=4, pre_pts=1) as w:
        w.append(np.arange(10) * 100, channel=np.arange(10) % 3, label=0,
                 waveform=np.ones((10, 4), np.float32))  # fmt: skip
        w.relabel([2, 3, 4, 8], [1, 1, 2, 5])
        w.append([2000], channel=1, label=7, waveform=np.zeros((1, 4), np.float32))
    with SpikesReader(tmp_path / "late.spikes") as r:
        assert r.labels.tolist() == [0, 0, 1, 1, 2, 0, 0, 0, 5, 0, 7]
        assert r.channels.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1]
        assert r.timestamps().tolist() == [*range(0, 1000, 100), 2000]


@pytest.mark.parametrize(
    ("index", "label", "match"),
    [
        ([3, 2], [1, 1], "increase"),
        ([0, 10], [1, 1], "increase within"),
        ([-1], [1], "increase within"),
        ([1], [-4], "label values"),
        ([1, 2], [1], "shape|length|spike"),
    ],
)
def test_relabel_bad_input_changes_nothing(
    tmp_path: Path, index: list[int], label: list[int], match: str
) -> None:
    with SpikesWriter(tmp_path / "bad", 30000.0, n_pts=2, pre_pts=0) as w:
        w.append(np.arange(10), channel=0, label=3, waveform=np.zeros((10, 2), np.float32))
        with pytest.raises(ValueError, match=match):
            w.relabel(index, label)
    with SpikesReader(tmp_path / "bad.spikes") as r:
        assert (r.labels == 3).all()


def test_relabel_after_close_is_refused(tmp_path: Path) -> None:
    w = SpikesWriter(tmp_path / "closed", 30000.0, n_pts=2, pre_pts=0)
    w.append([5], channel=0, label=1, waveform=np.zeros((1, 2), np.float32))
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.relabel([0], [2])
