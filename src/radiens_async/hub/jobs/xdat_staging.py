"""Stage a new XDAT set beside its final place and move it in when complete.

The set's binaries move first and its ``.xdat.json`` last: readers find a set by its metadata,
so until the last rename there is no target, and after it the whole set is there.

Examples
--------
>>> with StagedXdat("/data/rec_bp", tag="bp_filter__3a0c-942e") as staged:  # doctest: +SKIP
...     with XdatWriter(staged.path_base, 30000.0, channels) as w:
...         w.append(block)
...     staged.commit()
"""

from __future__ import annotations

from pathlib import Path

from radiens_async.formats.staged_output import StagedOutput
from radiens_async.formats.xdat_metadata import XdatPaths, xdat_paths

__all__ = ["StagedXdat"]


class StagedXdat(StagedOutput):
    """A :class:`StagedOutput` for the three files of one XDAT set.

    Parameters
    ----------
    target : str or Path
        ``<dir>/<base>`` (or ``.xdat`` / ``.xdat.json``) of the final set.
    tag : str
        Makes the staging directory unique.
    force : bool
        Replace an existing set on commit.
    """

    def __init__(self, target: str | Path, *, tag: str = "", force: bool = False) -> None:
        self.final_paths: XdatPaths = xdat_paths(Path(target).absolute())
        finals = [self.final_paths.data, self.final_paths.timestamp, self.final_paths.json]
        super().__init__(finals, tag=tag, force=force)

    @property
    def path_base(self) -> Path:
        """``<staging dir>/<base>``: give this to :class:`XdatWriter`."""
        return self.directory / self.final_paths.json.name[: -len(".xdat.json")]
