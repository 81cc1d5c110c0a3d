"""``client.signals()``: signals and PSD of a window of a linked dataset or of the live cache.

On a Videre (or Curate) client the window is of a dataset (``dataset_metadata`` is required);
on an Allego client it is of the live signal cache, with the same time-range selector
(``TO_HEAD`` / ``FROM_HEAD`` count from the cache head).
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.client.backends.allego_backend import LiveSignalsBackend
from radiens_async.client.backends.arguments import PsdSettings, SignalWindow
from radiens_async.client.backends.hub_dataset_calls import (
    HubDatasetCalls,
    read_local_buffer,
    window_to_proto,
)
from radiens_async.client.base import AsyncHubClient
from radiens_async.errors import InvalidArgument
from radiens_async.hub_contract import is_loopback
from radiens_async.models.dataset_metadata import DatasetMetadata, TimeRange
from radiens_async.models.dataset_signals import DatasetSignals
from radiens_async.models.psd import PSD
from radiens_async.models.signal_selector import SigSelect
from radiens_async.utils.enums import FftWindow, KeyIndex, PsdScaling, TrsMode

__all__ = [
    "AsyncSignalsClient",
    "TimeRangeArg",
    "read_local_buffer",
    "signal_window",
    "window_to_proto",
]

TimeRangeArg = TimeRange | Sequence[float] | npt.NDArray[Any] | None
SIGNALS_BLOCK_BYTES = 1 << 20  # measured fastest on loopback (256 KiB .. 64 MiB)


def dataset_id_of(live: bool, dataset_metadata: Any) -> str:
    """The dataset a request addresses ('' for the live stream of an Allego client).

    Raises
    ------
    InvalidArgument
        ``'videre: dataset_metadata must be provided'`` / ``'... must be a DatasetMetadata'``.
    """
    if live:
        return ""
    if dataset_metadata is None:
        raise InvalidArgument("videre: dataset_metadata must be provided")
    if not isinstance(dataset_metadata, DatasetMetadata):
        raise InvalidArgument("videre: dataset metadata must be a DatasetMetadata")
    return dataset_metadata.id


def signal_window(
    time_range: TimeRangeArg,
    sel_mode: TrsMode | int | str | None,
    sig_sel: SigSelect | None,
    dataset_metadata: DatasetMetadata | None,
) -> SignalWindow:
    """The window of a signals / PSD request, validated on the client.

    Raises
    ------
    InvalidArgument
        A time range that is not a TimeRange, list or array; a selector not keyed by NTV.
    """
    mode = TrsMode.SUBSET if sel_mode is None else TrsMode.parse(sel_mode)
    sec: tuple[float, ...] = ()
    timestamp: tuple[int, ...] = ()
    if time_range is None:
        if dataset_metadata is not None:
            tr = dataset_metadata.TR.sec
            warnings.warn(
                f"no requested time range, using dataset time range [{tr[0]} {tr[1]}] (s) ",
                UserWarning,
                stacklevel=3,
            )
        if mode != TrsMode.SUBSET:
            raise InvalidArgument(f"{mode} needs a time range")
    elif isinstance(time_range, TimeRange):
        if mode == TrsMode.FROM_HEAD:
            sec = (float(time_range.sec[0]),)
        else:
            timestamp = tuple(int(t) for t in time_range.timestamp.tolist())
    elif isinstance(time_range, list | np.ndarray):
        values = np.asarray(time_range, np.float64).reshape(-1).tolist()
        if mode == TrsMode.FROM_HEAD:
            values = values[:1]
        if len(values) not in (1, 2) or (len(values) == 1 and mode == TrsMode.SUBSET):
            raise InvalidArgument(f"time_range must be [start, end], got {values}")
        sec = tuple(values)
    else:
        raise InvalidArgument("time_range must be a TimeRange, list, or numpy array")
    if sig_sel is not None:
        if not isinstance(sig_sel, SigSelect):
            raise InvalidArgument("sig_sel must be a SigSelect (see make_signal_selector)")
        if sig_sel.key_idx != KeyIndex.NTV:
            raise InvalidArgument("sig_sel must use KeyIndex.NTV as the key index")
    return SignalWindow(mode=mode, sec=sec, timestamp=timestamp, selection=sig_sel)


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

    def __init__(
        self,
        parent: AsyncHubClient,
        live: Callable[[], Awaitable[LiveSignalsBackend]] | None = None,
    ) -> None:
        # live: how an Allego client reaches its backend (None: a dataset client)
        self._parent = parent
        self._live = live

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
        dataset_id = dataset_id_of(self._live is not None, dataset_metadata)
        window = signal_window(time_range, sel_mode, sig_sel, dataset_metadata)
        if self._live is not None:
            return await (await self._live()).get_live_signals(window)
        # a dataset of our hub (a Videre backend of the Radiens protocol slots in here later)
        transport = self._parent._transport
        await transport.open()
        # a hub on this machine: its files are this machine's files
        allow_local = self.local_reads and is_loopback(transport.address.host)
        return await HubDatasetCalls(transport).get_signals(
            dataset_id, window, allow_local, SIGNALS_BLOCK_BYTES
        )

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
        dataset_id = dataset_id_of(self._live is not None, dataset_metadata)
        win = signal_window(time_range, sel_mode, sig_sel, dataset_metadata)
        fr = np.asarray(freq_range, np.float64).reshape(-1)
        if fr.size != 2:
            raise InvalidArgument(f"freq_range must be [low, high], got {fr.tolist()}")
        settings = PsdSettings(
            freq_range=(float(fr[0]), float(fr[1])),
            collapse_freq=bool(collapse_freq),
            scaling=PsdScaling.parse(scaling),
            window=FftWindow.parse(window),
            samp_freq=None if samp_freq is None else float(samp_freq),
            freq_resolution=None if freq_resolution is None else float(freq_resolution),
        )
        if self._live is not None:
            psd = await (await self._live()).get_live_psd(win, settings)
        else:
            psd = await HubDatasetCalls(self._parent._transport).get_psd(dataset_id, win, settings)
        if file is not None:
            psd.save(file)
        return psd
