"""``AsyncVidereClient``: offline analysis of datasets linked to the hub.

Link a recording (XDAT natively; Intan RHD, Blackrock NSx, Open Ephys through neo; NWB through
pynwb), then read its signals, PSD, signal metrics and spikes, and run Summa statistics over
several datasets. Dataset metadata is cached by dataset ID, as the documented client did.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from radiens_async._generated.radiens.v1 import common_pb2, videre_pb2
from radiens_async.client.base import AsyncHubClient
from radiens_async.client.signal_metrics import AsyncSignalMetricsClient
from radiens_async.client.signals import AsyncSignalsClient
from radiens_async.client.spike_sorter import AsyncSpikeSorterClient
from radiens_async.client.spikes import AsyncSpikesClient
from radiens_async.client.videre_calls import calls_for
from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.models.argument_checks import check_bool, check_float, check_int, check_str
from radiens_async.models.converters.datasets import dataset_metadata_to_model
from radiens_async.models.converters.videre import (
    dataset_ids_frame,
    summa_analysis_to_model,
    summa_status_to_model,
)
from radiens_async.models.dataset_metadata import DatasetMetadata
from radiens_async.models.summa import SummaAnalysis, SummaStatus
from radiens_async.utils.enums import ClientType

__all__ = ["AsyncVidereClient", "DatasetNotFound"]


class DatasetNotFound(NotFound, ValueError):
    """A requested dataset is not linked (a ``NotFound``, and a ``ValueError`` as documented)."""


def _path_text(path: str | Path, name: str = "path") -> str:
    if not isinstance(path, str | Path):
        raise InvalidArgument(f"{name} must be a str or Path, got {type(path).__name__}")
    check_str(name, str(path))
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable parent
        raise InvalidArgument(f"{name} {str(path)!r} cannot be resolved: {exc}") from None


def _summa_id(summa_id: object) -> str:
    """The session name (``None``: ``'default'``)."""
    return "default" if summa_id is None else check_str("summa_id", summa_id, max_len=1024)


def _str_list(name: str, values: object) -> list[str]:
    if not isinstance(values, list):
        raise InvalidArgument(f"{name} must be a list")
    return [check_str(f"{name}[{i}]", v, max_len=1024) for i, v in enumerate(values)]


def _sequence(name: str, values: object) -> Sequence[object]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{name} must be a str or a sequence of str, got {values!r}")
    return values


class AsyncVidereClient(AsyncHubClient):
    """Offline analysis of linked datasets (the documented ``VidereClient``, asyncio-native).

    Parameters
    ----------
    address, hub_name, token, timeout, connect_timeout
        As for every client (see :class:`AsyncHubClient`).

    Examples
    --------
    >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
    ...     meta = await videre.link_data_file('/data/allego_0.xdat')
    ...     sig = await videre.signals().get_signals([0, 1], dataset_metadata=meta)
    """

    def __init__(self, address: str | None = None, **kwargs: Any) -> None:
        super().__init__(address, **kwargs)
        self._metadata_cache: dict[str, DatasetMetadata] = {}

    @property
    def type(self) -> ClientType:
        """Returns ``ClientType.VIDERE``."""
        return ClientType.VIDERE

    # -- sub-APIs -----------------------------------------------------------------------
    def signals(self) -> AsyncSignalsClient:
        """Signals API: ``get_signals`` and ``get_psd`` of linked datasets."""
        return AsyncSignalsClient(self)

    def signal_metrics(self) -> AsyncSignalMetricsClient:
        """Videre signal metrics API."""
        return AsyncSignalMetricsClient(self)

    def spikes(self) -> AsyncSpikesClient:
        """Videre spikes API (``get_spike_timestamps`` / ``get_spike_waveforms`` by dataset)."""
        return AsyncSpikesClient(self, self._hub_backend, self._hub_channel_metadata, live=False)

    def spike_sorter(self) -> AsyncSpikeSorterClient:
        """Videre spike sorter API."""
        return AsyncSpikeSorterClient(self._hub_backend, self._hub_channel_metadata)

    async def _videre(self, method: str, request: Any) -> Any:
        return await calls_for(self).call("videre", method, request)

    async def _summa(self, method: str, request: Any) -> Any:
        return await calls_for(self).call("summa", method, request)

    # -- datasets -----------------------------------------------------------------------
    async def link_data_file(
        self, path: str | Path, calc_metrics: bool = True, force: bool = False
    ) -> DatasetMetadata:
        """Links a data file to the hub and returns the dataset metadata.

        If ``force`` is False and the path is linked already, the existing dataset's metadata is
        returned. ``force=True`` links it as a new dataset backed by the same files. A ``.spikes``
        set beside the recording is linked as its spikes (``meta.spikes_ids``).

        Parameters
        ----------
        path : str or Path
            ``<dir>/<base>.xdat`` for XDAT (``.xdat.json`` and no suffix work too), an ``.rhd``,
            ``.nsX``, ``.nwb`` or Open Ephys ``structure.oebin`` file.
        calc_metrics : bool
            Calculate signal metrics in the background (default True).
        force : bool
            Link as a new dataset even when already linked.

        Returns
        -------
        DatasetMetadata

        Raises
        ------
        NotFound
            The file does not exist.
        InvalidArgument
            An empty path, a directory, a name too long, an unknown or unsupported file type, a
            corrupt file, or a non-bool ``calc_metrics`` / ``force``.
        FailedPrecondition
            The hub lacks the optional reader the format needs (neo / pynwb).

        Examples
        --------
        >>> meta = await videre.link_data_file('~/data/allego_0.xdat')  # doctest: +SKIP
        >>> meta.id, meta.TR.fs  # doctest: +SKIP
        ('allego_0', 30000.0)
        """
        request = videre_pb2.LinkRequest(
            path=_path_text(path),
            calc_metrics=check_bool("calc_metrics", calc_metrics),
            force=check_bool("force", force),
        )
        meta = dataset_metadata_to_model(await self._videre("LinkDataFile", request))
        self._metadata_cache[meta.id] = meta
        return meta

    async def get_data_file_metadata(
        self,
        dataset_idx: int | None = None,
        dataset_id: str | None = None,
        path: str | Path | None = None,
        hub_name: str = "default",
        fail_hard: bool = False,
    ) -> DatasetMetadata:
        """Returns the metadata of one dataset, requested by index, ID or path (in that order).

        A path that is not linked yet is linked (and stays linked), as the documentation says.

        Parameters
        ----------
        dataset_idx : int, optional
            Row of :meth:`get_dataset_ids`.
        dataset_id : str, optional
            A dataset ID.
        path : str or Path, optional
            The data file.
        fail_hard : bool
            Raise with the hub's explanation (True) or with ``'No dataset found'`` (False).

        Returns
        -------
        DatasetMetadata

        Raises
        ------
        DatasetNotFound
            (a ``NotFound`` and a ``ValueError``) the dataset is not available.
        InvalidArgument
            Nothing to look up by.

        Examples
        --------
        >>> meta = await videre.get_data_file_metadata(dataset_idx=0)  # doctest: +SKIP
        """
        self._check_hub(hub_name)
        ref = videre_pb2.DatasetRef()
        if dataset_idx is not None:
            ref.index = check_int("dataset_idx", dataset_idx, low=0, bits=64)
        elif dataset_id is not None:
            ref.dataset_id = check_str("dataset_id", dataset_id, max_len=1024)
        elif isinstance(path, str | Path):
            ref.path = _path_text(path)
        else:
            raise InvalidArgument(
                "path must be a string or Path when dataset_idx and dataset_id are both None"
            )
        try:
            reply = await self._videre("GetDatasetMetadata", ref)
        except NotFound as exc:
            if ref.path and "not a linked data file" in str(exc):
                return await self.link_data_file(ref.path, calc_metrics=False)
            message = f"{exc} ({self.hub})" if fail_hard else "No dataset found"
            raise DatasetNotFound(message, exc.status) from exc
        meta = dataset_metadata_to_model(reply)
        self._metadata_cache[meta.id] = meta
        return meta

    async def get_dataset_ids(self, hub_name: str = "default") -> pd.DataFrame:
        """Returns the linked dataset IDs, sorted.

        Returns
        -------
        pandas.DataFrame
            Columns ``dataset ID`` and ``base name``; index named ``index`` (the ``dataset_idx``
            of the other calls).

        Examples
        --------
        >>> await videre.get_dataset_ids()  # doctest: +SKIP
               dataset ID base name
        index
        0        allego_0  allego_0
        """
        self._check_hub(hub_name)
        return dataset_ids_frame(await self._videre("ListDatasets", common_pb2.Empty()))

    async def clear_dataset(
        self,
        dataset_idx: int | str | Sequence[int] | None = None,
        dataset_id: str | Sequence[str] | None = None,
        path: str | Path | Sequence[str | Path] | None = None,
        hub_name: str = "default",
        fail_hard: bool = False,
    ) -> tuple[int, pd.DataFrame]:
        """Unlinks datasets (and their spikes); ``dataset_id='all'`` unlinks every dataset.

        Parameters
        ----------
        dataset_idx : int, list of int or 'all', optional
        dataset_id : str, list of str or 'all', optional
        path : str, Path or list, optional
        fail_hard : bool
            Accepted for compatibility: an unknown dataset always raises (nothing is unlinked).

        Returns
        -------
        (int, pandas.DataFrame)
            The number unlinked and the remaining :meth:`get_dataset_ids`.

        Raises
        ------
        DatasetNotFound
            An index, ID or path that is not linked.
        InvalidArgument
            Nothing named.

        Examples
        --------
        >>> n, ids = await videre.clear_dataset(dataset_id='all')  # doctest: +SKIP
        """
        self._check_hub(hub_name)
        ids: list[str] = []
        if dataset_idx == "all" or dataset_id == "all":
            ids = []
        elif dataset_idx is not None:
            table = await self.get_dataset_ids()
            idxs = [dataset_idx] if isinstance(dataset_idx, int | str) else list(dataset_idx)
            for i in idxs:
                if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(table):
                    raise DatasetNotFound(
                        f"{i} is not an available dataset index on hub {self.hub}"
                    )
                ids.append(str(table.loc[i, "dataset ID"]))
        elif dataset_id is not None:
            ids = (
                [check_str("dataset_id", dataset_id, max_len=1024)]
                if isinstance(dataset_id, str)
                else _str_list("dataset_id", list(_sequence("dataset_id", dataset_id)))
            )
        elif path is not None:
            paths = [path] if isinstance(path, str | Path) else list(path)
            for p in paths:
                ref = videre_pb2.DatasetRef(path=_path_text(p))
                try:
                    reply = await self._videre("GetDatasetMetadata", ref)
                except NotFound as exc:
                    raise DatasetNotFound(str(exc), exc.status) from exc
                ids.append(reply.dataset_id)
        else:
            raise InvalidArgument(
                "give dataset_idx, dataset_id or path to clear ('all' clears every dataset)"
            )
        if not ids and not (dataset_idx == "all" or dataset_id == "all"):
            raise InvalidArgument("no dataset named to clear")
        try:
            reply = await self._videre("ClearDatasets", videre_pb2.ClearRequest(dataset_ids=ids))
        except NotFound as exc:
            raise DatasetNotFound(str(exc), exc.status) from exc
        remaining = {d.dataset_id for d in reply.remaining.datasets}
        for d in list(self._metadata_cache):
            if d not in remaining:
                del self._metadata_cache[d]
        return reply.num_unlinked, dataset_ids_frame(reply.remaining)

    async def dashboard(self, close: bool = False, hub_name: str = "default") -> None:
        """Shows the hub's dashboard: health, linked datasets and Summa sessions.

        There is no graphical dashboard app here; the dashboard is printed as text (the
        documented call returns None either way). ``close=True`` has nothing to close and only
        checks the hub name.

        Parameters
        ----------
        close : bool
            Close the dashboard instead of showing it.
        hub_name : str
            The client's hub (another name is refused).

        Examples
        --------
        >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
        ...     await videre.dashboard()
        """
        self._check_hub(hub_name)
        if close:
            return None
        health, version = await self.hub_health(), await self.hub_version()
        ids = await self.get_dataset_ids()
        sessions = await self.summa_list_sessions()
        lines = [
            f"Radiens hub {self.hub!r} at {self.address}: "
            f"{'serving' if health.serving else 'NOT serving'}, up {health.uptime_s:.0f} s, "
            f"hub {version.hub_version} (protocol {version.protocol_version})",
            f"linked datasets: {len(ids)}",
        ]
        if len(ids):
            lines.append(ids.to_string())
        lines.append(f"Summa sessions: {len(sessions)}")
        lines.extend(
            f"  {sid}: {', '.join(s['dsource_ids'])}" for sid, s in sorted(sessions.items())
        )
        print("\n".join(lines))
        return None

    async def list_dir(
        self, req_dir: str | Path = "", sort_by: str = "date", include: str = "all"
    ) -> pd.DataFrame:
        """Lists the data file sets in a directory of the hub's machine.

        Parameters
        ----------
        req_dir : str or Path
            The directory (default ``~/radix/data``).
        sort_by : {'date', 'name', 'size', 'type'}
        include : str
            ``'all'`` or a lowercase file type (``'xdat'``, ``'spikes'``, ``'nwb'`` ...).

        Returns
        -------
        pandas.DataFrame
            Columns ``path``, ``base_name``, ``type``, ``dataset_uid``, ``num_files``,
            ``bytes_primary_data``, ``bytes_meta_data``, ``bytes_total``, ``timestamp``,
            ``num_chan``, ``dur_sec``, ``samp_freq``, ``checksum``, ``provenance``.

        Raises
        ------
        InvalidArgument
            Not a directory, or an unknown ``sort_by``.
        NotFound
            The directory does not exist.

        Examples
        --------
        >>> (await videre.list_dir('~/data', include='xdat'))[['base_name', 'dur_sec']]
        ... # doctest: +SKIP
        """
        if not isinstance(req_dir, str | Path):
            raise InvalidArgument(f"req_dir must be a str or Path, got {type(req_dir).__name__}")
        check_str("req_dir", str(req_dir), non_empty=False)
        check_str("sort_by", sort_by)
        check_str("include", include)
        request = videre_pb2.ListDirRequest(
            directory=str(req_dir),  # the hub expands ~ (its own files)
            sort_by=sort_by,
            include=include,
        )
        reply = await self._videre("ListDir", request)
        columns = [f.name for f in videre_pb2.FileSetEntry.DESCRIPTOR.fields]
        rows = [[getattr(e, c) for c in columns] for e in reply.entries]
        return pd.DataFrame(rows, columns=columns)

    # -- Summa --------------------------------------------------------------------------
    async def summa_launch_session_analysis(
        self,
        summa_id: str | None = None,
        dataset_ids: list[str] | None = None,
        bin_dur_sec: float = 1.0,
        hub_name: str = "default",
    ) -> SummaStatus:
        """Launches a Summa analysis session in the background.

        The default signal metrics of every packet of ``bin_dur_sec`` of every amplifier channel
        of each dataset are summarised per dataset and over all of them.

        Parameters
        ----------
        summa_id : str, optional
            Session name (default ``'default'``); an existing session is replaced.
        dataset_ids : list of str
            Linked datasets.
        bin_dur_sec : float
            Packet duration in seconds (default 1.0).

        Returns
        -------
        SummaStatus

        Raises
        ------
        InvalidArgument
            ``'dataset_ids must be a list'``, an empty list or a bad bin duration.
        NotFound
            An unknown dataset ID.

        Examples
        --------
        >>> st = await videre.summa_launch_session_analysis('s1', ['a', 'b'])  # doctest: +SKIP
        """
        self._check_hub(hub_name)
        ids = _str_list("dataset_ids", dataset_ids)
        request = videre_pb2.SummaLaunchRequest(
            summa_id=_summa_id(summa_id),
            dataset_ids=ids,
            bin_dur_sec=check_float("bin_dur_sec", bin_dur_sec, low=0, low_open=True, unit="s"),
        )
        return summa_status_to_model(await self._summa("Launch", request))

    async def summa_session_status(
        self, summa_id: str | None = None, hub_name: str = "default"
    ) -> SummaStatus:
        """Returns the status of a Summa session.

        Examples
        --------
        >>> (await videre.summa_session_status('s1')).is_complete  # doctest: +SKIP
        True
        """
        self._check_hub(hub_name)
        request = videre_pb2.SummaRef(summa_id=_summa_id(summa_id))
        return summa_status_to_model(await self._summa("Status", request))

    async def _analysis(self, summa_id: str | None, part: str) -> SummaAnalysis:
        request = videre_pb2.SummaAnalysisRequest(summa_id=_summa_id(summa_id), part=part)
        return summa_analysis_to_model(await self._summa("Analysis", request))

    async def summa_get_session_aggregate_statistics(
        self, summa_id: str | None = None, hub_name: str = "default"
    ) -> SummaAnalysis:
        """Returns the statistics aggregated over every dataset of a completed session.

        Raises
        ------
        FailedPrecondition
            The session is still running (or failed).

        Examples
        --------
        >>> a = await videre.summa_get_session_aggregate_statistics('s1')  # doctest: +SKIP
        >>> a.aggregate_table  # doctest: +SKIP
        """
        self._check_hub(hub_name)
        return await self._analysis(summa_id, "agg")

    async def summa_get_session_datasource_statistics(
        self,
        summa_id: str | None = None,
        dataset_ids: list[str] | None = None,
        hub_name: str = "default",
    ) -> SummaAnalysis:
        """Returns the per-dataset statistics of a completed session (all, or ``dataset_ids``).

        Examples
        --------
        >>> a = await videre.summa_get_session_datasource_statistics('s1')  # doctest: +SKIP
        >>> a.datasource_table('a')  # doctest: +SKIP
        """
        self._check_hub(hub_name)
        if dataset_ids is None:
            part = "dsource:all"
        else:
            part = "dsource:" + "".join(f"{d}," for d in _str_list("dataset_ids", dataset_ids))
        return await self._analysis(summa_id, part)

    async def summa_list_sessions(
        self, hub_name: str = "default"
    ) -> dict[str, dict[str, list[str]]]:
        """Lists the Summa sessions: ``{summa_id: {'dsource_ids': [...]}}``.

        Examples
        --------
        >>> await videre.summa_list_sessions()  # doctest: +SKIP
        {'s1': {'dsource_ids': ['a', 'b']}}
        """
        self._check_hub(hub_name)
        reply = await self._summa("List", common_pb2.Empty())
        return {s.summa_id: {"dsource_ids": list(s.dataset_ids)} for s in reply.sessions}

    async def summa_clear_sessions(self, hub_name: str = "default") -> None:
        """Clears every Summa session.

        Examples
        --------
        >>> await videre.summa_clear_sessions()  # doctest: +SKIP
        """
        self._check_hub(hub_name)
        await self._summa("Clear", common_pb2.Empty())
