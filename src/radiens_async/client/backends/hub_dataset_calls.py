"""Windows of signals, PSD, signal metrics and dataset spikes over our hub's ``radiens.v1``
Videre, SignalMetrics and Neurons services, addressed by dataset id.

The hub addresses its live cache as the dataset ``''``: :class:`HubAllegoBackend
<radiens_async.client.backends.hub_allego.HubAllegoBackend>` uses these calls with that id, and
the Videre / Curate sub-clients with the ids of linked datasets (the seam where a Videre
backend of the Radiens protocol slots in later).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from radiens_async._generated.radiens.v1 import neurons_grpc, neurons_pb2, videre_pb2
from radiens_async.client.backends.arguments import MetricsParam, PsdSettings, SignalWindow
from radiens_async.client.transport import HubTransport
from radiens_async.client.tuned_channel import flow_window_bytes
from radiens_async.client.videre_calls import VidereCalls
from radiens_async.errors import RemoteError
from radiens_async.models.converters.videre import (
    metrics_params_frame,
    metrics_status_to_model,
    metrics_to_model,
    psd_to_model,
    signals_to_model,
)
from radiens_async.models.dataset_signals import DatasetSignals
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus

__all__ = ["LIVE_DATASET_ID", "HubDatasetCalls", "read_local_buffer", "window_to_proto"]

LIVE_DATASET_ID = ""
PACKET_DUR = 100  # our SignalMetrics.SetParam command for the packet duration
SIGNALS_BLOCK_BYTES = 1 << 20  # measured fastest on loopback (256 KiB .. 64 MiB)
SIGNALS_WINDOW_BYTES = 64 << 20
TRANSPOSE_BLOCK_BYTES = 1 << 20
INLINE_READ_BYTES = 16 << 20  # local reads up to this size run on the event loop (~2 ms)


def window_to_proto(dataset_id: str, window: SignalWindow) -> videre_pb2.WindowRequest:
    """The ``radiens.v1`` window of ``dataset_id`` (``''``: the live cache)."""
    req = videre_pb2.WindowRequest(
        dataset_id=dataset_id,
        mode=int(window.mode),
        sec=list(window.sec),
        timestamp=list(window.timestamp),
    )
    sel = window.selection
    if sel is not None:
        req.selection.CopyFrom(
            videre_pb2.SignalSelection(
                amp=sel.amp.tolist(),
                ain=sel.gpio_ain.tolist(),
                din=sel.gpio_din.tolist(),
                dout=sel.gpio_dout.tolist(),
            )
        )
    return req


def _metric_ids(metrics: Sequence[MetricID]) -> list[videre_pb2.MetricId]:
    return [videre_pb2.MetricId(mode=int(m.mode), name=int(m.name)) for m in metrics]


def read_local_buffer(local: videre_pb2.LocalBuffer) -> npt.NDArray[np.float64] | None:
    """The samples the hub described, read from its float32 ``(n_rows, n_cols)`` data file
    (float64, channel-major), or None when the file is not the version the hub described.

    The rows are read in blocks of ~1 MiB into one buffer that stays in cache and transposed
    from there (no memory map to set up and fault in per call; nothing stays open).
    """
    n_rows, n_cols = local.n_rows, local.n_cols
    r0, r1 = local.row_start, local.row_stop
    cols = np.asarray(local.columns, np.intp)
    if not (0 <= r0 <= r1 <= n_rows and n_cols > 0) or (
        cols.size and not (cols.min() >= 0 and cols.max() < n_cols)
    ):
        return None
    sel: slice | npt.NDArray[np.intp] = cols
    if cols.size and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        sel = slice(int(cols[0]), int(cols[0]) + cols.size)
    row_bytes = 4 * n_cols
    try:
        with open(local.data_path, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            if st.st_size != local.file_size or st.st_mtime_ns != local.mtime_ns:
                return None
            if n_rows * row_bytes > st.st_size:
                return None
            out = np.empty((cols.size, r1 - r0), np.float64)
            step = max(256, TRANSPOSE_BLOCK_BYTES // row_bytes)
            buf = np.empty((min(step, r1 - r0), n_cols), "<f4")
            raw = buf.data.cast("B")
            f.seek(r0 * row_bytes)
            for i in range(0, r1 - r0, step):
                n = min(step, r1 - r0 - i)
                if f.readinto(raw[: n * row_bytes]) != n * row_bytes:
                    return None  # shortened under us
                out[:, i : i + n] = buf[:n, sel].T
    except (OSError, ValueError):
        return None
    return out


class HubDatasetCalls:
    """The dataset-addressed calls of one hub connection.

    Parameters
    ----------
    transport : HubTransport
        The client's connection (opened on the first call).
    """

    def __init__(self, transport: HubTransport) -> None:
        self._transport = transport
        self._calls = VidereCalls(transport)

    # -- signals and PSD ----------------------------------------------------------------
    async def get_signals(
        self,
        dataset_id: str,
        window: SignalWindow,
        allow_local: bool,
        block_bytes: int = SIGNALS_BLOCK_BYTES,
    ) -> DatasetSignals:
        """The signals of ``window``; with ``allow_local`` (a hub on this machine) read from
        the dataset's file here when the hub says where the samples lie, else received in
        blocks of about ``block_bytes``."""
        request = videre_pb2.SignalsRequest(
            window=window_to_proto(dataset_id, window),
            max_block_bytes=block_bytes,
            allow_local=allow_local,
        )
        out: npt.NDArray[np.floating] | None = None
        if request.allow_local:  # one unary call on the shared connection
            header = await self._calls.call("videre", "LocateSignals", request)
            local = header.local
            if header.HasField("local"):
                nbytes = 8 * len(local.columns) * (local.row_stop - local.row_start)
                if nbytes <= INLINE_READ_BYTES:  # a thread hop costs more than the copy
                    out = read_local_buffer(local)
                else:
                    out = await asyncio.to_thread(read_local_buffer, local)
            # not mappable, or the file changed since the hub described it: the bytes
            request.allow_local = False
        if out is None:
            header, out = await self._read_signals(request)
        if out is None:
            raise RemoteError("the hub sent a signals header without samples")
        return signals_to_model(header, out)

    async def _read_signals(
        self, request: videre_pb2.SignalsRequest
    ) -> tuple[videre_pb2.SignalsHeader, npt.NDArray[np.floating] | None]:
        header: videre_pb2.SignalsHeader | None = None
        out: npt.NDArray[np.float64] | None = None
        async with self._calls.stream(
            "GetSignals", request, flow_window_bytes(SIGNALS_WINDOW_BYTES)
        ) as messages:
            async for msg in messages:
                if msg.HasField("header"):
                    header = msg.header
                    if header.HasField("local"):
                        continue
                    n_samples = header.time_range.timestamp[1] - header.time_range.timestamp[0]
                    # the documented float64: each block is converted as it is copied in
                    out = np.empty((sum(header.n_per_type), n_samples), np.float64)
                    continue
                if out is None:
                    raise RemoteError("the hub sent samples before the signals header")
                b = msg.block
                block = np.frombuffer(b.samples, "<f4").reshape(b.n_channels, b.n_samples)
                out[:, b.first_sample : b.first_sample + b.n_samples] = block
        if header is None:
            raise RemoteError("the hub ended the signals stream without a header")
        return header, out

    async def get_psd(self, dataset_id: str, window: SignalWindow, settings: PsdSettings) -> PSD:
        """The PSD of the amplifier signals of ``window``, computed on the hub."""
        request = videre_pb2.PsdRequest(
            window=window_to_proto(dataset_id, window),
            freq_range=list(settings.freq_range),
            collapse_freq=settings.collapse_freq,
            scaling=int(settings.scaling),
            window_type=int(settings.window),
        )
        if settings.samp_freq is not None:
            request.samp_freq = settings.samp_freq
        if settings.freq_resolution is not None:
            request.freq_resolution = settings.freq_resolution
        return psd_to_model(await self._calls.call("videre", "GetPsd", request))

    # -- signal metrics -----------------------------------------------------------------
    @staticmethod
    def _target(dataset_id: str) -> videre_pb2.MetricsTarget:
        return videre_pb2.MetricsTarget(dataset_id=dataset_id)

    async def _metrics(self, method: str, request: Any) -> Any:
        return await self._calls.call("metrics", method, request)

    async def metrics_clear(self, dataset_id: str) -> None:
        """Clear a dataset's metrics (its scan and parameters)."""
        await self._metrics("Clear", self._target(dataset_id))

    async def metrics_calculate(self, dataset_id: str, cmd: str) -> None:
        """Start a background scan of a dataset (``cmd`` 'standard' or 'custom')."""
        request = videre_pb2.CalculateRequest(target=self._target(dataset_id), cmd=cmd)
        await self._metrics("Calculate", request)

    async def set_metrics_param(
        self,
        dataset_id: str,
        command: MetricsParam | int,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> pd.DataFrame:
        """Set one metrics parameter; returns the parameters after it."""
        request = videre_pb2.MetricsParamRequest(
            target=self._target(dataset_id),
            command=int(command),
            reg_float64=list(values),
            reg_bool=list(flags),
            ntv_idxs=list(ntv_idxs),
        )
        return metrics_params_frame(await self._metrics("SetParam", request))

    async def set_metrics_packet_duration(
        self, dataset_id: str, packet_dur_s: float
    ) -> pd.DataFrame:
        """Set the packet duration in seconds (a running scan restarts)."""
        return await self.set_metrics_param(
            dataset_id, PACKET_DUR, [float(packet_dur_s), 0.0], [True, False], []
        )

    async def get_metrics_params(self, dataset_id: str) -> pd.DataFrame:
        """The metrics parameters, one row per amplifier channel."""
        return metrics_params_frame(await self._metrics("GetParams", self._target(dataset_id)))

    async def get_metrics_status(self, dataset_id: str) -> SignalMetricsStatus:
        """The status of a dataset's (or the live cache's) metrics."""
        return metrics_status_to_model(await self._metrics("GetStatus", self._target(dataset_id)))

    async def get_metrics(
        self,
        dataset_id: str,
        sec: Sequence[float],
        metrics: Sequence[MetricID],
        tail: bool,
        walltime: str = "",
    ) -> SignalMetrics:
        """The metrics of ``sec`` (``[start, end]`` of a dataset, ``[lag]`` of the live cache,
        empty: the default range)."""
        request = videre_pb2.GetMetricsRequest(
            target=self._target(dataset_id),
            sec=list(sec),
            metrics=_metric_ids(metrics),
            tail=tail,
        )
        return metrics_to_model(await self._metrics("GetMetrics", request), walltime)

    # -- spikes of linked datasets ------------------------------------------------------
    async def _dataset_spikes(
        self,
        method: str,
        dataset_id: str,
        time_range: tuple[float, float] | None,
        max_per_channel: int,
    ) -> Any:
        request = neurons_pb2.DatasetSpikesRequest(
            dataset_id=dataset_id, max_spikes_per_channel=max_per_channel
        )
        if time_range is not None:
            request.has_time_range = True
            request.start_s, request.end_s = time_range
        stub = await self._transport.stub(neurons_grpc.NeuronsStub)
        return await self._transport.call(getattr(stub, method), request)

    async def get_spike_waveforms(
        self, dataset_id: str, time_range: tuple[float, float] | None, max_per_channel: int
    ) -> npt.NDArray[np.float32]:
        """Waveforms ``(total_spikes, n_points)`` µV, at most ``max_per_channel`` per channel."""
        reply = await self._dataset_spikes(
            "GetDatasetSpikeWaveforms", dataset_id, time_range, max_per_channel
        )
        return np.frombuffer(reply.waveforms, "<f4").reshape(reply.n_spikes, reply.n_pts)

    async def get_spike_timestamps(
        self, dataset_id: str, time_range: tuple[float, float] | None
    ) -> dict[str, npt.NDArray[Any]]:
        """``{'timestamps', 'labels', 'dset_idxs'}`` of every spike of the range."""
        reply = await self._dataset_spikes("GetDatasetSpikeTimestamps", dataset_id, time_range, 0)
        return {
            "timestamps": np.frombuffer(reply.timestamps, "<i8").astype(np.float64),
            "labels": np.frombuffer(reply.labels, "<i4").copy(),
            "dset_idxs": np.frombuffer(reply.dset_idxs, "<i4").copy(),
        }
