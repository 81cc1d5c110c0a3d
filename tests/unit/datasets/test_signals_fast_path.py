"""The per-call fast path of get_signals: the catalog's ready view, the hub's channel-pick cache,
the client's channel-table cache and its block reads of the data file."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dataset_fixtures import FIRST_SAMPLE, channels, write_xdat

from radiens_async._generated.radiens.v1 import videre_pb2
from radiens_async.client.signals import read_local_buffer
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.servicers.videre_service import VidereService
from radiens_async.hub.store import HubStore
from radiens_async.models.converters.allego import channel_metadata_to_model
from radiens_async.models.converters.videre import cached_channel_metadata


@pytest.fixture
def catalog(tmp_path: Path) -> DatasetCatalog:
    return DatasetCatalog(HubStore(tmp_path / "hub"))


def _locate(
    service: VidereService, dataset_id: str, start: int, stop: int, amp: list[int] | None = None
) -> videre_pb2.SignalsHeader:
    window = videre_pb2.WindowRequest(
        dataset_id=dataset_id, timestamp=[FIRST_SAMPLE + start, FIRST_SAMPLE + stop]
    )
    if amp is not None:
        window.selection.CopyFrom(videre_pb2.SignalSelection(amp=amp))
    request = videre_pb2.SignalsRequest(window=window, allow_local=True)
    return asyncio.run(service.LocateSignals(request, None))  # type: ignore[arg-type]


# -- catalog ------------------------------------------------------------------------------
def test_ready_view_is_the_view_of_an_open_unchanged_dataset(
    catalog: DatasetCatalog, tmp_path: Path
) -> None:
    path, _ = write_xdat(tmp_path, "rv", n=3000)
    catalog.link(path)
    ready, view = catalog.ready_view("rv"), catalog.view("rv")
    assert ready is not None
    assert (ready.version, ready.n_samples, ready.local_file) == (
        view.version, view.n_samples, view.local_file,
    )  # fmt: skip
    data = tmp_path / "rv_data.xdat"
    assert ready.local_file is not None
    assert ready.local_file.file_size == data.stat().st_size
    assert ready.local_file.mtime_ns == data.stat().st_mtime_ns


def test_ready_view_declines_what_needs_work(catalog: DatasetCatalog, tmp_path: Path) -> None:
    """Unknown, changed, gone, cleared or busy: None (and view() does the work / raises)."""
    path, _ = write_xdat(tmp_path, "rd", n=3000)
    catalog.link(path)
    assert catalog.ready_view("nope") is None
    before = catalog.view("rd").version
    os.utime(tmp_path / "rd.xdat.json", ns=(1, 1))
    assert catalog.ready_view("rd") is None
    assert catalog.view("rd").version != before  # reopened
    assert catalog.ready_view("rd") is not None
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with catalog._lock:
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        assert catalog.ready_view("rd") is None
    finally:
        release.set()
        t.join()
    catalog.clear(["rd"])
    assert catalog.ready_view("rd") is None


def test_versions_are_never_reused(catalog: DatasetCatalog, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "ver", n=3000)
    catalog.link(path)
    first = catalog.view("ver").version
    catalog.clear(["ver"])
    catalog.link(path)
    assert catalog.view("ver").version != first


# -- hub ----------------------------------------------------------------------------------
def test_relinked_dataset_gets_its_new_channels(catalog: DatasetCatalog, tmp_path: Path) -> None:
    """The pick cache never answers for another opening of the same dataset ID."""
    service = VidereService(catalog)
    path, _ = write_xdat(tmp_path, "re", n=3000)
    catalog.link(path)
    assert list(_locate(service, "re", 0, 100).n_per_type) == [4, 1, 1, 0]
    assert list(_locate(service, "re", 0, 100, [3, 1]).local.columns) == [3, 1]
    catalog.clear(["re"])
    for f in tmp_path.glob("re*"):
        f.unlink()
    write_xdat(tmp_path, "re", n=3000, chans=channels(n_amp=6, n_ain=0, n_din=0))
    catalog.link(path)
    header = _locate(service, "re", 0, 100)
    assert list(header.n_per_type) == [6, 0, 0, 0]
    assert len(header.channel_metadata.channels) == 6
    assert header.local.n_cols == 6


def test_locate_keeps_the_event_loop_free_while_the_catalog_is_busy(
    catalog: DatasetCatalog, tmp_path: Path
) -> None:
    """With the catalog held (a long link), the call waits on a thread, not on the loop."""
    service = VidereService(catalog)
    path, _ = write_xdat(tmp_path, "busy", n=3000)
    catalog.link(path)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with catalog._lock:
            held.set()
            release.wait(5)

    async def main() -> tuple[int, videre_pb2.SignalsHeader]:
        request = videre_pb2.SignalsRequest(
            window=videre_pb2.WindowRequest(dataset_id="busy"), allow_local=True
        )
        call = asyncio.ensure_future(service.LocateSignals(request, None))  # type: ignore[arg-type]
        ticks = 0
        t_end = time.monotonic() + 0.3
        while time.monotonic() < t_end:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not call.done()
        release.set()
        return ticks, await call

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        ticks, header = asyncio.run(main())
    finally:
        release.set()
        t.join()
    assert ticks >= 10
    assert header.local.row_stop == 3000


# -- client -------------------------------------------------------------------------------
def test_channel_tables_are_converted_once_per_table(
    catalog: DatasetCatalog, tmp_path: Path
) -> None:
    service = VidereService(catalog)
    path, _ = write_xdat(tmp_path, "ct", n=3000)
    catalog.link(path)
    a = _locate(service, "ct", 0, 100).channel_metadata
    b = _locate(service, "ct", 200, 300).channel_metadata
    c = _locate(service, "ct", 0, 100, [2]).channel_metadata
    assert cached_channel_metadata(a) is cached_channel_metadata(b)
    assert cached_channel_metadata(a) == channel_metadata_to_model(a)
    assert cached_channel_metadata(c) == channel_metadata_to_model(c)
    assert cached_channel_metadata(c) != cached_channel_metadata(a)


@pytest.mark.parametrize("amp", [None, [0, 1, 2, 3], [1, 2], [3, 0, 2]])
@pytest.mark.parametrize(("start", "stop"), [(0, 1), (17, 2999), (0, 3000)])
def test_local_reads_equal_the_samples(
    catalog: DatasetCatalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    amp: list[int] | None,
    start: int,
    stop: int,
) -> None:
    from radiens_async.client.backends import hub_dataset_calls

    monkeypatch.setattr(hub_dataset_calls, "TRANSPOSE_BLOCK_BYTES", 1000)  # many blocks
    service = VidereService(catalog)
    path, data = write_xdat(tmp_path, "lr", n=3000)
    catalog.link(path)
    header = _locate(service, "lr", start, stop, amp)
    out = read_local_buffer(header.local)
    assert out is not None and out.dtype == np.float64
    rows = list(header.local.columns)
    np.testing.assert_array_equal(out, data[rows, start:stop])


def _mutated(local: videre_pb2.LocalBuffer, **changes: Any) -> videre_pb2.LocalBuffer:
    copy = videre_pb2.LocalBuffer()
    copy.CopyFrom(local)
    for key, value in changes.items():
        if key == "columns":
            del copy.columns[:]
            copy.columns.extend(value)
        else:
            setattr(copy, key, value)
    return copy


def test_local_reads_refuse_another_version_or_a_bad_description(
    catalog: DatasetCatalog, tmp_path: Path
) -> None:
    """None (the client then asks for the bytes over gRPC) instead of wrong samples."""
    service = VidereService(catalog)
    path, _ = write_xdat(tmp_path, "bad", n=3000)
    catalog.link(path)
    local = _locate(service, "bad", 0, 100).local
    assert read_local_buffer(local) is not None
    for changes in [
        {"file_size": local.file_size + 4},
        {"mtime_ns": local.mtime_ns + 1},
        {"row_stop": local.n_rows + 1},
        {"row_start": 200, "row_stop": 100},
        {"columns": [0, local.n_cols]},
        {"n_rows": local.n_rows * 2},
        {"data_path": str(tmp_path / "missing.xdat")},
    ]:
        assert read_local_buffer(_mutated(local, **changes)) is None, changes
    with open(local.data_path, "r+b") as f:  # shortened under the description
        f.truncate(local.file_size // 2)
    assert read_local_buffer(local) is None
