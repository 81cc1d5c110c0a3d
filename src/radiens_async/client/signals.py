"""``client.signals()``: signals and PSD of a window of a linked dataset or of the live cache.

On a Videre (or Curate) client the window is of a dataset (``dataset_metadata`` is required);
on an Allego client it is of the live signal cache, with the same time-range selector
(``TO_HEAD`` / ``FROM_HEAD`` count from the cache head).
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async._generated.radiens.v1 import videre_pb2
from radiens_async.client.base import AsyncHubClient
from radiens_async.client.tuned_channel import flow_window_bytes
from radiens_async.client.videre_calls import calls_for
from radiens_async.errors import InvalidArgument, RemoteError
from radiens_async.hub.server import is_loopback
from radiens_async.models.converters.videre import psd_to_model, signals_to_model
from radiens_async.models.dataset_metadata import DatasetMetadata, TimeRange
from radiens_async.models.dataset_signals import DatasetSignals
from radiens_async.models.psd import PSD
from radiens_async.models.signal_selector import SigSelect
from radiens_async.utils.enums import ClientType, FftWindow, KeyIndex, PsdScaling, TrsMode

__all__ = ["AsyncSignalsClient", "TimeRangeArg"]

TimeRangeArg = TimeRange | Sequence[float] | npt.NDArray[Any] | None
SIGNALS_BLOCK_BYTES = 1 << 20  # measured fastest on loopback (256 KiB .. 64 MiB)
SIGNALS_WINDOW_BYTES = 64 << 20
TRANSPOSE_BLOCK_BYTES = 1 << 20
INLINE_READ_BYTES = 16 << 20  # local reads up to this size run on the event loop (~2 ms)


def is_live(parent: AsyncHubClient) -> bool:
    """Whether a client's sub-APIs address the live stream (Allego) rather than datasets."""
    return getattr(parent, "type", None) == ClientType.ALLEGO


def dataset_id_of(parent: AsyncHubClient, dataset_metadata: Any) -> str:
    """The dataset a request addresses ('' for the live stream of an Allego client).

    Raises
    ------
    InvalidArgument
        ``'videre: dataset_metadata must be provided'`` / ``'... must be a DatasetMetadata'``.
    """
    if is_live(parent):
        return ""
    if dataset_metadata is None:
        raise InvalidArgument("videre: dataset_metadata must be provided")
    if not isinstance(dataset_metadata, DatasetMetadata):
        raise InvalidArgument("videre: dataset metadata must be a DatasetMetadata")
    return dataset_metadata.id


def window_request(
    dataset_id: str,
    time_range: TimeRangeArg,
    sel_mode: TrsMode | int | str | None,
    sig_sel: SigSelect | None,
    dataset_metadata: DatasetMetadata | None,
) -> videre_pb2.WindowRequest:
    """The window of a signals / PSD request, validated on the client.

    Raises
    ------
    InvalidArgument
        A time range that is not a TimeRange, list or array; a selector not keyed by NTV.
    """
    mode = TrsMode.SUBSET if sel_mode is None else TrsMode.parse(sel_mode)
    req = videre_pb2.WindowRequest(dataset_id=dataset_id, mode=int(mode))
    if time_range is None:
        if dataset_metadata is not None:
            sec = dataset_metadata.TR.sec
            warnings.warn(
                f"no requested time range, using dataset time range [{sec[0]} {sec[1]}] (s) ",
                UserWarning,
                stacklevel=3,
            )
        if mode != TrsMode.SUBSET:
            raise InvalidArgument(f"{mode} needs a time range")
    elif isinstance(time_range, TimeRange):
        if mode == TrsMode.FROM_HEAD:
            req.sec.extend([float(time_range.sec[0])])
        else:
            req.timestamp.extend(time_range.timestamp.tolist())
    elif isinstance(time_range, list | np.ndarray):
        values = np.asarray(time_range, np.float64).reshape(-1).tolist()
        if mode == TrsMode.FROM_HEAD:
            values = values[:1]
        if len(values) not in (1, 2) or (len(values) == 1 and mode == TrsMode.SUBSET):
            raise InvalidArgument(f"time_range must be [start, end], got {values}")
        req.sec.extend(values)
    else:
        raise InvalidArgument("time_range must be a TimeRange, list, or numpy array")
    if sig_sel is not None:
        if not isinstance(sig_sel, SigSelect):
            raise InvalidArgument("sig_sel must be a SigSelect (see make_signal_selector)")
        if sig_sel.key_idx != KeyIndex.NTV:
            raise InvalidArgument("sig_sel must use KeyIndex.NTV as the key index")
        req.selection.CopyFrom(
            videre_pb2.SignalSelection(
                amp=sig_sel.amp.tolist(),
                ain=sig_sel.gpio_ain.tolist(),
                din=sig_sel.gpio_din.tolist(),
                dout=sig_sel.gpio_dout.tolist(),
            )
        )
    return req


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


