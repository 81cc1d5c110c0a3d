"""Curate's jobs: check a DSP or conversion request completely, then run it on the job runner.

Everything is validated before a job exists (the servicer's callers get a typed error and
nothing changes on disk): the source must be an existing, readable XDAT set; the target must be
a new name (or ``force``) in an existing directory, different from the source; the operation's
parameters must fit the source (:func:`~radiens_async.hub.jobs.dsp_ops.plan_for`); a conversion
must be to a supported type.

Examples
--------
>>> curate = CurateJobs(JobRunner(HubStore(data_dir)))  # doctest: +SKIP
>>> record = curate.submit_dsp(BandPass(300, 6000), "/data/rec_0.xdat", "/data/rec_bp")
... # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from radiens_async.errors import (
    AlreadyExists,
    FormatError,
    InvalidArgument,
    NotFound,
    RadiensError,
)
from radiens_async.formats.csv_export import export_csv
from radiens_async.formats.export_control import ExportControl
from radiens_async.formats.hdf5_export import export_hdf5
from radiens_async.formats.kilosort2_export import export_kilosort2, kilosort2_outputs
from radiens_async.formats.nwb_export import export_nwb
from radiens_async.formats.staged_output import existing_outputs
from radiens_async.formats.xdat_metadata import XdatMetadata, xdat_paths
from radiens_async.formats.xdat_reader import XdatReader
from radiens_async.hub.jobs.dsp_ops import BASE_NAMES, DspOp, plan_for
from radiens_async.hub.jobs.export_description import describe_job_target
from radiens_async.hub.jobs.file_pipeline import DspPlan, run_xdat_pipeline
from radiens_async.hub.jobs.job_runner import DONE, JobContext, JobRecord, JobRunner
from radiens_async.models.argument_checks import check_name_length, os_error_to_typed
from radiens_async.models.dataset_metadata import DatasetMetadata
from radiens_async.utils.enums import RadiensFileType

__all__ = ["CONVERTIBLE_TYPES", "CONVERT_BASE_NAME", "CurateJobs", "xdat_target_base"]

CONVERT_BASE_NAME = "file_convert"
#: Target types ``file_convert`` writes from an XDAT source.
CONVERTIBLE_TYPES = (
    RadiensFileType.XDAT,
    RadiensFileType.CSV,
    RadiensFileType.HDF5,
    RadiensFileType.NWB,
    RadiensFileType.KILOSORT2,
)
_EXPORTERS: dict[RadiensFileType, Callable[..., Path]] = {
    RadiensFileType.CSV: export_csv,
    RadiensFileType.HDF5: export_hdf5,
    RadiensFileType.NWB: export_nwb,
    RadiensFileType.KILOSORT2: export_kilosort2,
}


def _file_type_of(path: Path) -> RadiensFileType:
    name = path.name
    if name.endswith(".xdat.json") or name.endswith(".xdat"):
        return RadiensFileType.XDAT
    return RadiensFileType.from_path(name)


def xdat_target_base(path: Path) -> Path:
    """``<dir>/<base>`` of an XDAT set named by ``path`` (``.xdat`` / ``.xdat.json`` stripped).

    Examples
    --------
    >>> xdat_target_base(Path("/d/rec_bp.xdat.json"))
    PosixPath('/d/rec_bp')
    """
    json_path = xdat_paths(path).json
    return json_path.with_name(json_path.name[: -len(".xdat.json")])


def _open_source(source: str) -> XdatMetadata:
    if not source:
        raise InvalidArgument("source_path is empty")
    path = Path(source).expanduser()
    try:
        kind = _file_type_of(path)
    except InvalidArgument as exc:
        raise InvalidArgument(f"source {source} is not an XDAT file set: {exc}") from None
    if kind is not RadiensFileType.XDAT:
        raise InvalidArgument(
            f"source {source} is {kind.name}, not XDAT: Curate operations read XDAT file sets"
        )
    paths = xdat_paths(path)
    check_name_length("source_path", paths.timestamp.name)
    try:
        if not paths.json.exists():
            raise NotFound(f"source {source} not found (no {paths.json})")
        with XdatReader(path) as reader:
            return reader.metadata
    except FormatError as exc:
        raise InvalidArgument(f"source {source} is not a readable XDAT file set: {exc}") from None
    except OSError as exc:
        raise os_error_to_typed(exc, f"read the source {source}") from None


def _plain_base(base: Path) -> Path:
    if "." in base.name:
        raise InvalidArgument(f"target base name {base.name!r} must not contain '.'")
    return base


def _check_target(outputs: list[Path], source: Path, force: bool) -> None:
    for output in outputs:  # before any disk access: ENAMETOOLONG names neither path nor cause
        check_name_length("target_path", output.name)
    directory = outputs[0].parent
    try:
        if not directory.is_dir():
            raise NotFound(f"target directory {directory} does not exist")
        if any(p.resolve() == q.resolve() for p in outputs for q in xdat_paths(source)):
            raise InvalidArgument("source and target files are the same")
        taken = [] if force else existing_outputs(outputs)
    except OSError as exc:
        raise os_error_to_typed(exc, f"write the target {outputs[0]}") from None
    if taken:
        raise AlreadyExists(f"target {taken[0]} already exists (use force=True to replace it)")


class CurateJobs:
    """Validates Curate requests and runs them as jobs.

    Parameters
    ----------
    runner : JobRunner
        Where the jobs run and are recorded.
    workers : int
        Threads each DSP job uses for its chunks.
    """

    def __init__(self, runner: JobRunner, workers: int = 2) -> None:
        self.runner = runner
        self.workers = workers

    def submit_dsp(self, op: DspOp, source: str, target: str, force: bool = False) -> JobRecord:
        """Check ``op`` on ``source`` -> ``target`` and start it; returns the queued job.

        Raises
        ------
        InvalidArgument
            Bad parameters for this file, a non-XDAT source or target, or target == source.
        NotFound
            The source or the target directory does not exist.
        AlreadyExists
            The target exists and ``force`` is false.
        """
        md = _open_source(source)
        if not target:
            raise InvalidArgument("target_path is empty")
        target_path = Path(target).expanduser()
        try:
            kind = _file_type_of(target_path)
        except InvalidArgument as exc:
            raise InvalidArgument(f"target {target}: {exc}") from None
        if kind is not RadiensFileType.XDAT:
            raise InvalidArgument(f"target {target} is {kind.name}: DSP targets are XDAT file sets")
        base = _plain_base(xdat_target_base(target_path.absolute()))
        plan = plan_for(op, md)
        _check_target(list(xdat_paths(base)), Path(source).expanduser(), force)
        src = str(Path(source).expanduser().absolute())
        params = {"op": type(op).__name__, **dataclasses.asdict(op)}
        total_s = (plan.stop - plan.start) / md.fs
        work = self._pipeline_work(src, base, plan, force)
        return self.runner.submit(
            BASE_NAMES[type(op)], src, str(base), params, total_s=total_s, work=work
        )

    def submit_convert(
        self,
        source: str,
        dest: str,
        dest_file_type: str | int | None,
        force: bool = False,
        nwb_subject: dict[str, str] | None = None,
    ) -> JobRecord:
        """Check a conversion of ``source`` to ``dest`` and start it; returns the queued job.

        The target type comes from ``dest``'s suffix, else from ``dest_file_type`` (an extension
        such as ``'nwb'``, a type name or a :class:`RadiensFileType` value); the target name is
        ``dest``'s stem plus the type's suffix (KILOSORT2: ``.bin``, HDF5: ``.h5``).

        ``nwb_subject`` (``subject_id``, ``species``, ``sex``, ``age`` ...) describes the subject
        of an NWB target (XDAT does not record one).

        Raises
        ------
        InvalidArgument
            Unknown or unsupported target type, a non-XDAT source, or target == source.
        NotFound, AlreadyExists
            As :meth:`submit_dsp`.
        """
        md = _open_source(source)
        if not dest:
            raise InvalidArgument("dest_path is empty")
        dest_path = Path(dest).expanduser().absolute()
        kind = _convert_type(dest_path, dest_file_type)
        if kind not in CONVERTIBLE_TYPES:
            raise InvalidArgument(
                f"file conversion between {RadiensFileType.XDAT} and {kind} is not supported"
                f" (targets: {', '.join(t.name for t in CONVERTIBLE_TYPES)})"
            )
        stem = dest_path.name
        for suffix in (".xdat.json", ".xdat", dest_path.suffix):
            if suffix and stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        src = str(Path(source).expanduser().absolute())
        params = {"op": "FileConvert", "dest_file_type": kind.name}
        total_s = md.duration_s
        if kind is RadiensFileType.XDAT:
            base = _plain_base(dest_path.with_name(stem))
            _check_target(list(xdat_paths(base)), Path(src), force)
            work = self._pipeline_work(src, base, _copy_plan(md), force)
            return self.runner.submit(
                CONVERT_BASE_NAME, src, str(base), params, total_s=total_s, work=work
            )
        final = dest_path.with_name(stem + kind.suffix)
        outputs = kilosort2_outputs(final) if kind is RadiensFileType.KILOSORT2 else [final]
        _check_target(outputs, Path(src), force)
        exporter = _EXPORTERS[kind]

        def export(ctx: JobContext) -> Path:
            control = ExportControl(stop=ctx.stop, on_progress=ctx.report)
            extra = {"subject": nwb_subject} if kind is RadiensFileType.NWB else {}
            return exporter(src, final, control=control, force=force, tag=ctx.job_id, **extra)

        return self.runner.submit(
            CONVERT_BASE_NAME, src, str(final), params, total_s=total_s, work=export
        )

    def result_metadata(self, record: JobRecord) -> DatasetMetadata | None:
        """What a finished job wrote (see :func:`describe_job_target`); None before it is done or
        once the target (or, for an export, its source) has been moved, removed or rewritten.

        Examples
        --------
        >>> curate.result_metadata(curate.runner.get(job_id)).TR.fs  # doctest: +SKIP
        30000.0
        """
        if record.state != DONE or not record.result_path:
            return None
        try:
            return describe_job_target(record.result_path, record.source)
        except (RadiensError, OSError):
            return None  # the job record still says done

    def _pipeline_work(
        self, source: str, base: Path, plan: DspPlan, force: bool
    ) -> Callable[[JobContext], Path]:
        """The job that runs ``plan`` on ``source`` into the XDAT set ``base``."""

        def work(ctx: JobContext) -> Path:
            return run_xdat_pipeline(
                source,
                base,
                plan,
                stop=ctx.stop,
                on_progress=ctx.report,
                force=force,
                workers=self.workers,
                staging_tag=ctx.job_id,
            )

        return work


def _convert_type(dest: Path, dest_file_type: str | int | None) -> RadiensFileType:
    name = dest.name
    has_suffix = "." in name.strip(".")
    if has_suffix:
        try:
            return _file_type_of(dest)
        except InvalidArgument as exc:
            raise InvalidArgument(f"dest_path {dest}: {exc}") from None
    if dest_file_type is None or dest_file_type == "":
        return RadiensFileType.XDAT
    try:
        if (
            isinstance(dest_file_type, str)
            and dest_file_type.upper() in RadiensFileType.__members__
        ):
            return RadiensFileType[dest_file_type.upper()]
        return RadiensFileType.parse(dest_file_type)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"unknown dest_file_type {dest_file_type!r}: {exc}") from None


def _copy_plan(md: XdatMetadata) -> DspPlan:
    return DspPlan(
        columns=list(range(md.n_channels)),
        start=0,
        stop=md.n_samples,
        transforms=[],
        factor=1,
        out_fs=md.fs,
        out_channels=list(md.channels),
        out_first_sample=md.timestamp_range[0],
        out_start_time=md.start_time,
        extras=md.extras,
    )
