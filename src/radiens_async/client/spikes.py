"""``client.spikes()``: the live sorter's spikes as tables, sets and an async stream."""

from __future__ import annotations

import math
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from radiens_async.client.backends.allego_backend import SpikesBackend, require
from radiens_async.client.backends.arguments import KilosortPaths, SpikeStreamStart
from radiens_async.client.backends.hub_dataset_calls import HubDatasetCalls
from radiens_async.client.base import AsyncHubClient
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.spikes import SpikeBatch, SpikesMetadata, SpikesSet
from radiens_async.utils.enums import SignalType

__all__ = ["AsyncSpikesClient", "SpikeStreamStart"]

WAVEFORMS_PER_CHANNEL = 1000  # the documented cap of get_spike_waveforms


class AsyncSpikesClient:
    """Spikes found by the hub's live sorter (``AsyncAllegoClient.spikes()``).

    Examples
    --------
    >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
    ...     async for batch in allego.spikes().stream():
    ...         print(batch.n_spikes, batch.missed_spikes)
    """

    def __init__(
        self,
        parent: AsyncHubClient,
        backend: Callable[[], Awaitable[SpikesBackend]],
        channel_metadata: Callable[[], Awaitable[ChannelMetadata]],
        *,
        live: bool,
    ) -> None:
        # live: the sub-client of an Allego client (the dataset calls are refused there)
        self._parent = parent
        self._backend = backend
        self._channel_metadata = channel_metadata
        self._live = live

    async def get_spikes_metadata(self) -> SpikesMetadata:
        """Metadata of the spikes processed by the sorter: time range, sites, neurons.

        ``.sites``, ``.neurons`` and ``.site_summary_stats`` are the documented tables.

        Examples
        --------
        >>> meta = await allego.spikes().get_spikes_metadata()  # doctest: +SKIP
        >>> meta.sites[["ntv_idx", "spike_count", "snr"]]  # doctest: +SKIP
        """
        return await (await self._backend()).get_spikes_metadata()

    async def get_spike_rasters(self, dsource_id: str | None = None) -> dict[str, Any]:
        """Spike rasters of the live stream (``dsource_id`` is ignored, as documented).

        Returns
        -------
        dict
            ``time_range`` ([start, end] s), ``timestamp_range`` (sample indices), ``spikes``
            (``ntv_chan_idx``, ``timestamps`` (sample indices), ``labels``) and ``gpio_data``.

        Examples
        --------
        >>> rasters = await allego.spikes().get_spike_rasters()  # doctest: +SKIP
        >>> rasters["spikes"]["timestamps"][:5]  # doctest: +SKIP
        """
        return await (await self._backend()).get_spike_rasters()

    async def get_recent_spikes(
        self,
        time_wdw_sec: float = 1.0,
        ntv_chan_idxs: list[int] | None = None,
        max_spikes_per_chan: int = 100,
        channel_meta: ChannelMetadata | None = None,
    ) -> SpikesSet:
        """The most recent spikes (timestamps, waveforms, labels) per channel.

        Parameters
        ----------
        time_wdw_sec : float
            Look-back window in seconds (> 0).
        ntv_chan_idxs : list of int, optional
            Amplifier native indices (default all).
        max_spikes_per_chan : int
            At most this many (the newest) per channel.
        channel_meta : ChannelMetadata, optional
            The connected channels (default: fetched).

        Examples
        --------
        >>> spikes = await allego.spikes().get_recent_spikes(0.5)  # doctest: +SKIP
        >>> spikes.channels()[0]["waveforms"].shape  # doctest: +SKIP
        (45, 12)
        """
        if (
            isinstance(time_wdw_sec, bool)
            or not isinstance(time_wdw_sec, int | float)
            or not math.isfinite(time_wdw_sec)
            or time_wdw_sec <= 0
        ):
            raise InvalidArgument(f"time_wdw_sec must be a positive number, got {time_wdw_sec!r}")
        if isinstance(max_spikes_per_chan, bool) or not isinstance(max_spikes_per_chan, int):
            raise InvalidArgument(
                f"max_spikes_per_chan must be an int, got {max_spikes_per_chan!r}"
            )
        if max_spikes_per_chan < 1:
            raise InvalidArgument(f"max_spikes_per_chan must be >= 1, got {max_spikes_per_chan}")
        if channel_meta is None:
            channel_meta = await self._channel_metadata()
        elif not isinstance(channel_meta, ChannelMetadata):
            raise InvalidArgument("channel metadata must be of type ChannelMetadata")
        if ntv_chan_idxs is None:
            idxs = list(channel_meta.index(SignalType.AMP).ntv)
        elif isinstance(ntv_chan_idxs, list | tuple):
            idxs = [int(i) for i in ntv_chan_idxs]
        else:
            raise InvalidArgument("ntv_chan_idxs must be a list of amplifier native indices")
        backend = await self._backend()
        return await backend.get_recent_spikes(float(time_wdw_sec), idxs, max_spikes_per_chan)

    async def get_neurons(self) -> pd.DataFrame:
        """The sorted units: one row per neuron (id, site, label, position, count, rate, SNR).

        Examples
        --------
        >>> await allego.spikes().get_neurons()  # doctest: +SKIP
        """
        return await (await self._backend()).get_neurons()

    async def stream(
        self,
        *,
        start: SpikeStreamStart = "now",
        ntv_chan_idxs: Sequence[int] | None = None,
        max_batch_spikes: int = 0,
    ) -> AsyncGenerator[SpikeBatch, None]:
        """Live spikes as an async generator of :class:`SpikeBatch`.

        Each batch carries the spikes' sample indices, channels, unit labels and waveforms, and
        how many spikes this subscriber missed right before it (``missed_spikes``: a consumer
        too slow for the spike rate loses the oldest, never silently). Ends when streaming
        stops.

        Parameters
        ----------
        start : 'now', 'oldest' or int
            Spikes detected from now on (default), from the oldest still held, or from a spike
            sequence number (``SpikeBatch.next_seq`` of an earlier batch: resume).
        ntv_chan_idxs : sequence of int, optional
            Only spikes of these amplifier channels.
        max_batch_spikes : int
            Upper bound of spikes per batch (0: the hub chooses).

        Examples
        --------
        >>> async with contextlib.aclosing(allego.spikes().stream()) as batches:  # doctest: +SKIP
        ...     async for batch in batches:
        ...         if (batch.channel == 5).any():
        ...             await allego.set_dout(...)  # react
        """
        if not (
            start in ("now", "oldest")
            or (isinstance(start, int) and not isinstance(start, bool) and start >= 0)
        ):
            raise InvalidArgument(
                f"start must be 'now', 'oldest' or a sequence number >= 0, got {start!r}"
            )
        if isinstance(max_batch_spikes, bool) or max_batch_spikes < 0:
            raise InvalidArgument(f"max_batch_spikes must be >= 0, got {max_batch_spikes!r}")
        backend = await self._backend()
        batches = backend.stream_spikes(start, list(ntv_chan_idxs or ()), max_batch_spikes)
        try:
            async for batch in batches:
                yield batch
        finally:
            # closing this generator closes the backend's stream (and cancels its call) now
            aclose = getattr(batches, "aclose", None)
            if aclose is not None:
                await aclose()

    async def convert_kilosort_output(
        self,
        source_bio_path: str | os.PathLike[str] = "",
        source_bio_basename: str = "",
        source_vex_path: str | os.PathLike[str] = "",
        source_vex_basename: str = "",
        sink_bio_path: str | os.PathLike[str] = "",
        sink_bio_basename: str = "",
        hub_name: str = "default",
    ) -> None:
        """Converts the output of Kilosort (a phy folder) into a ``.spikes`` file set.

        The hub reads ``spike_times.npy``, ``spike_clusters.npy``, ``templates.npy``,
        ``channel_map.npy`` and ``params.py`` from the folder and writes
        ``<sink_bio_path>/<sink_bio_basename>.spikes.json`` plus its binaries: each spike keeps
        its exact sample time, its template's peak channel, and label ``cluster_id + 1``.
        Paths are on the hub's machine (``~`` and relative paths are resolved here). See
        ``docs/spikes-format.md``.

        Parameters
        ----------
        source_bio_path, source_bio_basename
            The Kilosort output folder (or its parent and the folder name).
        source_vex_path, source_vex_basename
            The XDAT recording that was sorted (optional: channel names and positions).
        sink_bio_path, sink_bio_basename
            Where the ``.spikes`` set goes (never overwritten).
        hub_name : str
            Ignored: the conversion runs on this client's hub.

        Raises
        ------
        FormatError
            Missing or inconsistent Kilosort files.
        AlreadyExists
            The target spikes file set exists.
        InvalidArgument
            Missing folders or empty names.

        Examples
        --------
        >>> await allego.spikes().convert_kilosort_output(  # doctest: +SKIP
        ...     "~/ks/out", "", "~/data", "rec_0", "~/data", "rec_0_ks")
        """
        paths = KilosortPaths(
            source_bio_path=_local_path(source_bio_path),
            source_bio_basename=source_bio_basename,
            source_vex_path=_local_path(source_vex_path),
            source_vex_basename=source_vex_basename,
            sink_bio_path=_local_path(sink_bio_path),
            sink_bio_basename=sink_bio_basename,
        )
        backend = await self._backend()
        require(backend.capabilities, "kilosort_conversion", "convert_kilosort_output")
        await backend.convert_kilosort_output(paths)

    async def get_spike_waveforms(
        self, dataset_id: str, time_range: list[float] | None = None, hub_name: str = "default"
    ) -> npt.NDArray[np.float32]:
        """Spike waveforms of a linked dataset's spikes (Videre).

        Parameters
        ----------
        dataset_id : str
            A linked recording with a ``.spikes`` set beside it, or a linked ``.spikes`` set.
        time_range : list of float, optional
            ``[start, end)`` in stream seconds; None: the dataset's whole range.
        hub_name : str
            Unused (the client's hub); kept for the documented signature.

        Returns
        -------
        ndarray of float32, shape (total_spikes, n_points)
            µV, in file order, at most 1000 spikes per channel (the documented cap).

        Raises
        ------
        FailedPrecondition
            On an Allego client, or for a dataset with no spikes.
        NotFound
            For an unknown dataset ID.
        InvalidArgument
            For a time range that is not two finite numbers in order.

        Examples
        --------
        >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
        ...     meta = await videre.link_data_file("/data/rec_0.xdat")
        ...     waves = await videre.spikes().get_spike_waveforms(meta.id, [0.0, 10.0])
        """
        dataset_id, window = self._dataset_args("GetDatasetSpikeWaveforms", dataset_id, time_range)
        calls = HubDatasetCalls(self._parent._transport)
        return await calls.get_spike_waveforms(dataset_id, window, WAVEFORMS_PER_CHANNEL)

    async def get_spike_timestamps(
        self, dataset_id: str, time_range: list[float] | None = None, hub_name: str = "default"
    ) -> dict[str, npt.NDArray[Any]]:
        """Labeled spikes of a linked dataset's spikes, one flat entry per spike (Videre).

        Parameters
        ----------
        dataset_id : str
            A linked recording with a ``.spikes`` set beside it, or a linked ``.spikes`` set.
        time_range : list of float, optional
            ``[start, end)`` in stream seconds; None: the dataset's whole range.
        hub_name : str
            Unused (the client's hub); kept for the documented signature.

        Returns
        -------
        dict
            ``{'timestamps': float64[N], 'labels': int32[N], 'dset_idxs': int32[N]}``;
            timestamps are sample indices, ``dset_idxs`` the dataset channel index of each
            spike's primary site.

        Raises
        ------
        FailedPrecondition
            On an Allego client, or for a dataset with no spikes.
        NotFound
            For an unknown dataset ID.
        InvalidArgument
            For a time range that is not two finite numbers in order.

        Examples
        --------
        >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
        ...     spikes = await videre.spikes().get_spike_timestamps("rec_0")
        ...     spikes["timestamps"][:5]
        """
        dataset_id, window = self._dataset_args("GetDatasetSpikeTimestamps", dataset_id, time_range)
        return await HubDatasetCalls(self._parent._transport).get_spike_timestamps(
            dataset_id, window
        )

    def _dataset_args(
        self, method: str, dataset_id: str, time_range: Any
    ) -> tuple[str, tuple[float, float] | None]:
        if self._live:
            raise FailedPrecondition(
                f"{method}: spikes files are linked datasets; use a VidereClient's spikes()"
            )
        if not isinstance(dataset_id, str) or not dataset_id:
            raise InvalidArgument(f"dataset_id must be a non-empty string, got {dataset_id!r}")
        if time_range is None:
            return dataset_id, None
        try:
            t0, t1 = (float(t) for t in time_range)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"time_range must be [start, end] in seconds, got {time_range!r}"
            ) from None
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
            raise InvalidArgument(f"time_range must be finite and in order, got {time_range!r}")
        return dataset_id, (t0, t1)


def _local_path(path: str | os.PathLike[str]) -> str:
    """``~`` expanded and made absolute here; empty stays empty (no disk access)."""
    text = os.fspath(path)
    return os.path.abspath(os.path.expanduser(text)) if text else ""