class AsyncSignalsClient:
    """Signals and PSD (``AsyncVidereClient.signals()``, ``AsyncAllegoClient.signals()``).

    Examples
    --------
    >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
    ...     meta = await videre.link_data_file('/data/rec_0.xdat')
    ...     sig = await videre.signals().get_signals([1.0, 2.0], dataset_metadata=meta)
    """

    local_reads: bool = True
    """With a hub on this machine, map the dataset's file here instead of receiving the samples
    over gRPC (the hub says where they lie; a changed file falls back to gRPC)."""

    def __init__(self, parent: AsyncHubClient) -> None:
        self._parent = parent

    async def get_signals(
        self,
        time_range: TimeRangeArg = None,
        sel_mode: TrsMode | int | str | None = None,
        sig_sel: SigSelect | None = None,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
    ) -> DatasetSignals:
        """Gets signals over the specified time range from a linked dataset (or the live cache).

        Parameters
        ----------
        time_range : TimeRange, list or ndarray, optional
            ``[start, end)`` in seconds of stream time (see ``make_time_range``); for FROM_HEAD
            ``[duration]``. None: the whole dataset (with a warning) or cache.
        sel_mode : TrsMode, optional
            SUBSET (default), TO_HEAD or FROM_HEAD.
        sig_sel : SigSelect, optional
            Channels by native index (``make_signal_selector``); default every channel.
        dataset_metadata : DatasetMetadata
            The dataset (required for Videre; ignored for Allego, which reads the live cache).

        Returns
        -------
        DatasetSignals
            ``signals.amp`` etc. as float64 ``(channels, samples)``, ``TR``, ``channel_metadata``.

        Raises
        ------
        InvalidArgument
            Missing metadata, a malformed, reversed or out-of-data time range, an unknown
            channel or an empty selection.
        NotFound
            The dataset is not linked (or its files are gone).

        Examples
        --------
        >>> sig = await videre.signals().get_signals([0, 1.5], dataset_metadata=meta)
        ... # doctest: +SKIP
        >>> sig.signals.amp.shape  # doctest: +SKIP
        (32, 45000)
        """
        self._parent._check_hub(hub_name)
        dataset_id = dataset_id_of(self._parent, dataset_metadata)
        window = window_request(dataset_id, time_range, sel_mode, sig_sel, dataset_metadata)
        request = videre_pb2.SignalsRequest(
            window=window,
            max_block_bytes=SIGNALS_BLOCK_BYTES,
            # a hub on this machine: its files are this machine's files
            allow_local=self.local_reads and is_loopback(self._parent.address.host),
        )
        out: npt.NDArray[np.floating] | None = None
        if request.allow_local:  # one unary call on the shared connection
            header = await calls_for(self._parent).call("videre", "LocateSignals", request)
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
        async with calls_for(self._parent).stream(
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

    async def get_psd(
        self,
        time_range: TimeRangeArg = None,
        sel_mode: TrsMode | int | str | None = None,
        sig_sel: SigSelect | None = None,
        samp_freq: float | None = 2000.0,
        freq_range: Sequence[float] | npt.NDArray[Any] = (1, 300),
        collapse_freq: bool = False,
        scaling: PsdScaling | int | str = PsdScaling.ABSOLUTE,
        window: FftWindow | int | str = FftWindow.HAMMING_p01,
        freq_resolution: float | None = None,
        file: str | Path | None = None,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
    ) -> PSD:
        """Gets the power spectral density (PSD) of the amplifier signals over a time range.

        Computed on the hub: the signals are resampled to ``samp_freq`` (anti-aliased), split
        into windowed segments with the window's overlap, and Welch-averaged.

        Parameters
        ----------
        time_range, sel_mode : see :meth:`get_signals`
        sig_sel : SigSelect, optional
            Amplifier channels (``amp`` only); default all.
        samp_freq : float or None
            PSD sample rate in Hz (default 2000; None: the dataset's rate). Never above it.
        freq_range : [low, high]
            Frequencies kept, Hz (default [1, 300]); ``high`` at most ``samp_freq / 2``.
        collapse_freq : bool
            Collapse the range into one bin (the mean density over the range).
        scaling : PsdScaling
            ABSOLUTE (µV²/Hz).
        window : FftWindow
            HAMMING_p01 (1 % overlap, default), HAMMING_p05 (5 %) or PASS_THROUGH (none).
        freq_resolution : float, optional
            Bin width in Hz (default 1 Hz, coarser when the window is too short).
        file : str or Path, optional
            Also save the PSD to this ``.npz`` file.
        dataset_metadata : DatasetMetadata
            Required for Videre, ignored for Allego.

        Returns
        -------
        PSD

        Raises
        ------
        InvalidArgument
            A bad time range, a frequency range beyond Nyquist or reversed, an unknown window,
            an empty selection.

        Examples
        --------
        >>> psd = await videre.signals().get_psd([0, 10], freq_range=[1, 300],
        ...                                      dataset_metadata=meta)  # doctest: +SKIP
        >>> psd.frequencies[np.argmax(psd.psd[0])]  # doctest: +SKIP
        60.0
        """
        self._parent._check_hub(hub_name)
        dataset_id = dataset_id_of(self._parent, dataset_metadata)
        win = window_request(dataset_id, time_range, sel_mode, sig_sel, dataset_metadata)
        fr = np.asarray(freq_range, np.float64).reshape(-1)
        if fr.size != 2:
            raise InvalidArgument(f"freq_range must be [low, high], got {fr.tolist()}")
        request = videre_pb2.PsdRequest(
            window=win,
            freq_range=fr.tolist(),
            collapse_freq=bool(collapse_freq),
            scaling=int(PsdScaling.parse(scaling)),
            window_type=int(FftWindow.parse(window)),
        )
        if samp_freq is not None:
            request.samp_freq = float(samp_freq)
        if freq_resolution is not None:
            request.freq_resolution = float(freq_resolution)
        reply = await calls_for(self._parent).call("videre", "GetPsd", request)
        psd = psd_to_model(reply)
        if file is not None:
            psd.save(file)
        return psd
