"""The hub's catalog of linked datasets, persisted in the hub's SQLite store.

A linked dataset is a row (ID, canonical path, file type, base name, fingerprint of the backing
files). Readers are opened on demand and kept; before a reader is used the backing files are
stat-ed, and a change (size or modification time) reopens the reader and re-describes the
dataset, so nothing stale is served. Files that disappeared make the dataset answer NOT_FOUND
until it is cleared or the files come back.

Dataset IDs follow the documented client: the first link of a file set gets its stem (the base
name); a forced re-link (or a different file with the same stem) gets ``<stem>_-_<9 hex>``.
A ``.spikes`` set beside a recording is linked as its spikes under ``<stem>.spikes``.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound, RadiensError
from radiens_async.formats.spikes_file import SpikesReader, spikes_paths
from radiens_async.hub.datasets.describe import describe_source
from radiens_async.hub.datasets.signal_view import LocalFile, SignalView
from radiens_async.hub.datasets.source import (
    DatasetPath,
    DatasetSource,
    open_source,
    resolve_dataset_path,
)
from radiens_async.hub.datasets.xdat_source import XdatSource
from radiens_async.hub.store import HubStore
from radiens_async.models.argument_checks import os_error_to_typed
from radiens_async.models.dataset_metadata import DatasetMetadata
from radiens_async.utils.enums import RadiensFileType

__all__ = ["DatasetCatalog", "LinkedDataset"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videre_datasets (
    dataset_id  TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    file_type   INTEGER NOT NULL,
    base_name   TEXT NOT NULL,
    parent_id   TEXT,
    fingerprint TEXT NOT NULL,
    linked_ns   INTEGER NOT NULL
)
"""
FORCED_ID_SEPARATOR = "_-_"
SPIKES_ID_SUFFIX = ".spikes"
_VERSIONS = itertools.count(1)  # every opening of a dataset gets a version no other one had


@dataclass
class LinkedDataset:
    """An open dataset: its reader, its description and the fingerprint they were made from."""

    dataset_id: str
    dpath: DatasetPath
    source: DatasetSource
    metadata: DatasetMetadata
    fingerprint: list[list[object]]
    version: int = 0
    """Unique per opening (a re-link or a changed file gets a new one): caches keyed by it
    never serve another opening's channels."""


@dataclass(frozen=True)
class _Row:
    dataset_id: str
    path: str
    file_type: int
    base_name: str
    parent_id: str | None
    fingerprint: str


