"""Workspaces exported to and imported from files (the Radiens protocol's WSPACE_Export/Import).

A workspace file is one JSON object: the format name and version, the workspace's ID, app, tags,
notes, last-modified time and the saved instrument state (the snapshot the hub restores on
switch). Export writes it atomically (a temporary file beside the target, then a rename), so a
failed export leaves nothing half-written; an existing file is kept unless forced. Import reads
at most :data:`MAX_FILE_BYTES`, checks the format and that the hub could restore the state, and
stores it as a workspace without switching to it.

Plain domain code: no gRPC.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from radiens_async.errors import (
    AlreadyExists,
    FailedPrecondition,
    FormatError,
    InvalidArgument,
    NotFound,
)
from radiens_async.hub.workspaces.workspaces import WorkspaceInfo, Workspaces
from radiens_async.utils.enums import WorkspaceApp

FILE_FORMAT: Final = "radiens-async.workspace"
FILE_VERSION: Final = 1
MAX_FILE_BYTES: Final = 16 << 20


def _target(path: str) -> Path:
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgument("the workspace file name must not be empty")
    target = Path(os.path.expanduser(path))
    if not target.is_absolute():
        raise InvalidArgument(f"the workspace file name must be an absolute path, got {path!r}")
    return target


def export_workspace(
    workspaces: Workspaces, workspace_id: str | None, path: str, *, force: bool = False
) -> Path:
    """Write workspace ``workspace_id`` (default: the current one) to the file ``path``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidArgument
        An empty or relative path, or one that names a directory.
    NotFound
        Unknown workspace (or none current), or the file's directory does not exist.
    AlreadyExists
        The file exists and ``force`` is False.
    FailedPrecondition
        The directory is not writable.

    Examples
    --------
    >>> import tempfile, pathlib  # doctest: +SKIP
    >>> export_workspace(ws, "rig-1", "/tmp/rig-1.workspace.json")  # doctest: +SKIP
    PosixPath('/tmp/rig-1.workspace.json')
    """
    target = _target(path)
    row = workspaces.row(workspace_id)
    if target.is_dir():
        raise InvalidArgument(f"{str(target)!r} is a directory; name the workspace file")
    if not target.parent.is_dir():
        raise NotFound(f"directory {str(target.parent)!r} does not exist")
    if target.exists() and not force:
        raise AlreadyExists(f"{str(target)!r} exists; export with force to overwrite it")
    doc = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "id": row.id,
        "app": WorkspaceApp(row.app).name,
        "tags": row.tags,
        "notes": row.notes,
        "last_modified": row.last_modified,
        "snapshot": row.snapshot,
    }
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise FailedPrecondition(f"cannot write in {str(target.parent)!r}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def read_workspace_file(path: str) -> dict[str, Any]:
    """The workspace document of file ``path``, checked for format and shape.

    Raises
    ------
    NotFound
        No such file.
    FormatError
        Not a workspace file of this format (too large, not JSON, wrong fields).
    """
    source = _target(path)
    if not source.is_file():
        raise NotFound(f"workspace file {str(source)!r} does not exist")
    size = source.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FormatError(f"{str(source)!r} is {size} bytes: not a workspace file")
    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{str(source)!r} is not a workspace file: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise FormatError(f"{str(source)!r} is not a {FILE_FORMAT} file")
    if doc.get("version") != FILE_VERSION:
        raise FormatError(f"{str(source)!r} has version {doc.get('version')!r}, expected 1")
    for key, kind in (("id", str), ("tags", str), ("notes", str), ("snapshot", dict)):
        if not isinstance(doc.get(key), kind):
            raise FormatError(f"{str(source)!r}: field {key!r} must be a {kind.__name__}")
    if doc.get("app") != WorkspaceApp.ALLEGO.name:
        raise FormatError(f"{str(source)!r} holds a {doc.get('app')!r} workspace, not Allego")
    return doc


def import_workspace(
    workspaces: Workspaces, path: str, workspace_id: str | None = None, *, force: bool = False
) -> WorkspaceInfo:
    """Store the workspace of file ``path`` (under ``workspace_id``, default its own ID).

    Raises
    ------
    NotFound
        No such file.
    FormatError
        Not a workspace file, or its saved state is not one this hub can restore.
    AlreadyExists
        A workspace with that ID exists and ``force`` is False.
    """
    doc = read_workspace_file(path)
    wid = workspace_id if workspace_id is not None else doc["id"]
    try:
        return workspaces.add(wid, doc["snapshot"], doc["tags"], doc["notes"], force=force)
    except AlreadyExists:
        raise
    except InvalidArgument as exc:
        if workspace_id is not None and str(exc).startswith("workspace_id"):
            raise
        raise FormatError(f"{path!r} holds no workspace this hub can restore: {exc}") from exc
