"""The Videre service: link datasets, describe them, read their signals and PSD.

Requests are validated here, the work runs in :class:`DatasetCatalog` and the ``dsp`` kernels on
worker threads (a large file never blocks the event loop), and replies are converted to
messages. A window request with an empty dataset ID reads the live Allego cache instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import grpc
import numpy as np

from radiens_async._generated.radiens.v1 import (
    allego_pb2,
    common_pb2,
    datasets_pb2,
    videre_pb2,
    videre_pb2_grpc,
)
from radiens_async.dsp.psd import PsdResult, psd_of_reader
from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.formats.xdat_metadata import SignalKind
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.datasets.file_listing import list_data_files
from radiens_async.hub.datasets.signal_view import (
    KINDS,
    ChannelPick,
    SignalView,
    resolve_columns,
    resolve_window,
)
from radiens_async.hub.status_codes import server_stream, unary
from radiens_async.models.converters.datasets import (
    channel_metadata_to_proto,
    dataset_metadata_to_proto,
)
from radiens_async.models.dataset_metadata import NO_WALLTIME
from radiens_async.utils.enums import FftWindow, PsdScaling

DEFAULT_BLOCK_BYTES = 1 << 20  # loopback gRPC is fastest with ~1 MiB messages
MAX_BLOCK_BYTES = 64 << 20
PICK_CACHE_SIZE = 64  # channel selections (with their channel-table message) kept per hub


def selection_of(
    window: videre_pb2.WindowRequest,
) -> dict[SignalKind, list[int]] | None:
    """The signal selection of a window request (None: the default channels)."""
    if not window.HasField("selection"):
        return None
    sel = window.selection
    return {
        "amp": list(sel.amp),
        "ain": list(sel.ain),
        "din": list(sel.din),
        "dout": list(sel.dout),
    }


def window_time_range(view: SignalView, p0: int, p1: int) -> datasets_pb2.TimeRange:
    """The TimeRange message of positions ``[p0, p1)`` of a view (sample indices, the view's
    stream seconds, fs and the wall clock of ``p0``)."""
    walltime = ""
    if view.walltime is not None:
        start = view.walltime + timedelta(seconds=p0 / view.fs)
        walltime = "" if start == NO_WALLTIME else start.isoformat()
    return datasets_pb2.TimeRange(
        timestamp=[view.first_sample + p0, view.first_sample + p1],
        sec=[view.sec_of(p0), view.sec_of(p1)],
        fs=view.fs,
        walltime=walltime,
    )


def selection_key(window: videre_pb2.WindowRequest) -> tuple[tuple[int, ...], ...] | None:
    """A hashable key of a window's signal selection (None: the default channels)."""
    if not window.HasField("selection"):
        return None
    sel = window.selection
    return tuple(sel.amp), tuple(sel.ain), tuple(sel.din), tuple(sel.dout)


