"""VidereService in-process: status codes of refused requests and the local-buffer header."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import grpc
import pytest
from dataset_fixtures import FIRST_SAMPLE, write_xdat

from radiens_async._generated.radiens.v1 import videre_pb2
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.servicers import videre_service
from radiens_async.hub.servicers.videre_service import VidereService
from radiens_async.hub.store import HubStore


class Aborted(Exception):
    pass


class FakeContext:
    async def abort(self, code: grpc.StatusCode, message: str) -> None:
        raise Aborted(code, message)


def _service(tmp_path: Path) -> VidereService:
    catalog = DatasetCatalog(HubStore(tmp_path / "hub"))
    path, _ = write_xdat(tmp_path, "svc", n=10_000)
    catalog.link(path)
    return VidereService(catalog)


def _call(coro: Any) -> Any:
    return asyncio.run(coro)


def test_psd_is_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub never holds a whole window: the PSD reads it chunk by chunk."""
    service = _service(tmp_path)
    view = service.catalog.view("svc")
    reads: list[tuple[int, int]] = []

    def spy(dataset_id: str) -> Any:
        def read(a: int, b: int, cols: Any) -> Any:
            reads.append((a, b))
            return view.read(a, b, cols)

        return dataclasses.replace(view, read=read)

    monkeypatch.setattr(service.catalog, "view", spy)
    real = videre_service.psd_of_reader
    monkeypatch.setattr(
        videre_service,
        "psd_of_reader",
        lambda *args, **kwargs: real(*args, **{**kwargs, "chunk_values": 4000}),
    )
    request = videre_pb2.PsdRequest(
        window=videre_pb2.WindowRequest(dataset_id="svc"), freq_range=[10, 300],
        freq_resolution=10.0,
    )  # fmt: skip
    reply = _call(service.GetPsd(request, FakeContext()))
    assert reply.n_channels == 4 and len(reads) >= 3
    assert max(b - a for a, b in reads) < 10_000


def test_bad_requests_map_to_status_codes(tmp_path: Path) -> None:
    service = _service(tmp_path)
    cases = [
        (service.LinkDataFile(videre_pb2.LinkRequest(path=""), FakeContext()), "INVALID_ARGUMENT"),
        (
            service.GetDatasetMetadata(videre_pb2.DatasetRef(dataset_id="zz"), FakeContext()),
            "NOT_FOUND",
        ),
        (service.GetDatasetMetadata(videre_pb2.DatasetRef(), FakeContext()), "INVALID_ARGUMENT"),
        (
            service.GetPsd(
                videre_pb2.PsdRequest(
                    window=videre_pb2.WindowRequest(dataset_id="svc"),
                    freq_range=[1, 300],
                    scaling=3,
                ),
                FakeContext(),
            ),
            "INVALID_ARGUMENT",
        ),
        (
            service.GetPsd(
                videre_pb2.PsdRequest(
                    window=videre_pb2.WindowRequest(dataset_id="svc"),
                    freq_range=[1, 300],
                    window_type=9,
                ),
                FakeContext(),
            ),
            "INVALID_ARGUMENT",
        ),
        (
            service.LocateSignals(
                videre_pb2.SignalsRequest(window=videre_pb2.WindowRequest()), FakeContext()
            ),
            "FAILED_PRECONDITION",
        ),  # no live stream on this service
    ]
    for coro, code in cases:
        with pytest.raises(Aborted) as info:
            _call(coro)
        assert info.value.args[0].name == code, info.value.args


def test_locate_signals_describes_the_file(tmp_path: Path) -> None:
    service = _service(tmp_path)
    request = videre_pb2.SignalsRequest(
        window=videre_pb2.WindowRequest(
            dataset_id="svc",
            timestamp=[FIRST_SAMPLE + 100, FIRST_SAMPLE + 400],
            selection=videre_pb2.SignalSelection(amp=[2, 1]),
        ),
        allow_local=True,
    )
    header = _call(service.LocateSignals(request, FakeContext()))
    local = header.local
    assert Path(local.data_path).name == "svc_data.xdat"
    assert (local.row_start, local.row_stop, list(local.columns)) == (100, 400, [2, 1])
    assert local.n_rows == 10_000 and local.n_cols == 6
    assert local.file_size == (tmp_path / "svc_data.xdat").stat().st_size
    request.allow_local = False
    assert not _call(service.LocateSignals(request, FakeContext())).HasField("local")
