"""Write a set of output files under a hidden staging directory, then move them into place.

A conversion or DSP job writes every file of its target inside ``<dir>/.<name>.<tag>.partial/``
and, only once all are complete, renames them into ``<dir>`` (``os.replace``: atomic per file,
same file system) in the order given -- the last file is the one readers look for first (the
``.xdat.json`` of an XDAT set), so a reader never finds a target whose files are incomplete. A
run that fails or is cancelled removes the staging directory: no partial target is left.

Examples
--------
>>> with StagedOutput([Path("/data/rec.csv")], tag="job1") as staged:  # doctest: +SKIP
...     staged.staged(Path("/data/rec.csv")).write_text("t,ch0\\n")
...     staged.commit()
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["StagedOutput", "discard_staging", "existing_outputs"]


def _staging_name(first_final: str, tag: str) -> str:
    return f".{first_final}.{tag}.partial"


def discard_staging(directory: Path, tag: str) -> None:
    """Remove the staging directories tagged ``tag`` in ``directory`` (a run that died left them).

    Examples
    --------
    >>> discard_staging(Path("/nonexistent"), "job1")
    """
    if not directory.is_dir():
        return
    for leftover in directory.glob(_staging_name("*", tag)):
        shutil.rmtree(leftover, ignore_errors=True)


def existing_outputs(paths: Sequence[Path]) -> list[Path]:
    """The files of ``paths`` that exist already.

    Examples
    --------
    >>> existing_outputs([Path("/nonexistent/x.csv")])
    []
    """
    return [p for p in paths if p.exists()]


class StagedOutput:
    """Stage ``finals`` (all in one directory) and move them into place on :meth:`commit`.

    Parameters
    ----------
    finals : sequence of Path
        Final paths, in the order they are moved (the last one marks the target complete).
    tag : str
        Makes the staging directory unique (e.g. a job id).
    force : bool
        Replace existing final files on commit; otherwise an existing one fails the commit.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If the target directory does not exist.
    FileExistsError
        If a final file exists and ``force`` is false.
    """

    def __init__(self, finals: Sequence[Path], *, tag: str = "", force: bool = False) -> None:
        if not finals:
            raise ValueError("nothing to stage")
        self.finals = [Path(p).absolute() for p in finals]
        directory = self.finals[0].parent
        if any(p.parent != directory for p in self.finals):
            raise ValueError("staged outputs must share one directory")
        if not directory.exists():
            raise FileNotFoundError(f"target directory {directory} does not exist")
        if not directory.is_dir():
            raise NotADirectoryError(f"{directory} is not a directory")
        self.force = force
        self._check_free()
        self.directory = directory / _staging_name(self.finals[0].name, tag or str(os.getpid()))
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir()
        self.committed = False

    def _check_free(self) -> None:
        if not self.force:
            taken = existing_outputs(self.finals)
            if taken:
                raise FileExistsError(f"target {taken[0]} already exists (use force=True)")

    def staged(self, final: Path) -> Path:
        """Where to write ``final`` until commit."""
        return self.directory / Path(final).name

    def commit(self) -> None:
        """Move every staged file into place (replacing old ones when forced)."""
        self._check_free()
        missing = [p for p in self.finals if not self.staged(p).exists()]
        if missing:
            raise FileNotFoundError(f"staged output {self.staged(missing[0])} was not written")
        for final in self.finals:
            os.replace(self.staged(final), final)
        self.committed = True
        self.discard()

    def discard(self) -> None:
        """Remove the staging directory and anything in it."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self.discard()
