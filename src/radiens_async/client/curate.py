"""``AsyncCurateClient``: the documented Curate operations as awaitable, cancellable hub jobs.

Every operation validates its input on the hub before any work and returns a :class:`DspJob`
(awaitable: the target's :class:`DatasetMetadata`). Paths are resolved here, against this
process's working directory, because the hub may run with another one.

Examples
--------
>>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
...     job = await curate.dsp_band_pass_filter(300, 6000, "rec_0.xdat", "rec_bp")
...     meta = await job
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf.message import Message

from radiens_async._generated.radiens.v1 import common_pb2, curate_grpc, curate_pb2
from radiens_async.client.base import AsyncHubClient
from radiens_async.client.dsp_job import DspJob
from radiens_async.client.signal_metrics import AsyncSignalMetricsClient
from radiens_async.client.spikes import AsyncSpikesClient
from radiens_async.errors import InvalidArgument
from radiens_async.models.argument_checks import (
    check_bool,
    check_float,
    check_int,
    check_name_length,
    check_str,
)
from radiens_async.models.converters.jobs import job_status_to_model
from radiens_async.models.dsp_job import JobStatus
from radiens_async.utils.constants import DEFAULT_HUB
from radiens_async.utils.enums import ClientType, RadiensFileType

__all__ = ["AsyncCurateClient"]

PathLike = str | os.PathLike[str]
Method = TypeVar("Method", bound=Callable[..., Coroutine[Any, Any, DspJob]])

# The parameters, result and errors every DSP operation shares, documented once.
_JOB_SECTIONS = """\
source_path, target_path : str or pathlib.Path
    XDAT source and target (``<dir>/<base>``).
force : bool
    Replace the target if it exists.
hub_name : str
    Accepted for the documented signature; must be this client's hub.

Returns
-------
DspJob
    ``await`` it for the target's :class:`DatasetMetadata`.

Raises
------
InvalidArgument
    {invalid}; the source or the target is not XDAT.
NotFound
    The source or the target's directory does not exist.
AlreadyExists
    The target exists and ``force`` is false.