class VidereService(videre_pb2_grpc.VidereServicer):
    """gRPC face of the dataset catalog (and of the live cache for signals and PSD).

    Parameters
    ----------
    catalog : DatasetCatalog
        The hub's linked datasets.
    live_view : callable, optional
        ``() -> SignalView`` of the live Allego cache.
    on_link : callable, optional
        Called with a dataset ID after a link with ``calc_metrics`` (starts the KPI scan).
    """

    def __init__(
        self,
        catalog: DatasetCatalog,
        live_view: Callable[[], SignalView] | None = None,
        on_link: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.live_view = live_view
        self.on_link = on_link
        # (dataset, version, kinds, selection) -> the pick and its channel-table message; a
        # version is never reused, so an entry never describes another opening of a dataset
        self._picks: OrderedDict[
            tuple[object, ...], tuple[ChannelPick, allego_pb2.ChannelMetadataReply]
        ] = OrderedDict()
        self._picks_lock = threading.Lock()  # used from the event loop and worker threads

    # -- datasets -----------------------------------------------------------------------
    @unary
    async def LinkDataFile(
        self, request: videre_pb2.LinkRequest, context: grpc.aio.ServicerContext
    ) -> datasets_pb2.DatasetMetadata:
        if not request.path:
            raise InvalidArgument("path must name a data file")
        meta = await asyncio.to_thread(self.catalog.link, request.path, request.force)
        if request.calc_metrics and self.on_link is not None:
            self.on_link(meta.id)
        return dataset_metadata_to_proto(meta)

    def _resolve_ref(self, request: videre_pb2.DatasetRef) -> str:
        if request.HasField("index"):
            return self.catalog.id_at(request.index)
        if request.dataset_id:
            return request.dataset_id
        if request.path:
            found = self.catalog.find_path(request.path)
            if found is None:
                raise NotFound(f"{request.path} is not a linked data file on this hub")
            return found
        raise InvalidArgument("give a dataset index, a dataset ID or a path")

    @unary
    async def GetDatasetMetadata(
        self, request: videre_pb2.DatasetRef, context: grpc.aio.ServicerContext
    ) -> datasets_pb2.DatasetMetadata:
        dataset_id = self._resolve_ref(request)
        meta = await asyncio.to_thread(self.catalog.metadata, dataset_id)
        return dataset_metadata_to_proto(meta)

    def _list(self) -> videre_pb2.DatasetList:
        return videre_pb2.DatasetList(
            datasets=[
                videre_pb2.DatasetEntry(dataset_id=d, base_name=b) for d, b in self.catalog.ids()
            ]
        )

    @unary
    async def ListDatasets(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> videre_pb2.DatasetList:
        return self._list()

    @unary
    async def ClearDatasets(
        self, request: videre_pb2.ClearRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.ClearReply:
        n = await asyncio.to_thread(self.catalog.clear, list(request.dataset_ids))
        return videre_pb2.ClearReply(num_unlinked=n, remaining=self._list())

    @unary
    async def ListDir(
        self, request: videre_pb2.ListDirRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.ListDirReply:
        entries = await asyncio.to_thread(
            list_data_files, request.directory, request.sort_by or "date", request.include or "all"
        )
        return videre_pb2.ListDirReply(
            entries=[
                videre_pb2.FileSetEntry(**{k: v for k, v in vars(e).items() if k != "mtime"})
                for e in entries
            ]
        )

    # -- windows ------------------------------------------------------------------------
    def _view(self, dataset_id: str) -> SignalView:
        if dataset_id:
            return self.catalog.view(dataset_id)
        if self.live_view is None:
            raise FailedPrecondition("this hub has no live stream")
        return self.live_view()

    def _window(
        self,
        window: videre_pb2.WindowRequest,
        default_kinds: tuple[SignalKind, ...] = KINDS,
        view: SignalView | None = None,
    ) -> tuple[SignalView, int, int, ChannelPick, allego_pb2.ChannelMetadataReply]:
        """The view, positions, channels (and their channel-table message) of a window."""
        if view is None:
            view = self._view(window.dataset_id)
        p0, p1 = resolve_window(view, window.mode, list(window.sec), list(window.timestamp))
        pick, table = self._pick(view, window, default_kinds)
        return view, p0, p1, pick, table

    def _pick(
        self,
        view: SignalView,
        window: videre_pb2.WindowRequest,
        default_kinds: tuple[SignalKind, ...],
    ) -> tuple[ChannelPick, allego_pb2.ChannelMetadataReply]:
        key = None
        if not view.is_live:  # a dataset's channels are fixed per version
            key = (view.dataset_id, view.version, default_kinds, selection_key(window))
            with self._picks_lock:
                cached = self._picks.get(key)
                if cached is not None:
                    self._picks.move_to_end(key)
                    return cached
        pick = resolve_columns(view, selection_of(window), default_kinds)
        entry = pick, channel_metadata_to_proto(pick.channel_metadata)
        if key is not None:
            with self._picks_lock:
                self._picks[key] = entry
                while len(self._picks) > PICK_CACHE_SIZE:
                    self._picks.popitem(last=False)
        return entry

    async def _located(
        self, window: videre_pb2.WindowRequest
    ) -> tuple[SignalView, int, int, ChannelPick, allego_pb2.ChannelMetadataReply]:
        """:meth:`_window` on the event loop when the dataset is open and the catalog free
        (microseconds, and a thread hop costs more), else on a worker thread."""
        view = self.catalog.ready_view(window.dataset_id) if window.dataset_id else None
        if view is not None:
            return self._window(window, KINDS, view)
        return await asyncio.to_thread(self._window, window)

    async def _header(
        self, request: videre_pb2.SignalsRequest
    ) -> tuple[videre_pb2.SignalsHeader, SignalView, int, int, ChannelPick]:
        view, p0, p1, pick, table = await self._located(request.window)
        header = videre_pb2.SignalsHeader(
            dataset_id=view.dataset_id,
            time_range=window_time_range(view, p0, p1),
            n_per_type=list(pick.n_per_type),
            channel_metadata=table,
        )
        local = view.local_file
        if request.allow_local and local is not None:
            header.local.CopyFrom(
                videre_pb2.LocalBuffer(
                    data_path=local.path,
                    n_rows=local.n_rows,
                    n_cols=local.n_cols,
                    row_start=p0,
                    row_stop=p1,
                    columns=pick.columns.tolist(),
                    file_size=local.file_size,
                    mtime_ns=local.mtime_ns,
                )
            )
        return header, view, p0, p1, pick

    @unary
    async def LocateSignals(
        self, request: videre_pb2.SignalsRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.SignalsHeader:
        return (await self._header(request))[0]

    @server_stream
    async def GetSignals(
        self, request: videre_pb2.SignalsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[videre_pb2.SignalsChunk]:
        header, view, p0, p1, pick = await self._header(request)
        yield videre_pb2.SignalsChunk(header=header)
        if header.HasField("local"):
            return
        budget = request.max_block_bytes or DEFAULT_BLOCK_BYTES
        budget = min(max(budget, 1 << 16), MAX_BLOCK_BYTES)
        n_ch = pick.columns.size
        step = max(1, budget // (4 * n_ch))
        cols = pick.slice_or_columns()
        start = p0
        # read the next block while the current one is sent
        pending = asyncio.ensure_future(
            asyncio.to_thread(view.read, start, min(p1, start + step), cols)
        )
        try:
            while start < p1:
                stop = min(p1, start + step)
                data = await pending
                if stop < p1:
                    pending = asyncio.ensure_future(
                        asyncio.to_thread(view.read, stop, min(p1, stop + step), cols)
                    )
                yield videre_pb2.SignalsChunk(
                    block=common_pb2.SampleBlock(
                        first_sample=start - p0,
                        n_channels=n_ch,
                        n_samples=stop - start,
                        samples=data.tobytes(),
                        fs=view.fs,
                    )
                )
                start = stop
        finally:
            if not pending.done():
                pending.cancel()

    @unary
    async def GetPsd(
        self, request: videre_pb2.PsdRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.PsdReply:
        if request.scaling != int(PsdScaling.ABSOLUTE):
            raise InvalidArgument(f"unknown PsdScaling {request.scaling} (ABSOLUTE=0)")
        if request.window_type not in FftWindow._value2member_map_:
            raise InvalidArgument(
                f"unknown FftWindow {request.window_type} (HAMMING_p01=0, HAMMING_p05=1,"
                " PASS_THROUGH=2)"
            )
        if len(request.freq_range) != 2:
            raise InvalidArgument(f"freq_range must be [low, high], got {list(request.freq_range)}")
        window = request.window
        if window.HasField("selection"):
            sel = window.selection
            if len(sel.ain) or len(sel.din) or len(sel.dout):
                raise InvalidArgument("the PSD covers amplifier channels only (sig_sel.amp)")

        def compute() -> tuple[SignalView, int, int, allego_pb2.ChannelMetadataReply, PsdResult]:
            view, p0, p1, pick, table = self._window(window, ("amp",))
            cols = pick.slice_or_columns()
            # read chunk by chunk: any window fits in memory, the result is the whole-signal one
            result = psd_of_reader(
                lambda a, b: view.read(p0 + a, p0 + b, cols),
                pick.columns.size,
                p1 - p0,
                view.fs,
                request.samp_freq if request.HasField("samp_freq") else None,
                (request.freq_range[0], request.freq_range[1]),
                request.collapse_freq,
                FftWindow(request.window_type),
                request.freq_resolution if request.HasField("freq_resolution") else None,
            )
            return view, p0, p1, table, result

        view, p0, p1, table, result = await asyncio.to_thread(compute)
        psd = np.ascontiguousarray(result.psd, dtype="<f8")
        return videre_pb2.PsdReply(
            dataset_id=view.dataset_id,
            time_range=window_time_range(view, p0, p1),
            frequencies=result.freqs.tolist(),
            psd=psd.tobytes(),
            n_channels=psd.shape[0],
            freq_bin_width=result.freq_bin_width,
            window_type=request.window_type,
            scaling=request.scaling,
            samp_freq=result.fs,
            channel_metadata=table,
        )
