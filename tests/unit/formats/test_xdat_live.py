"""A set being written is readable at any time, and a killed writer leaves a consistent set."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from xdat_fixtures import FS, make_channels, random_signals

from radiens_async.formats import xdat_writer
from radiens_async.formats.xdat import XdatReader, XdatWriter, xdat_paths

SRC = Path(__file__).resolve().parents[3] / "src"
HERE = Path(__file__).resolve().parent


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds (the writer's I/O thread works in the background)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def described(base: Path) -> int:
    with XdatReader(base) as reader:
        return reader.n_samples


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The writer's metadata schedule runs on this clock: ``now[0]`` seconds."""
    now = [1000.0]
    monkeypatch.setattr(xdat_writer, "_clock", lambda: now[0])
    yield now


def test_reader_sees_flushed_prefix_while_writing(tmp_path: Path) -> None:
    chans = make_channels()
    data = random_signals(chans, 400_000, seed=3)
    paths = xdat_paths(tmp_path / "live_0")
    with XdatWriter(
        tmp_path / "live_0", FS, chans, first_sample=500, flush_interval_s=3600
    ) as writer:
        with XdatReader(tmp_path / "live_0") as empty:  # openable before any sample
            assert empty.n_samples == 0 and empty.read().shape == (len(chans), 0)
        writer.append(data[:, :10_000])
        writer.flush()
        # several staging buffers: they reach the file, but the metadata is not rewritten
        writer.append(data[:, 10_000:350_000])
        wait_for(lambda: paths.data.stat().st_size > 200_000 * len(chans) * 4)
        with XdatReader(tmp_path / "live_0") as reader:
            assert reader.n_samples == 10_000
            np.testing.assert_array_equal(reader.read(), data[:, :10_000])
            np.testing.assert_array_equal(np.asarray(reader.timestamps), 500 + np.arange(10_000))
        assert writer.metadata.n_samples == 350_000
        writer.append(data[:, 350_000:])
    with XdatReader(tmp_path / "live_0") as reader:
        np.testing.assert_array_equal(reader.read(), data)
        np.testing.assert_array_equal(np.asarray(reader.timestamps), 500 + np.arange(400_000))


def test_metadata_is_rewritten_when_an_append_finds_the_interval_elapsed(
    tmp_path: Path, fake_clock: list[float]
) -> None:
    chans = make_channels(4, 0, 0, 0)
    base = tmp_path / "tick_0"
    with XdatWriter(base, FS, chans, flush_interval_s=1.0) as writer:
        writer.append(np.ones((4, 300), np.float32))
        fake_clock[0] += 0.9
        writer.append(np.ones((4, 300), np.float32))  # within the interval: staged only
        time.sleep(0.05)
        assert described(base) == 0
        fake_clock[0] += 0.2
        writer.append(np.ones((4, 300), np.float32))  # past it: handed over with a rewrite
        wait_for(lambda: described(base) == 900)
        fake_clock[0] += 0.5
        writer.append(np.ones((4, 300), np.float32))
        time.sleep(0.05)
        assert described(base) == 900
        fake_clock[0] += 0.6
        writer.append(np.ones((4, 300), np.float32))
        wait_for(lambda: described(base) == 1500)
    assert described(base) == 1500


def test_concurrent_readers_always_see_a_consistent_prefix(tmp_path: Path) -> None:
    chans = make_channels()
    data = random_signals(chans, 300_000, seed=4)
    base = tmp_path / "conc_0"
    seen: list[int] = []
    problems: list[BaseException] = []
    stop = threading.Event()

    def read_repeatedly() -> None:
        try:
            while not stop.is_set():
                with XdatReader(base) as reader:
                    n = reader.n_samples
                    np.testing.assert_array_equal(reader.read(), data[:, :n])
                    np.testing.assert_array_equal(np.asarray(reader.timestamps), np.arange(n))
                seen.append(n)
        except BaseException as exc:
            problems.append(exc)

    with XdatWriter(base, FS, chans, flush_interval_s=0.002) as writer:
        thread = threading.Thread(target=read_repeatedly)
        thread.start()
        for i in range(0, 300_000, 300):
            writer.append(data[:, i : i + 300], first_sample=i)
            if i % 30_000 == 0:
                time.sleep(0.01)
    stop.set()
    thread.join()
    assert not problems, problems[0]
    assert seen == sorted(seen) and len(set(seen)) > 3
    assert described(base) == 300_000