class DatasetCatalog:
    """Linked datasets of one hub.

    Parameters
    ----------
    store : HubStore
        The hub's persistent store; the catalog owns the ``videre_datasets`` table.

    Notes
    -----
    Thread-safe: servicers call it from worker threads (``asyncio.to_thread``) so that opening
    a large file never blocks the hub's event loop. ``on_change`` callbacks run when a dataset
    is cleared or its files changed (signal metrics drop their results then).
    """

    def __init__(self, store: HubStore) -> None:
        self.store = store
        store.ensure_schema(_SCHEMA)
        self._lock = threading.RLock()
        self._open: dict[str, LinkedDataset] = {}
        self.on_change: list[Callable[[str], None]] = []

    # -- rows ---------------------------------------------------------------------------
    def _rows(self) -> list[_Row]:
        rows = self.store.query(
            "SELECT dataset_id, path, file_type, base_name, parent_id, fingerprint"
            " FROM videre_datasets ORDER BY dataset_id"
        )
        return [_Row(*r) for r in rows]  # type: ignore[arg-type]

    def _row(self, dataset_id: str) -> _Row:
        rows = self.store.query(
            "SELECT dataset_id, path, file_type, base_name, parent_id, fingerprint"
            " FROM videre_datasets WHERE dataset_id = ?",
            (dataset_id,),
        )
        if not rows:
            raise NotFound(f"no op, {dataset_id} is not an available dataset ID on this hub")
        return _Row(*rows[0])  # type: ignore[arg-type]

    def ids(self) -> list[tuple[str, str]]:
        """``(dataset_id, base_name)`` of every linked dataset, sorted by ID.

        Examples
        --------
        >>> catalog.ids()  # doctest: +SKIP
        [('rec_0', 'rec_0'), ('rec_0.spikes', 'rec_0')]
        """
        return [(r.dataset_id, r.base_name) for r in self._rows()]

    # -- linking ------------------------------------------------------------------------
    def link(self, path: str | Path, force: bool = False) -> DatasetMetadata:
        """Link a recording (and a ``.spikes`` set beside it); return its metadata.

        Parameters
        ----------
        path : str or Path
            The recording (``<dir>/<base>.xdat`` for XDAT).
        force : bool
            Link as a new dataset even when the path is linked already.

        Returns
        -------
        DatasetMetadata

        Raises
        ------
        NotFound
            The file does not exist.
        InvalidArgument
            Unsupported or unknown file type.
        FormatError
            The file is corrupt.
        FailedPrecondition
            The reader the format needs (neo, pynwb) is not installed.
        """
        dpath = _resolve_for_link(path)
        if dpath.file_type == RadiensFileType.SPIKES:
            raise InvalidArgument(f"{dpath.path}: link the recording; its spikes come with it")
        with self._lock:
            if not force:
                for row in self._rows():
                    if row.path == str(dpath.path) and row.parent_id is None:
                        return self.metadata(row.dataset_id)
            taken = {r.dataset_id for r in self._rows()}
            dataset_id = dpath.base_name
            if force or dataset_id in taken or dataset_id + SPIKES_ID_SUFFIX in taken:
                dataset_id = f"{dpath.base_name}{FORCED_ID_SEPARATOR}{uuid.uuid4().hex[:9]}"
            try:
                fingerprint = dpath.fingerprint()
                source = open_source(dpath)  # the whole link fails (and nothing is stored) here
            except OSError as exc:
                raise os_error_to_typed(exc, f"link {str(dpath.path)!r}") from None
            try:
                spikes_id, spikes_fp, spikes_json = self._spikes_beside(dpath, dataset_id)
                spikes_ids = (spikes_id,) if spikes_id else ()
                meta = describe_source(source, dpath, dataset_id, spikes_ids)
                now = time.time_ns()
                with self.store.transaction() as db:
                    db.execute(
                        "INSERT INTO videre_datasets VALUES (?, ?, ?, ?, NULL, ?, ?)",
                        (
                            dataset_id,
                            str(dpath.path),
                            int(dpath.file_type),
                            dpath.base_name,
                            json.dumps(fingerprint),
                            now,
                        ),
                    )
                    if spikes_id:
                        db.execute(
                            "INSERT INTO videre_datasets VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (
                                spikes_id,
                                spikes_json,
                                int(RadiensFileType.SPIKES),
                                dpath.base_name,
                                dataset_id,
                                json.dumps(spikes_fp),
                                now,
                            ),
                        )
            except BaseException:
                source.close()
                raise
            self._open[dataset_id] = LinkedDataset(
                dataset_id, dpath, source, meta, fingerprint, next(_VERSIONS)
            )
            return meta

    def _spikes_beside(
        self, dpath: DatasetPath, dataset_id: str
    ) -> tuple[str, list[list[object]], str]:
        paths = spikes_paths(dpath.directory / dpath.base_name)
        if not paths.json.is_file():
            return "", [], ""
        try:  # a spikes set that does not open is not linked (the recording still is)
            SpikesReader(paths.json).close()
        except Exception:
            return "", [], ""
        fp = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths if p.exists()]
        return dataset_id + SPIKES_ID_SUFFIX, fp, str(paths.json)

    # -- lookup -------------------------------------------------------------------------
    def find_path(self, path: str | Path) -> str | None:
        """The ID of the first dataset linked from ``path`` (any spelling of it), or None."""
        try:
            canonical = str(resolve_dataset_path(path).path)
        except (NotFound, InvalidArgument, OSError):
            try:
                canonical = str(Path(path).expanduser().resolve())
            except (OSError, RuntimeError):  # a name too long, a symlink loop: never linked
                return None
        for row in self._rows():
            if row.path == canonical and row.parent_id is None:
                return row.dataset_id
        return None

    def id_at(self, index: int) -> str:
        """The dataset ID at row ``index`` of :meth:`ids`.

        Raises
        ------
        NotFound
            ``'<idx> is not an available dataset index on this hub'``.
        """
        ids = self.ids()
        if not 0 <= index < len(ids):
            raise NotFound(f"{index} is not an available dataset index on this hub")
        return ids[index][0]

    def open(self, dataset_id: str) -> LinkedDataset:
        """The open dataset, reopened first if its files changed.

        Raises
        ------
        NotFound
            Unknown ID, or the dataset's files are gone.
        FailedPrecondition
            The ID names a ``.spikes`` dataset (it has no signals).
        """
        with self._lock:
            row = self._row(dataset_id)
            if row.file_type == int(RadiensFileType.SPIKES):
                raise FailedPrecondition(f"dataset {dataset_id} is a spikes set: it has no signals")
            linked = self._open.get(dataset_id)
            dpath = linked.dpath if linked else resolve_dataset_path(row.path)
            try:
                fingerprint = dpath.fingerprint()
            except NotFound as exc:
                self._drop_reader(dataset_id)
                raise NotFound(f"dataset {dataset_id}: {exc}") from None
            if linked is not None and linked.fingerprint == fingerprint:
                return linked
            changed = linked is not None or json.loads(row.fingerprint) != fingerprint
            self._drop_reader(dataset_id)
            source = open_source(dpath)
            spikes = tuple(r.dataset_id for r in self._rows() if r.parent_id == dataset_id)
            meta = describe_source(source, dpath, dataset_id, spikes)
            fresh = LinkedDataset(dataset_id, dpath, source, meta, fingerprint, next(_VERSIONS))
            self._open[dataset_id] = fresh
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE videre_datasets SET fingerprint = ? WHERE dataset_id = ?",
                    (json.dumps(fingerprint), dataset_id),
                )
        if changed:
            self._notify(dataset_id)
        return fresh

    def metadata(self, dataset_id: str) -> DatasetMetadata:
        """Fresh metadata of a linked dataset (see :meth:`open`).

        Examples
        --------
        >>> catalog.metadata('rec_0').TR.fs  # doctest: +SKIP
        30000.0
        """
        row = self._row(dataset_id)
        if row.file_type == int(RadiensFileType.SPIKES):
            return self._spikes_metadata(row)
        return self.open(dataset_id).metadata

    def _spikes_metadata(self, row: _Row) -> DatasetMetadata:
        with self.spikes_reader_for(row.dataset_id) as reader:
            from radiens_async.models.dataset_metadata import make_time_range

            t0, t1 = reader.time_range
            tr = make_time_range([t0, t1], fs=reader.fs)
        p = Path(row.path)
        return DatasetMetadata(
            dsource_id=row.dataset_id,
            kpi_dsource_id=row.parent_id or "",
            time_range=tr,
            source_type="file",
            file_type=RadiensFileType.SPIKES,
            source_mode="linked",
            label=row.base_name,
            path=str(p.parent),
            base_name=row.base_name,
        )

    def spikes_reader_for(self, dataset_id: str) -> SpikesReader:
        """A reader of the spikes of a dataset (the recording's or the ``.spikes`` dataset's own).

        The caller closes the reader (``with catalog.spikes_reader_for(id) as r: ...``).

        Raises
        ------
        NotFound
            Unknown dataset ID, or the spikes files are gone.
        FailedPrecondition
            The dataset has no spikes linked.

        Examples
        --------
        >>> with hub.datasets.spikes_reader_for('rec_0') as spikes:  # doctest: +SKIP
        ...     spikes.timestamps(time_range=(0.0, 1.0))
        """
        row = self._row(dataset_id)
        if row.file_type != int(RadiensFileType.SPIKES):
            children = [r for r in self._rows() if r.parent_id == dataset_id]
            if not children:
                raise FailedPrecondition(
                    f"dataset {dataset_id} has no spikes: no {row.base_name}.spikes.json was"
                    " found beside it when it was linked"
                )
            row = children[0]
        try:
            return SpikesReader(row.path)
        except Exception as exc:
            if not Path(row.path).exists():
                raise NotFound(f"dataset {row.dataset_id}: {row.path} is gone") from None
            raise FailedPrecondition(f"dataset {row.dataset_id}: {exc}") from exc

    # -- clearing -----------------------------------------------------------------------
    def clear(self, dataset_ids: list[str] | None = None) -> int:
        """Unlink datasets (their spikes too); ``None`` or ``[]`` clears every dataset.

        Returns
        -------
        int
            The number of datasets unlinked.

        Raises
        ------
        NotFound
            When an ID is unknown (nothing is unlinked then).
        """
        with self._lock:
            rows = self._rows()
            known = {r.dataset_id for r in rows}
            if dataset_ids:
                unknown = [d for d in dataset_ids if d not in known]
                if unknown:
                    raise NotFound(
                        f"no op, {', '.join(unknown)} is not an available dataset ID on this hub"
                    )
                chosen = set(dataset_ids)
                chosen |= {r.dataset_id for r in rows if r.parent_id in chosen}
            else:
                chosen = known
            with self.store.transaction() as db:
                db.executemany(
                    "DELETE FROM videre_datasets WHERE dataset_id = ?",
                    [(d,) for d in sorted(chosen)],
                )
            for d in chosen:
                self._drop_reader(d)
        for d in chosen:
            self._notify(d)
        return len(chosen)

    def _drop_reader(self, dataset_id: str) -> None:
        # not closed here: a request on another thread may still be reading from it; the
        # memory maps are released when the last reference goes
        self._open.pop(dataset_id, None)

    def _notify(self, dataset_id: str) -> None:
        for callback in list(self.on_change):
            callback(dataset_id)

    def close(self) -> None:
        """Close every open reader (the links stay in the store)."""
        with self._lock:
            for linked in self._open.values():
                linked.source.close()
            self._open.clear()

    def view(self, dataset_id: str) -> SignalView:
        """A :class:`SignalView` of a linked dataset (fresh if its files changed).

        Raises
        ------
        NotFound
            Unknown ID or files gone.
        FailedPrecondition
            A ``.spikes`` dataset (no signals).
        """
        return _view_of(self.open(dataset_id))

    def ready_view(self, dataset_id: str) -> SignalView | None:
        """The view of an open, unchanged dataset without waiting, else None.

        Cheap enough for the event loop (one store lookup and a ``stat`` per backing file): None
        when another thread holds the catalog (a link may be opening a large file), or when the
        dataset is unknown, not open yet, changed or gone; :meth:`view` then does the work and
        raises the errors.

        Examples
        --------
        >>> view = catalog.ready_view('rec_0') or catalog.view('rec_0')  # doctest: +SKIP
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            linked = self._open.get(dataset_id)
            if linked is None or not self.store.query(
                "SELECT 1 FROM videre_datasets WHERE dataset_id = ?", (dataset_id,)
            ):
                return None
            try:
                if linked.dpath.fingerprint() != linked.fingerprint:
                    return None
            except NotFound:
                return None
            return _view_of(linked)
        finally:
            self._lock.release()


def _resolve_for_link(path: str | Path) -> DatasetPath:
    """:func:`resolve_dataset_path` with every refusal typed (a directory, a name too long ...)."""
    try:
        return resolve_dataset_path(path)
    except (OSError, ValueError, RuntimeError, NotFound) as exc:
        try:
            is_dir = Path(path).expanduser().is_dir()
        except (OSError, ValueError):
            is_dir = False
        if is_dir:
            raise InvalidArgument(
                f"{str(path)!r} is a directory: link a recording file "
                "(<dir>/<base>.xdat, .rhd, .nsX, .nwb or structure.oebin)"
            ) from None
        if isinstance(exc, RadiensError):
            raise
        if isinstance(exc, OSError):
            raise os_error_to_typed(exc, f"link {str(path)!r}") from None
        raise InvalidArgument(f"cannot link {str(path)!r}: {exc}") from None  # symlink loop


def _view_of(linked: LinkedDataset) -> SignalView:
    """The view of an open dataset; an XDAT one says where its data file lies (and which version
    of it: the size and modification time the catalog verified)."""
    src = linked.source
    local = None
    if isinstance(src, XdatSource):
        data = str(src.reader.paths.data)
        stamps = {fp[0]: fp[1:] for fp in linked.fingerprint if len(fp) == 3}
        size, mtime = stamps.get(data, (None, None))
        if not isinstance(size, int) or not isinstance(mtime, int):
            st = os.stat(data)
            size, mtime = st.st_size, st.st_mtime_ns
        local = LocalFile(data, src.n_samples, len(src.channels), size, mtime)
    return SignalView(
        dataset_id=linked.dataset_id,
        fs=src.fs,
        first_sample=src.first_sample,
        n_samples=src.n_samples,
        t0_sec=float(linked.metadata.TR.sec[0]),
        channels=src.channels,
        channel_metadata=linked.metadata.channel_metadata,
        read=src.read,
        walltime=src.start_time,
        version=linked.version,
        local_file=local,
    )
