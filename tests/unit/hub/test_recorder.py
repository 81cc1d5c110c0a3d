"""The recorder: never blocks acquisition, never loses a queued sample, fails loudly when full."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter
from radiens_async.hub.daq.recorder import Recorder
from radiens_async.hub.daq.recording_config import RecordingConfig
from radiens_async.hub.daq.signal_cache import SignalCache

N_CH = 4
BLOCK = 30


def _channels() -> list[XdatChannel]:
    return [
        XdatChannel(name=f"A-{i:03d}", ntv_name=f"A-{i:03d}", signal_type="amp", ntv_idx=i)
        for i in range(N_CH)
    ]


class GatedWriter(XdatWriter):
    """A writer whose disk stalls until ``gate`` is set (a slow disk)."""

    gate: threading.Event

    def append(self, block: Any, first_sample: int | None = None) -> None:
        self.gate.wait(30)
        super().append(block, first_sample)


def _block(first: int) -> np.ndarray:
    rng = np.random.default_rng(first)
    return rng.standard_normal((N_CH, BLOCK)).astype(np.float32)


def _cache_with(n_blocks: int) -> SignalCache:
    cache = SignalCache(N_CH, 100 * BLOCK, BLOCK)
    for k in range(n_blocks):
        cache.append(_block(k * BLOCK))
    return cache


def test_slow_disk_never_blocks_offer_and_loses_nothing(tmp_path: Path) -> None:
    writer = GatedWriter(tmp_path / "slow_0", 30000.0, _channels())
    writer.gate = threading.Event()
    cache = _cache_with(0)
    recorder = Recorder(writer, 0, cache, "slow_0.xdat")
    blocks = [_block(k * BLOCK) for k in range(200)]
    # the disk is stalled: every offer still returns (this thread would hang otherwise)
    for k, block in enumerate(blocks):
        recorder.offer(block, k * BLOCK)
    assert recorder.recorded_samples == 200 * BLOCK
    assert recorder.progress.samples_queued >= 199 * BLOCK
    writer.gate.set()
    recorder.finish()
    assert recorder.join(30)
    assert recorder.progress == type(recorder.progress)(200 * BLOCK, 0, "")
    with XdatReader(tmp_path / "slow_0.xdat") as reader:
        assert np.array_equal(reader.read(), np.concatenate(blocks, axis=1))
        assert np.array_equal(reader.timestamps, np.arange(200 * BLOCK))


def test_full_queue_fails_loudly_and_keeps_file_consistent(tmp_path: Path) -> None:
    writer = GatedWriter(tmp_path / "full_0", 30000.0, _channels())
    writer.gate = threading.Event()
    block_bytes = N_CH * BLOCK * 4
    recorder = Recorder(writer, 0, _cache_with(0), "full_0.xdat", max_queue_bytes=10 * block_bytes)
    for k in range(20):
        recorder.offer(_block(k * BLOCK), k * BLOCK)
    writer.gate.set()
    recorder.finish()
    assert recorder.join(30)
    error = recorder.progress.error
    assert "disk too slow" in error
    with XdatReader(tmp_path / "full_0.xdat") as reader:
        n = reader.n_samples
        assert 0 < n <= 11 * BLOCK
        assert np.array_equal(reader.timestamps, np.arange(n))
        expected = np.concatenate([_block(k * BLOCK) for k in range(n // BLOCK)], axis=1)
        assert np.array_equal(reader.read(), expected)


def test_blocks_before_start_are_skipped_and_gaps_backfilled(tmp_path: Path) -> None:
    cache = _cache_with(10)  # samples [0, 300) acquired
    writer = XdatWriter(tmp_path / "mid_0", 30000.0, _channels(), first_sample=5 * BLOCK)
    recorder = Recorder(writer, 5 * BLOCK, cache, "mid_0.xdat")
    recorder.offer(_block(4 * BLOCK), 4 * BLOCK)  # before the start: ignored
    # blocks 5..9 were acquired before the recorder was registered: backfilled from the cache
    cache.append(_block(10 * BLOCK))
    recorder.offer(_block(10 * BLOCK), 10 * BLOCK)
    recorder.finish()
    assert recorder.join(30)
    with XdatReader(tmp_path / "mid_0.xdat") as reader:
        assert np.array_equal(reader.timestamps, np.arange(5 * BLOCK, 11 * BLOCK))
        expected = np.concatenate([_block(k * BLOCK) for k in range(5, 11)], axis=1)
        assert np.array_equal(reader.read(), expected)


def test_offer_after_finish_is_ignored(tmp_path: Path) -> None:
    writer = XdatWriter(tmp_path / "done_0", 30000.0, _channels())
    recorder = Recorder(writer, 0, _cache_with(0), "done_0.xdat")
    recorder.offer(_block(0), 0)
    recorder.finish()
    recorder.offer(_block(BLOCK), BLOCK)
    assert recorder.join(30)
    with XdatReader(tmp_path / "done_0.xdat") as reader:
        assert reader.n_samples == BLOCK


def test_recording_config_naming(tmp_path: Path) -> None:
    cfg = RecordingConfig.checked(str(tmp_path), "allego", 0, True)
    assert cfg.file_set_name(datetime(2024, 9, 6, 13, 55, 32)) == "allego_0__uid0906-13-55-32"
    plain = RecordingConfig.checked(str(tmp_path), "my_rec", 12, False)
    assert plain.file_set_name(datetime(2024, 9, 6)) == "my_rec_12"
    assert plain.next_index().index == 13


@pytest.mark.parametrize(
    ("path", "base", "index", "error", "match"),
    [
        ("{tmp}/missing", "rec", 0, NotFound, "does not exist"),
        ("{tmp}", "", 0, InvalidArgument, "empty"),
        ("{tmp}", "   ", 0, InvalidArgument, "empty"),
        ("{tmp}", "a/b", 0, InvalidArgument, "must not contain"),
        ("{tmp}", "a.b", 0, InvalidArgument, "must not contain"),
        ("{tmp}", "rec", -1, InvalidArgument, ">= 0"),
        ("relative/dir", "rec", 0, InvalidArgument, "absolute"),
        ("", "rec", 0, InvalidArgument, "empty"),
    ],
)
def test_recording_config_bad_input(
    tmp_path: Path, path: str, base: str, index: int, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RecordingConfig.checked(path.format(tmp=tmp_path), base, index, True)
