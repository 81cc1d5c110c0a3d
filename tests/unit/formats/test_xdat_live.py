"""A set being written is readable at any time, and a killed writer leaves a consistent set."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from xdat_fixtures import FS, make_channels, random_signals

from radiens_async.formats.xdat import XdatReader, XdatWriter, xdat_paths

SRC = Path(__file__).resolve().parents[3] / "src"


def test_reader_sees_flushed_prefix_while_writing(tmp_path: Path) -> None:
    chans = make_channels()
    data = random_signals(chans, 200_000, seed=3)
    with XdatWriter(
        tmp_path / "live_0", FS, chans, first_sample=500, flush_interval_s=3600
    ) as writer:
        with XdatReader(tmp_path / "live_0") as empty:  # openable before any sample
            assert empty.n_samples == 0 and empty.read().shape == (len(chans), 0)
        writer.append(data[:, :10_000])
        writer.flush()
        # more than the staging buffer: reaches the file, but the metadata is not rewritten
        writer.append(data[:, 10_000:150_000])
        assert xdat_paths(tmp_path / "live_0").data.stat().st_size > 10_000 * len(chans) * 4
        with XdatReader(tmp_path / "live_0") as reader:
            assert reader.n_samples == 10_000
            np.testing.assert_array_equal(reader.read(), data[:, :10_000])
            np.testing.assert_array_equal(np.asarray(reader.timestamps), 500 + np.arange(10_000))
        assert writer.metadata.n_samples == 150_000
        writer.append(data[:, 150_000:])
    with XdatReader(tmp_path / "live_0") as reader:
        np.testing.assert_array_equal(reader.read(), data)


def test_metadata_is_rewritten_on_append_after_the_interval(tmp_path: Path) -> None:
    chans = make_channels(4, 0, 0, 0)
    with XdatWriter(tmp_path / "tick_0", FS, chans, flush_interval_s=0.05) as writer:
        writer.append(np.ones((4, 300), np.float32))
        time.sleep(0.06)
        writer.append(np.ones((4, 300), np.float32))  # past the interval: rewrites
        with XdatReader(tmp_path / "tick_0") as reader:
            assert reader.n_samples == 600
        writer.append(np.ones((4, 300), np.float32))  # within the interval: staged only
        with XdatReader(tmp_path / "tick_0") as reader:
            assert reader.n_samples == 600
    with XdatReader(tmp_path / "tick_0") as reader:
        assert reader.n_samples == 900


CRASH_SCRIPT = """
import os, signal, sys
import numpy as np
sys.path.insert(0, {src!r})
from xdat_fixtures import FS, make_channels, random_signals
from radiens_async.formats.xdat import XdatWriter
chans = make_channels()
data = random_signals(chans, 200_000, seed=5)
w = XdatWriter({base!r}, FS, chans, first_sample=777, flush_interval_s=3600)
for i in range(0, 30_000, 300):
    w.append(data[:, i:i + 300], first_sample=777 + i)
w.flush()
for i in range(30_000, 200_000, 300):
    w.append(data[:, i:i + 300])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_writer_leaves_a_consistent_set(tmp_path: Path) -> None:
    base = tmp_path / "crash_0"
    script = CRASH_SCRIPT.format(src=str(SRC), base=str(base))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent)])}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    chans = make_channels()
    data = random_signals(chans, 200_000, seed=5)
    paths = xdat_paths(base)
    assert paths.data.stat().st_size > 30_000 * len(chans) * 4  # unflushed trailing bytes
    assert not list(tmp_path.glob(".*partial"))
    with XdatReader(base) as reader:
        assert reader.n_samples == 30_000
        assert reader.metadata.timestamp_range == (777, 777 + 29_999)
        np.testing.assert_array_equal(reader.read(), data[:, :30_000])

    from neo.rawio import NeuroNexusRawIO

    io = NeuroNexusRawIO(filename=str(paths.json))
    io.parse_header()
    index = list(io.header["signal_streams"]["id"]).index("ai-pri")
    assert io.get_signal_size(0, 0, index) == 30_000
    chunk = io.get_analogsignal_chunk(0, 0, None, None, stream_index=index)
    np.testing.assert_array_equal(chunk.T, data[:8, :30_000])
    assert json.loads(paths.json.read_text())["status"]["shape"] == [30_000, len(chans)]


def test_gaps_overlaps_and_bad_blocks_are_refused(tmp_path: Path) -> None:
    chans = make_channels(4, 0, 0, 0)
    with XdatWriter(tmp_path / "gap_0", FS, chans, first_sample=100) as writer:
        writer.append(np.zeros((4, 10), np.float32), first_sample=100)
        with pytest.raises(ValueError, match="gap of 5 samples"):
            writer.append(np.zeros((4, 10), np.float32), first_sample=115)
        with pytest.raises(ValueError, match="overlap of 1 samples"):
            writer.append(np.zeros((4, 10), np.float32), first_sample=109)
        with pytest.raises(ValueError, match="shape"):
            writer.append(np.zeros((3, 10), np.float32))
        with pytest.raises(ValueError, match="shape"):
            writer.append(np.zeros(40, np.float32))
        with pytest.raises(ValueError, match="real numbers"):
            writer.append(np.zeros((4, 10), np.complex64))
        assert writer.n_samples == 10 and writer.next_sample == 110
    with pytest.raises(ValueError, match="closed"):
        writer.append(np.zeros((4, 10), np.float32))
    writer.close()  # idempotent
    with XdatReader(tmp_path / "gap_0") as reader:
        assert reader.n_samples == 10


def test_sample_major_and_other_dtypes(tmp_path: Path) -> None:
    chans = make_channels(3, 1, 0, 0)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 5000))  # float64: cast to float32
    b = rng.integers(0, 2, size=(4, 7))
    c = rng.normal(size=(11, 4)).astype(np.float32)
    with XdatWriter(tmp_path / "mix_0", FS, chans) as writer:
        writer.append(a)
        writer.append(b)
        writer.append_sample_major(c)
        with pytest.raises(ValueError, match=r"\(n, n_channels\)"):
            writer.append_sample_major(c.T)
    expect = np.concatenate([a.astype(np.float32), b.astype(np.float32), c.T], axis=1)
    with XdatReader(tmp_path / "mix_0") as reader:
        np.testing.assert_array_equal(reader.read(), expect)


def test_block_larger_than_staging_buffer(tmp_path: Path) -> None:
    chans = make_channels(1024, 0, 0, 0)
    data = random_signals(chans, 3000, seed=2)  # 12 MB: three staging buffers
    with XdatWriter(tmp_path / "big_0", FS, chans) as writer:
        writer.append(data)
    with XdatReader(tmp_path / "big_0") as reader:
        np.testing.assert_array_equal(reader.read(), data)
        np.testing.assert_array_equal(np.asarray(reader.timestamps), np.arange(3000))