"""


def _job_doc(invalid: str) -> Callable[[Method], Method]:
    """Complete a DSP operation's docstring: its ``{job_sections}`` line becomes the shared
    parameters, returns and errors (``invalid``: what this operation refuses)."""

    def complete(method: Method) -> Method:
        doc = method.__doc__ or ""
        line = next(ln for ln in doc.splitlines() if ln.strip() == "{job_sections}")
        indent = line[: len(line) - len(line.lstrip())]
        sections = textwrap.indent(_JOB_SECTIONS.format(invalid=invalid), indent).lstrip()
        method.__doc__ = doc.replace("{job_sections}", sections)
        return method

    return complete


def _path(name: str, value: object) -> str:
    if not isinstance(value, str | os.PathLike):
        raise InvalidArgument(f"{name} must be a str or pathlib.Path, not {type(value).__name__}")
    text = os.fspath(value)
    if not isinstance(text, str) or not text:
        raise InvalidArgument(f"{name} must be a non-empty path")
    check_str(name, text)
    path = Path(text).expanduser().absolute()
    check_name_length(name, path.name)  # the hub checks the exact names of every output
    return str(path)


def _number(name: str, value: object) -> float:
    return check_float(name, value)


def _integer(name: str, value: object, low: int | None = None) -> int:
    return check_int(name, value, low=low, bits=32)


def _band(low_cutoff_freq: object, high_cutoff_freq: object) -> curate_pb2.BandParams:
    return curate_pb2.BandParams(
        low_hz=_number("low_cutoff_freq", low_cutoff_freq),
        high_hz=_number("high_cutoff_freq", high_cutoff_freq),
    )


class AsyncCurateClient(AsyncHubClient):
    """Curate: DSP on recorded XDAT files and file conversion, as hub jobs.

    Parameters are those of :class:`~radiens_async.client.base.AsyncHubClient` (``address``,
    ``hub_name``, ``token``, ``timeout``, ``connect_timeout``).

    Examples
    --------
    >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
    ...     job = await curate.dsp_low_pass_filter(750, "./rec_0.xdat", "./rec_lp")
    ...     async for p in job.progress():
    ...         print(p.frac_complete)
    ...     meta = await job
    """

    @property
    def type(self) -> ClientType:
        """Returns ``ClientType.CURATE``."""
        return ClientType.CURATE

    def spikes(self) -> AsyncSpikesClient:
        """Spikes API: ``get_spike_timestamps`` / ``get_spike_waveforms`` of linked datasets.

        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     spikes = await curate.spikes().get_spike_timestamps("rec_0")
        """
        return AsyncSpikesClient(self, self._hub_backend, self._hub_channel_metadata, live=False)

    def signal_metrics(self) -> AsyncSignalMetricsClient:
        """Signal metrics API: metrics of datasets linked to this client's hub.

        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     await curate.signal_metrics().calculate(meta)
        """
        return AsyncSignalMetricsClient(self)

    # -- transport ----------------------------------------------------------------------
    async def _curate_call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        stub = await self._transport.stub(curate_grpc.CurateStub)
        return await self._transport.call(getattr(stub, method), request, timeout=timeout)

    async def _submit(
        self,
        op: str,
        params: Message,
        source_path: PathLike,
        target_path: PathLike,
        force: bool,
        hub_name: str | None,
    ) -> DspJob:
        """Start the DSP operation ``op`` (a field of ``DspRequest``) with its ``params``."""
        self._check_hub(hub_name)
        request = curate_pb2.DspRequest(
            source_path=_path("source_path", source_path),
            target_path=_path("target_path", target_path),
            force=check_bool("force", force),
        )
        getattr(request, op).CopyFrom(params)
        reply = await self._curate_call("SubmitDsp", request)
        return DspJob(self._transport, job_status_to_model(reply))

    # -- filters ------------------------------------------------------------------------
    @_job_doc("The cut-off is not in (0, fs/2)")
    async def dsp_low_pass_filter(
        self,
        cutoff_freq: float,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Low-pass filter (Butterworth, order 4, zero phase) the source into the target.

        Parameters
        ----------
        cutoff_freq : float
            Cut-off frequency in Hz; must be < fs/2 of the source.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     meta = await (await curate.dsp_low_pass_filter(750, "./rec", "./rec_lp"))
        """
        params = curate_pb2.CutoffParams(cutoff_hz=_number("cutoff_freq", cutoff_freq))
        return await self._submit("low_pass", params, source_path, target_path, force, hub_name)

    @_job_doc("The cut-off is not in (0, fs/2)")
    async def dsp_high_pass_filter(
        self,
        cutoff_freq: float,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """High-pass filter (Butterworth, order 4, zero phase) the source into the target.

        Parameters
        ----------
        cutoff_freq : float
            Cut-off frequency in Hz; must be < fs/2 of the source.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_high_pass_filter(20, "./rec", "./rec_hp")
        """
        params = curate_pb2.CutoffParams(cutoff_hz=_number("cutoff_freq", cutoff_freq))
        return await self._submit("high_pass", params, source_path, target_path, force, hub_name)

    @_job_doc("An edge is not in (0, fs/2), or low >= high")
    async def dsp_band_pass_filter(
        self,
        low_cutoff_freq: float,
        high_cutoff_freq: float,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Band-pass filter (Butterworth, 2 poles per edge, zero phase) the source.

        Parameters
        ----------
        low_cutoff_freq, high_cutoff_freq : float
            Band edges in Hz; ``0 < low < high < fs/2``.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_band_pass_filter(300, 6000, "./rec", "./rec_bp")
        """
        params = _band(low_cutoff_freq, high_cutoff_freq)
        return await self._submit("band_pass", params, source_path, target_path, force, hub_name)

    @_job_doc("An edge is not in (0, fs/2), or low >= high")
    async def dsp_band_stop_filter(
        self,
        low_cutoff_freq: float,
        high_cutoff_freq: float,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Band-stop filter (Butterworth, 2 poles per edge, zero phase) the source.

        Parameters
        ----------
        low_cutoff_freq, high_cutoff_freq : float
            Edges of the rejected band in Hz; ``0 < low < high < fs/2``.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_band_stop_filter(750, 2000, "./rec", "./rec_bs")
        """
        params = _band(low_cutoff_freq, high_cutoff_freq)
        return await self._submit("band_stop", params, source_path, target_path, force, hub_name)

    @_job_doc("The ``freq`` is not in (0, fs/2), or ``bandwidth`` <= 0")
    async def dsp_notch_filter(
        self,
        freq: float,
        bandwidth: float,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Notch filter (2nd-order IIR, zero phase) at ``freq`` with width ``bandwidth``.

        Parameters
        ----------
        freq : float
            Notch frequency in Hz; must be < fs/2.
        bandwidth : float
            Width of the notch in Hz; must be > 0.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_notch_filter(50, 2, "./rec", "./rec_notch")
        """
        params = curate_pb2.NotchParams(
            freq_hz=_number("freq", freq), bandwidth_hz=_number("bandwidth", bandwidth)
        )
        return await self._submit("notch", params, source_path, target_path, force, hub_name)

    # -- references ---------------------------------------------------------------------
    @_job_doc("An unknown channel, or both channels the same")
    async def dsp_paired_diff(
        self,
        source_chan: int,
        ref_chan: int,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Source channel becomes source - reference; the reference channel is zeroed.

        Parameters
        ----------
        source_chan, ref_chan : int
            Amplifier channels by native index; must differ.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_paired_diff(1, 5, "./rec", "./rec_pd")
        """
        params = curate_pb2.PairedDiffParams(
            source_chan=_integer("source_chan", source_chan),
            ref_chan=_integer("ref_chan", ref_chan),
        )
        return await self._submit("paired_diff", params, source_path, target_path, force, hub_name)

    @_job_doc("An unknown channel")
    async def dsp_virtual_ref(
        self,
        ref_chan: int,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Every amplifier channel becomes channel - reference; the reference is zeroed.

        Parameters
        ----------
        ref_chan : int
            The reference amplifier channel by native index.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_virtual_ref(5, "./rec", "./rec_vref")
        """
        params = curate_pb2.VirtualRefParams(ref_chan=_integer("ref_chan", ref_chan))
        return await self._submit("virtual_ref", params, source_path, target_path, force, hub_name)

    @_job_doc("A source without amplifier channels")
    async def dsp_car(
        self,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Common average reference: each amplifier channel minus the mean of all of them.

        Parameters
        ----------
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_car("./rec", "./rec_car")
        """
        params = common_pb2.Empty()
        return await self._submit("car", params, source_path, target_path, force, hub_name)

    # -- time and channels --------------------------------------------------------------
    @_job_doc("The factor ``decimate`` is < 2 or not an integer")
    async def dsp_time_decimate(
        self,
        decimate: int,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Decimate in time by ``decimate`` (anti-alias filtered); target fs = fs / decimate.

        The analog channels are low-pass filtered first (Chebyshev I, order 8, zero phase, as
        ``scipy.signal.decimate``); digital channels are only subsampled.

        Parameters
        ----------
        decimate : int
            The factor, >= 2.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_time_decimate(3, "./rec", "./rec_dec")
        """
        params = curate_pb2.DecimateParams(factor=_integer("decimate", decimate, low=2))
        return await self._submit("decimate", params, source_path, target_path, force, hub_name)

    @_job_doc("Reversed times, or a slice outside the file")
    async def dsp_slice_time(
        self,
        time_start: float,
        time_end: float,
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Keep the samples in ``[time_start, time_end)`` (absolute stream seconds).

        Parameters
        ----------
        time_start, time_end : float
            Absolute times in the source file, in seconds.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_slice_time(0.5, 10, "./rec", "./rec_cut")
        """
        params = curate_pb2.SliceTimeParams(
            time_start_s=_number("time_start", time_start),
            time_end_s=_number("time_end", time_end),
        )
        return await self._submit("slice_time", params, source_path, target_path, force, hub_name)

    @_job_doc("Empty, repeated or unknown indices, or every channel listed")
    async def dsp_slice_channels(
        self,
        target_channels: list[int],
        source_path: PathLike,
        target_path: PathLike,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
    ) -> DspJob:
        """Slice out (remove) the listed channels.

        Parameters
        ----------
        target_channels : list of int
            System channel indices of the source (GPIO included) to remove.
        {job_sections}
        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.dsp_slice_channels([0, 2, 8, 5], "./rec", "./rec_less")
        """
        if isinstance(target_channels, str | bytes) or not hasattr(target_channels, "__iter__"):
            raise InvalidArgument(
                f"target_channels must be a list of ints, not {target_channels!r}"
            )
        idxs = [_integer(f"target_channels[{i}]", c, low=0) for i, c in enumerate(target_channels)]
        params = curate_pb2.SliceChannelsParams(sys_idxs=idxs)
        return await self._submit(
            "slice_channels", params, source_path, target_path, force, hub_name
        )

    # -- conversion ---------------------------------------------------------------------
    async def file_convert(
        self,
        source_path: PathLike,
        dest_path: PathLike,
        dest_file_type: str | RadiensFileType | None = None,
        force: bool = False,
        hub_name: str = DEFAULT_HUB,
        *,
        nwb_subject: dict[str, str] | None = None,
    ) -> DspJob:
        """Convert an XDAT file to CSV, HDF5, NWB, Kilosort2 (int16 + params.py) or XDAT.

        The target type comes from ``dest_path``'s suffix (``.csv``, ``.h5``/``.hdf5``,
        ``.nwb``, ``.bin``/``.kilosort2``, ``.xdat``), else from ``dest_file_type``; the target
        is named ``<stem><type suffix>`` (Kilosort2: ``<stem>.bin`` and ``params.py`` beside it).

        Parameters
        ----------
        source_path : str or pathlib.Path
            XDAT source.
        dest_path : str or pathlib.Path
            Target file.
        dest_file_type : str or RadiensFileType, optional
            ``'nwb'``, ``'csv'``, ``RadiensFileType.KILOSORT2`` ...; used when ``dest_path`` has
            no suffix (default XDAT).
        force : bool
            Replace the target if it exists.
        hub_name : str
            Must be this client's hub.
        nwb_subject : dict, optional
            NWB subject fields (``subject_id``, ``species``, ``sex``, ``age``, ``description``);
            XDAT does not record them.

        Returns
        -------
        DspJob

        Raises
        ------
        InvalidArgument
            Unknown or unsupported target type, source not XDAT, source == target.
        NotFound, AlreadyExists
            As :meth:`dsp_low_pass_filter`.

        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     meta = await (await curate.file_convert("./rec.xdat", "./rec.nwb"))
        """
        self._check_hub(hub_name)
        if isinstance(dest_file_type, RadiensFileType):
            type_text = dest_file_type.name
        elif dest_file_type is None or isinstance(dest_file_type, str):
            type_text = dest_file_type or ""
        else:
            raise InvalidArgument(f"dest_file_type must be a str, not {dest_file_type!r}")
        request = curate_pb2.FileConvertRequest(
            source_path=_path("source_path", source_path),
            dest_path=_path("dest_path", dest_path),
            dest_file_type=type_text,
            force=check_bool("force", force),
        )
        if nwb_subject:
            allowed = {"subject_id", "species", "sex", "age", "description"}
            unknown = set(nwb_subject) - allowed
            if unknown:
                raise InvalidArgument(f"unknown nwb_subject fields {sorted(unknown)}")
            request.nwb_subject.CopyFrom(curate_pb2.NwbSubject(**nwb_subject))
        reply = await self._curate_call("FileConvert", request)
        return DspJob(self._transport, job_status_to_model(reply))

    # -- jobs ---------------------------------------------------------------------------
    async def get_job(self, job_id: str) -> DspJob:
        """A handle on an existing job (one started by another client or before a restart).

        Raises
        ------
        NotFound
            If the hub has no such job.

        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     job = await curate.get_job("CAR__3a0c-942e")
        """
        job_id = check_str("job_id", job_id, max_len=1024)
        reply = await self._curate_call("GetJob", curate_pb2.JobRequest(job_id=job_id))
        return DspJob(self._transport, job_status_to_model(reply))

    async def list_jobs(self) -> list[JobStatus]:
        """Every job the hub knows, oldest first (also those of earlier hub runs).

        Examples
        --------
        >>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
        ...     [(j.id, j.state) for j in await curate.list_jobs()]
        """
        reply = await self._curate_call("ListJobs", common_pb2.Empty())
        return [job_status_to_model(job) for job in reply.jobs]