# The writer appends 1 ms blocks in real time and reports what it appended; it is killed with
# SIGKILL at a random moment (by the test) or right after its I/O thread wrote samples that the
# metadata does not describe yet (by itself).
WRITER_SCRIPT = """
import os, signal, sys, time
import numpy as np
from xdat_fixtures import FS, make_channels, random_signals
from radiens_async.formats.xdat import XdatWriter, xdat_paths
mode, base = sys.argv[1], sys.argv[2]
chans = make_channels()
data = random_signals(chans, 300_000, seed=5)
if mode == "self":
    w = XdatWriter(base, FS, chans, first_sample=777, flush_interval_s=3600)
    for i in range(0, 30_000, 300):
        w.append(data[:, i:i + 300], first_sample=777 + i)
    w.flush()
    for i in range(30_000, 300_000, 300):
        w.append(data[:, i:i + 300])
    data_file = xdat_paths(base).data
    while data_file.stat().st_size < 200_000 * len(chans) * 4:
        time.sleep(0.001)
    os.kill(os.getpid(), signal.SIGKILL)
w = XdatWriter(base, FS, chans, first_sample=777)
print("ready", flush=True)
t0 = time.monotonic()
pos = 0
while pos < data.shape[1]:
    due = round((time.monotonic() - t0) * FS)  # samples acquired so far
    while pos < min(due, data.shape[1]):
        w.append(data[:, pos:pos + 30], first_sample=777 + pos)
        pos += 30
    print(pos, flush=True)
    time.sleep(0.001)
"""


def run_writer(mode: str, base: Path, kill_after_s: float = 0.0) -> int:
    """Run the writer script; return the samples it reported appended before it died."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, mode, str(base)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    appended = 0
    if mode == "random":
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        deadline = time.monotonic() + kill_after_s
        for line in proc.stdout:
            appended = int(line)
            if time.monotonic() >= deadline:
                proc.send_signal(signal.SIGKILL)
                break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    return appended


def check_consistent(base: Path, at_least: int) -> int:
    """The set opens in our reader and in neo, holding a bit-identical prefix."""
    chans = make_channels()
    data = random_signals(chans, 300_000, seed=5)
    paths = xdat_paths(base)
    doc = json.loads(paths.json.read_text())
    n = doc["status"]["shape"][0]
    assert at_least <= n
    assert paths.data.stat().st_size >= n * len(chans) * 4  # never describes unwritten samples
    assert paths.timestamp.stat().st_size >= n * 8
    with XdatReader(base) as reader:
        assert reader.n_samples == n
        assert reader.metadata.timestamp_range == (777, 777 + n - 1)
        np.testing.assert_array_equal(reader.read(), data[:, :n])
        np.testing.assert_array_equal(np.asarray(reader.timestamps), 777 + np.arange(n))

    from neo.rawio import NeuroNexusRawIO

    io = NeuroNexusRawIO(filename=str(paths.json))
    io.parse_header()
    index = list(io.header["signal_streams"]["id"]).index("ai-pri")
    assert io.get_signal_size(0, 0, index) == n
    chunk = io.get_analogsignal_chunk(0, 0, None, None, stream_index=index)
    np.testing.assert_array_equal(chunk.T, data[:8, :n])
    return n


def test_writer_killed_after_unflushed_writes_leaves_the_described_prefix(tmp_path: Path) -> None:
    base = tmp_path / "crash_0"
    run_writer("self", base)
    assert xdat_paths(base).data.stat().st_size >= 200_000 * 14 * 4  # trailing bytes
    assert check_consistent(base, at_least=30_000) == 30_000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_writer_killed_at_a_random_moment_loses_at_most_a_second(tmp_path: Path, seed: int) -> None:
    kill_after = random.Random(seed).uniform(0.8, 2.5)
    base = tmp_path / "crash_0"
    appended = run_writer("random", base, kill_after)
    assert appended > 0
    n = check_consistent(base, at_least=0)
    # default flush_interval_s is 0.5 s; one second of margin covers a loaded machine
    assert appended - n <= FS * 1.0, f"lost {(appended - n) / FS:.2f} s"


def test_gaps_overlaps_and_bad_blocks_are_refused(tmp_path: Path) -> None:
    chans = make_channels(4, 0, 0, 0)
    with XdatWriter(tmp_path / "gap_0", FS, chans, first_sample=100) as writer:
        writer.append(np.zeros((4, 10), np.float32), first_sample=100)
        with pytest.raises(ValueError, match="gap of 5 samples"):
            writer.append(np.zeros((4, 10), np.float32), first_sample=115)
        with pytest.raises(ValueError, match="overlap of 1 samples"):
            writer.append(np.zeros((4, 10), np.float32), first_sample=109)
        with pytest.raises(ValueError, match="overlap of 110 samples"):
            writer.append(np.zeros((4, 10), np.float32), first_sample=0)
        with pytest.raises(ValueError, match="overlap"):
            writer.append(np.zeros((4, 10), np.float32), first_sample=-5)
        with pytest.raises(ValueError, match="shape"):
            writer.append(np.zeros((3, 10), np.float32))
        with pytest.raises(ValueError, match="shape"):
            writer.append(np.zeros(40, np.float32))
        with pytest.raises(ValueError, match="real numbers"):
            writer.append(np.zeros((4, 10), np.complex64))
        with pytest.raises(ValueError, match="real numbers"):
            writer.append([["a"] * 10] * 4)
        assert writer.n_samples == 10 and writer.next_sample == 110
    with pytest.raises(ValueError, match="closed"):
        writer.append(np.zeros((4, 10), np.float32))
    with pytest.raises(ValueError, match="closed"):
        writer.flush()
    writer.close()  # idempotent
    assert writer.closed
    with XdatReader(tmp_path / "gap_0") as reader:
        assert reader.n_samples == 10


def test_sample_major_and_other_dtypes(tmp_path: Path) -> None:
    chans = make_channels(3, 1, 0, 0)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 5000))  # float64: cast to float32
    b = rng.integers(0, 2, size=(4, 7))
    c = rng.normal(size=(11, 4)).astype(np.float32)
    d = rng.normal(size=(4, 9)).astype(">f4")  # big-endian
    e = rng.normal(size=(8, 20)).astype(np.float32)[::2, ::-1]  # strided, negative stride
    f = np.asfortranarray(rng.normal(size=(4, 13)).astype(np.float32))
    with XdatWriter(tmp_path / "mix_0", FS, chans) as writer:
        writer.append(a)
        writer.append(b)
        writer.append_sample_major(c)
        writer.append(d)
        writer.append(e)
        writer.append(f)
        writer.append(np.zeros((4, 0), np.float32))  # empty blocks are fine
        with pytest.raises(ValueError, match=r"\(n, n_channels\)"):
            writer.append_sample_major(c.T)
    expect = np.concatenate(
        [a.astype(np.float32), b.astype(np.float32), c.T, d.astype(np.float32), e, f], axis=1
    )
    with XdatReader(tmp_path / "mix_0") as reader:
        np.testing.assert_array_equal(reader.read(), expect)


def test_block_larger_than_staging_buffers(tmp_path: Path) -> None:
    chans = make_channels(1024, 0, 0, 0)
    data = random_signals(chans, 6000, seed=2)  # 24 MB: a dozen staging buffers
    with XdatWriter(tmp_path / "big_0", FS, chans) as writer:
        writer.append(data)
        writer.append(data[:, :1])
    with XdatReader(tmp_path / "big_0") as reader:
        np.testing.assert_array_equal(reader.read()[:, :6000], data)
        np.testing.assert_array_equal(reader.read()[:, 6000], data[:, 0])
        np.testing.assert_array_equal(np.asarray(reader.timestamps), np.arange(6001))


def test_append_copies_the_block(tmp_path: Path) -> None:
    chans = make_channels(4, 0, 0, 0)
    block = np.ones((4, 100), np.float32)
    with XdatWriter(tmp_path / "copy_0", FS, chans) as writer:
        writer.append(block)
        block[:] = 7.0  # the caller may reuse its buffer once append returned
        writer.append(block)
    with XdatReader(tmp_path / "copy_0") as reader:
        out = reader.read()
    assert np.all(out[:, :100] == 1.0) and np.all(out[:, 100:] == 7.0)


def test_fsync_mode_writes_the_same_set(tmp_path: Path) -> None:
    chans = make_channels()
    data = random_signals(chans, 50_000, seed=6)
    for name, fsync in (("a_0", False), ("b_0", True)):
        with XdatWriter(tmp_path / name, FS, chans, fsync=fsync, flush_interval_s=0.001) as w:
            for i in range(0, 50_000, 1000):
                w.append(data[:, i : i + 1000])
                time.sleep(0.001)
    a, b = xdat_paths(tmp_path / "a_0"), xdat_paths(tmp_path / "b_0")
    assert a.data.read_bytes() == b.data.read_bytes()
    assert a.timestamp.read_bytes() == b.timestamp.read_bytes()
    doc_a, doc_b = json.loads(a.json.read_text()), json.loads(b.json.read_text())
    del doc_a["status"]["start_time"], doc_b["status"]["start_time"]
    assert doc_a == doc_b


def failing_writes(after: int) -> Callable[[int, memoryview], None]:
    calls = [0]
    real = xdat_writer._write_all

    def write_all(fd: int, view: memoryview) -> None:
        calls[0] += 1
        if calls[0] > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, view)

    return write_all


def test_a_write_error_is_raised_by_the_next_call_and_the_set_stays_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chans = make_channels()
    data = random_signals(chans, 100_000, seed=7)
    base = tmp_path / "full_0"
    writer = XdatWriter(base, FS, chans, flush_interval_s=3600)
    writer.append(data[:, :1000])
    writer.flush()  # data, timestamps, metadata: three writes
    monkeypatch.setattr(xdat_writer, "_write_all", failing_writes(after=3))
    with pytest.raises(OSError, match="No space left") as info:
        for i in range(1000, 100_000, 1000):  # fills staging buffers until the error shows
            writer.append(data[:, i : i + 1000])
        writer.flush()
    assert info.value.errno == errno.ENOSPC
    assert "holds the 1000 samples its metadata describes" in str(info.value)
    with pytest.raises(OSError, match="No space left"):
        writer.append(data[:, :10])
    with pytest.raises(OSError, match="No space left"):
        writer.close()
    assert writer.closed
    writer.close()  # idempotent, and quiet now
    monkeypatch.undo()
    with XdatReader(base) as reader:
        assert reader.n_samples == 1000
        np.testing.assert_array_equal(reader.read(), data[:, :1000])


def test_a_failed_metadata_rewrite_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chans = make_channels(4, 0, 0, 0)
    base = tmp_path / "meta_0"
    writer = XdatWriter(base, FS, chans)
    writer.append(np.ones((4, 10), np.float32))

    def replace(src: Any, dst: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(xdat_writer.os, "replace", replace)
    with pytest.raises(OSError, match="Permission denied"):
        writer.flush()
    monkeypatch.undo()
    with pytest.raises(OSError, match="Permission denied"):
        writer.close()
    assert described(base) == 0


def test_repr_and_properties(tmp_path: Path) -> None:
    chans = make_channels(4, 0, 0, 0)
    with XdatWriter(tmp_path / "p_0", 1000, chans, first_sample=5) as writer:
        writer.append(np.zeros((4, 3), np.float32))
        assert writer.fs == 1000.0 and writer.n_channels == 4
        assert writer.n_samples == 3 and writer.next_sample == 8
        assert writer.metadata.timestamp_range == (5, 7)
        assert "n_samples=3, open" in repr(writer)
    assert "closed" in repr(writer)
