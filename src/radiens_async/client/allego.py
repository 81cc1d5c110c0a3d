"""``AsyncAllegoClient``: live acquisition, the async source of truth of ``AllegoClient``."""

from __future__ import annotations

import asyncio
import numbers
import os
import warnings
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Self

from radiens_async.client.backends.allego_backend import AllegoBackend, require
from radiens_async.client.backends.arguments import StreamStart
from radiens_async.client.base import AsyncHubClient
from radiens_async.client.protocol_selection import (
    WireProtocol,
    parse_protocol,
    select_allego_backend,
)
from radiens_async.client.signal_metrics import AsyncSignalMetricsClient
from radiens_async.client.signals import AsyncSignalsClient
from radiens_async.client.spike_sorter import AsyncSpikeSorterClient
from radiens_async.client.spikes import AsyncSpikesClient
from radiens_async.client.tls import TlsSetting
from radiens_async.client.transport import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S
from radiens_async.client.workspace import AsyncWorkspaceClient
from radiens_async.errors import ClientClosed, InvalidArgument
from radiens_async.models.allego_state import AllegoState, RecordingConfig
from radiens_async.models.argument_checks import (
    LONGEST_RECORDING_SUFFIX,
    WrongType,
    check_bool,
    check_float,
    check_int,
    check_int_list,
    check_name_length,
    check_optional_int,
    check_str,
)
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.ground_truth import SimGroundTruth
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.signals import SignalChunk, Signals
from radiens_async.models.stim_params import checked_request
from radiens_async.utils.aliases import parse_system_mode, resolve_headstage, resolve_probe
from radiens_async.utils.enums import ClientType, Port, RecordMode, StreamMode, SystemMode

__all__ = ["DEFAULT_MAX_LAG_S", "AsyncAllegoClient", "StreamStart"]

DEFAULT_MAX_LAG_S = 0.5


class AsyncAllegoClient(AsyncHubClient):
    """Data acquisition and instrument control (Allego), asyncio-native.

    Every coroutine returns pydantic models or numpy arrays; live signals are an async
    generator. Use it as an async context manager so the connection is closed.

    The client speaks one of two wire protocols behind the same methods: our hub's
    ``radiens.v1`` or the Radiens protocol of the Allego app (``localhost:50051``), chosen when
    it connects (see :mod:`radiens_async.client.protocol_selection`).

    Parameters
    ----------
    address : str, optional
        ``"host:port"`` of a hub, or of an Allego's core port (``"localhost:50051"``). Without
        one, an Allego app running on this machine is used if it answers (one short probe of
        ``localhost:50051``; set ``RADIENS_ALLEGO_DISCOVERY=0`` to skip it), else the hub
        registry's hub, else the embedded hub.
    protocol : {'auto', 'hub', 'radiens'}
        ``auto`` (default): ask the server (``radiens.v1`` ``Hub.Health``, else the Radiens
        ``AllegoLifecycle.Healthcheck``). ``hub``: only our hub (no local Allego probe).
        ``radiens``: only the Radiens protocol (default address ``localhost:50051``).
    hub_name, token, timeout, connect_timeout, tls
        See :class:`~radiens_async.client.base.AsyncHubClient` (token and TLS apply to a hub).

    Raises
    ------
    InvalidArgument
        An unknown ``protocol``.

    Examples
    --------
    >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
    ...     await allego.restart("sim-spikes")
    ...     await allego.set_streaming("on")
    ...     async for chunk in allego.stream_signals():
    ...         print(chunk.first_sample, chunk.data.shape)
    >>> async with AsyncAllegoClient("localhost:50051", protocol="radiens") as allego:
    ...     print((await allego.get_status()).system_mode)  # doctest: +SKIP
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        protocol: WireProtocol = "auto",
        hub_name: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        tls: TlsSetting = None,
    ) -> None:
        self._protocol = parse_protocol(protocol)
        super().__init__(
            address,
            hub_name=hub_name,
            token=token,
            timeout=timeout,
            connect_timeout=connect_timeout,
            tls=tls,
        )
        self._backend: AllegoBackend | None = None
        self._backend_lock: asyncio.Lock | None = None

    # -- the backend ----------------------------------------------------------------------
    async def _get_backend(self) -> AllegoBackend:
        """The opened backend, chosen on first use (every method and sub-client calls it)."""
        if self._backend is not None:
            return self._backend
        if self._transport.closed:
            raise ClientClosed("this client was closed; create a new one")
        if self._backend_lock is None:
            self._backend_lock = asyncio.Lock()
        async with self._backend_lock:
            if self._backend is None:
                self._backend = await select_allego_backend(self._transport, self._protocol)
        return self._backend

    async def open(self) -> Self:
        """Connect now, choosing the protocol (calls connect lazily otherwise).

        Examples
        --------
        >>> async with AsyncAllegoClient() as client:  # doctest: +SKIP
        ...     print(client.protocol, client.address)
        """
        await self._get_backend()
        return self

    async def aclose(self) -> None:
        """Close the connection; the client cannot be used again."""
        backend, self._backend = self._backend, None
        try:
            if backend is not None:
                await backend.aclose()
        finally:
            await self._transport.close()

    async def _require_hub_service(self, operation: str) -> None:
        require((await self._get_backend()).capabilities, "hub_service", operation)

    @property
    def protocol(self) -> str | None:
        """The wire protocol in use (``'radiens.v1'`` or ``'Radiens'``; None before connecting)."""
        return None if self._backend is None else self._backend.capabilities.protocol

    @property
    def type(self) -> ClientType:
        """Returns ``ClientType.ALLEGO``."""
        return ClientType.ALLEGO

    @property
    def component_id(self) -> str:
        """Whose live-read cursor ``get_signals`` moves (one per client session)."""
        return f"allego_python_client:{self.id}"

    _spike_sorter: AsyncSpikeSorterClient | None = None
    _spikes: AsyncSpikesClient | None = None
    _workspace: AsyncWorkspaceClient | None = None

    def workspace(self) -> AsyncWorkspaceClient:
        """Allego workspaces: save, switch, delete and list named instrument states.

        Examples
        --------
        >>> await allego.workspace().workspace_save("my_wspace")  # doctest: +SKIP
        """
        if self._workspace is None:
            self._workspace = AsyncWorkspaceClient(self, self._get_backend)
        return self._workspace

    def spike_sorter(self) -> AsyncSpikeSorterClient:
        """The live spike sorter: thresholds, windows, sorting on/off, params and dashboard.

        Examples
        --------
        >>> await allego.spike_sorter().set_sorting("on")  # doctest: +SKIP
        """
        if self._spike_sorter is None:
            self._spike_sorter = AsyncSpikeSorterClient(
                self._get_backend, self.get_channel_metadata
            )
        return self._spike_sorter

    def spikes(self) -> AsyncSpikesClient:
        """The live sorter's spikes: metadata, rasters, recent spikes and a live stream.

        Examples
        --------
        >>> async for batch in allego.spikes().stream():  # doctest: +SKIP
        ...     print(batch.n_spikes)
        """
        if self._spikes is None:
            self._spikes = AsyncSpikesClient(
                self, self._get_backend, self.get_channel_metadata, live=True
            )
        return self._spikes

    def signals(self) -> AsyncSignalsClient:
        """Signals and PSD of a window of the live cache (``TrsMode`` counts from its head).

        Examples
        --------
        >>> psd = await allego.signals().get_psd([2.0], sel_mode='FROM_HEAD')  # doctest: +SKIP
        """
        return AsyncSignalsClient(self, self._get_backend)

    def signal_metrics(self) -> AsyncSignalMetricsClient:
        """Signal metrics of the live cache (``get_metrics(time_range=<lag s>)``).

        Examples
        --------
        >>> m = await allego.signal_metrics().get_metrics(2.0, plot=False)  # doctest: +SKIP
        """
        return AsyncSignalMetricsClient(self, self._get_backend)

    async def restart(
        self,
        mode: str | int | SystemMode,
        *,
        seed: int | None = None,
        num_channels: int | None = None,
    ) -> None:
        """Restart Allego in ``mode``; every setting returns to its initial value for that mode.

        Parameters
        ----------
        mode : str, int or SystemMode
            A mode name (``'smartbox_sim_gen_spikes'``), short name (``'sim-spikes'``), value or
            member. Every ``smartbox_sim_*`` mode runs on the hub's simulator; hardware modes
            raise :class:`~radiens_async.errors.FailedPrecondition` ("no ... hardware
            detected") and change nothing.
        seed : int, optional
            Simulator seed in ``[0, 2**63 - 1]`` (same seed, same samples). Default: the hub's
            seed.
        num_channels : int, optional
            Simulated amplifier channels: 16, 32, 64, 128 or a multiple of 128 up to 1024.

        Raises
        ------
        InvalidArgument
            Unknown mode name, a mode that is not a str / int / SystemMode (``None``), a seed or
            channel count that is not an int in range, or a channel count the simulator cannot
            lay out.
        FailedPrecondition
            A hardware mode (no hardware is attached).

        Notes
        -----
        Streaming is stopped first (a new stream starts at sample 0).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.restart("sim-spikes", seed=7)
        """
        system_mode = _checked_system_mode(mode)
        seed = check_optional_int("seed", seed, low=0, bits=64)
        num_channels = check_optional_int("num_channels", num_channels, low=1, bits=32)
        backend = await self._get_backend()
        if seed is not None or num_channels is not None:
            require(
                backend.capabilities,
                "simulator_options",
                "restart(seed=..., num_channels=...)",
                "an Allego app sets its simulator up itself",
            )
        await backend.restart(system_mode, seed, num_channels)

    async def get_status(self) -> AllegoState:
        """The status of Allego (streaming, recording, sampling rate, mode, ports).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     (await allego.get_status()).print()
        ALLEGO status:
        stream       : S_ON
        ...
        """
        return await (await self._get_backend()).get_status()

    async def set_streaming(self, mode: str | int | bool | StreamMode) -> None:
        """Set signal streaming ``'on'`` or ``'off'``.

        Starting a stream clears the live cache; stream time restarts at 0.

        Parameters
        ----------
        mode : str, int, bool or StreamMode
            ``'on'``/``'off'`` (any case), 1/0, True/False or a ``StreamMode``.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_streaming("on")
        """
        on = StreamMode.parse(mode) == StreamMode.ON
        await (await self._get_backend()).set_streaming(on)

    async def set_recording(self, mode: str | int | bool | RecordMode) -> None:
        """Set signal recording ``'on'`` or ``'off'``.

        Starting a recording starts streaming first if it is off, and writes the live stream to
        a new XDAT file set named after :meth:`set_recording_config` (the index moves on by one
        after each recording; an existing recording is never overwritten). Stopping returns once
        the file set is complete on disk. ``get_status().recording`` reports the file name and
        duration. Stopping streaming is refused while recording.

        Parameters
        ----------
        mode : str, int, bool or RecordMode
            ``'on'``/``'off'`` (any case), 1/0, True/False or a ``RecordMode``.

        Raises
        ------
        AlreadyExists
            A recording with that name exists (nothing is written).
        FailedPrecondition
            The recording directory is gone or not writable.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_recording_config("~/radix/data", "my_base_name", 0, True)
        ...     await allego.set_recording("on")
        ...     await asyncio.sleep(10)
        ...     await allego.set_recording("off")
        """
        on = RecordMode.parse(mode) == RecordMode.ON
        await (await self._get_backend()).set_recording(on)

    async def set_recording_config(
        self,
        datasource_path: str | os.PathLike[str],
        datasource_name: str,
        datasource_idx: int,
        is_time_stamp: bool = True,
    ) -> None:
        """Set where and under which name the next recording is written.

        The file set is ``<datasource_path>/<datasource_name>_<datasource_idx>__uid<MMDD-HH-MM-SS>``
        with the timestamp flag on (local start time), else
        ``<datasource_path>/<datasource_name>_<datasource_idx>``; each is an XDAT set of three files
        (``.xdat.json``, ``_data.xdat``, ``_timestamp.xdat``). ``~`` is expanded and a relative
        path is taken relative to this process's working directory (the hub runs on this machine
        by default).

        Parameters
        ----------
        datasource_path : str or path-like
            An existing, writable directory.
        datasource_name : str
            Base name: not empty, no ``.`` or path separator.
        datasource_idx : int
            Index, >= 0.
        is_time_stamp : bool
            Append the ``__uid`` start time to the name.

        Raises
        ------
        InvalidArgument
            An empty or malformed base name, a negative index, a path that is not a writable
            directory.
        NotFound
            The path does not exist.
        FailedPrecondition
            A recording is running.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_recording_config("~/radix/data", "my_base_name", 0, True)
        """
        datasource_idx = check_int("datasource_idx", datasource_idx, low=0, bits=64)
        check_str("datasource_name", datasource_name)
        check_name_length(
            "datasource_name",
            f"{datasource_name}_{datasource_idx}",
            longest_suffix=LONGEST_RECORDING_SUFFIX,
        )
        check_bool("is_time_stamp", is_time_stamp)
        if not isinstance(datasource_path, str | os.PathLike):
            raise InvalidArgument(f"datasource_path must be a str or path, got {datasource_path!r}")
        check_str("datasource_path", os.fspath(datasource_path))
        path = _local_abspath(datasource_path)
        config = RecordingConfig(
            path=str(path),
            base_name=datasource_name,
            index=datasource_idx,
            time_stamp=is_time_stamp,
        )
        await (await self._get_backend()).set_recording_config(config)

    async def get_recording_config(self) -> RecordingConfig:
        """The configuration the next recording will use (the index moves on after each one).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     cfg = await allego.get_recording_config()
        ...     cfg.base_name, cfg.index
        ('allego', 0)
        """
        return await (await self._get_backend()).get_recording_config()

    async def set_sampling_freq(self, fs: float) -> None:
        """Set the sampling frequency (samples/s).

        Valid: 625, 1000, 1250, 1500, 2000, 2500, 3000, 3333, 4000, 5000, 6250, 8000, 10000,
        12500, 15000, 20000, 25000, 30000. Refused while streaming.

        Raises
        ------
        InvalidArgument
            Any other rate.
        FailedPrecondition
            Streaming is on.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_sampling_freq(12500)
        """
        fs = check_float(
            "sampling frequency fs", fs, low=0, high=1e6, low_open=True, unit="samples/s"
        )
        await (await self._get_backend()).set_sampling_freq(fs)

    async def get_stream_loop_dur_ms(self) -> float:
        """The stream loop duration in milliseconds (convert to seconds before sleeping on it).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.get_stream_loop_dur_ms()
        1.0
        """
        return await (await self._get_backend()).get_stream_loop_dur_ms()

    async def get_channel_metadata(self) -> ChannelMetadata:
        """Channel metadata of all connected ports (ntv/dset/sys indices, types, sites).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     meta = await allego.get_channel_metadata()
        ...     meta.index(SignalType.AMP).sys[:3]
        [0, 1, 2]
        """
        return await (await self._get_backend()).get_channel_metadata()

    async def get_available_sensors(self) -> dict[str, dict[str, int]]:
        """Available headstage and probe models: ``{'headstages': {id: n}, 'probes': {id: n}}``.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     (await allego.get_available_sensors())['headstages']['passthrough_32']
        32
        """
        return await (await self._get_backend()).get_available_sensors()

    async def set_sensor(self, port: str | int | Port, headstage_id: str, probe_id: str) -> None:
        """Connect a sensor (headstage paired with probe) to a connected port.

        Parameters
        ----------
        port : str, int or Port
            A currently connected port (``'A'`` .. ``'H'``).
        headstage_id, probe_id : str
            IDs from :meth:`get_available_sensors`, or aliases from
            ``radiens.utils.HEADSTAGE_ALIAS`` / ``PROBE_ALIAS``.

        Raises
        ------
        InvalidArgument
            The port is not connected, or the headstage / probe is unknown.

        Warns
        -----
        UserWarning
            When the port, headstage and probe channel counts differ.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_sensor('A', 'smart-32', '4x8-32')
        """
        if port is None or isinstance(port, bool):
            raise InvalidArgument(f"port must be a port name 'A'..'H', got {port!r}")
        check_str("headstage_id", headstage_id)
        check_str("probe_id", probe_id)
        port_enum = Port.parse(port)
        status = await self.get_status()
        if port_enum not in status.port_num_channels:
            raise InvalidArgument(f"port {port_enum.name} is not valid or is not connected")
        sensors = await self.get_available_sensors()
        headstage = resolve_headstage(headstage_id, sensors["headstages"])
        probe = resolve_probe(probe_id, sensors["probes"])
        n_port = status.port_num_channels[port_enum]
        n_hs = sensors["headstages"].get(headstage)
        n_probe = sensors["probes"].get(probe)
        if n_hs is not None and n_hs != n_port:
            warnings.warn(
                f"port {port_enum.name} number of channels={n_port} does not match headstage "
                f"number of channels={n_hs}",
                UserWarning,
                stacklevel=2,
            )
        if n_hs is not None and n_probe is not None and n_hs != n_probe:
            warnings.warn(
                f"headstage number of channels={n_hs} does not match probe number of "
                f"channels={n_probe}",
                UserWarning,
                stacklevel=2,
            )
        await (await self._get_backend()).set_sensor(port_enum, headstage, probe)

    async def set_time_to_cache_head(self) -> None:
        """Move this client's live-read cursor to the newest sample in the cache.

        Call it before the first :meth:`get_signals`.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_time_to_cache_head()
        """
        await (await self._get_backend()).set_time_to_cache_head(self.component_id)

    async def get_signals(self, *, max_samples: int = 0) -> Signals:
        """The signals since the last call (or since :meth:`set_time_to_cache_head`).

        Consecutive calls return contiguous, non-overlapping blocks; the cursor moves to the
        cache head. A cursor never set starts at the head (the first call returns no samples).

        Parameters
        ----------
        max_samples : int
            Return at most this many samples (0: everything up to the head); the rest comes
            with the next call.

        Returns
        -------
        Signals
            ``data`` float32 channels x samples; ``time_range`` in seconds of stream time;
            ``missed_samples`` > 0 if the cursor had fallen out of the cache.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_time_to_cache_head()
        ...     await asyncio.sleep(0.1)
        ...     sig = await allego.get_signals()
        ...     sig.data.shape, sig.time_range
        ((38, 3000), [1.2, 1.3])
        """
        max_samples = check_int("max_samples", max_samples, low=0, bits=64)
        return await (await self._get_backend()).get_signals(self.component_id, max_samples)

    async def stream_signals(
        self,
        *,
        start: StreamStart = "head",
        channels: Sequence[int] | None = None,
        max_chunk_samples: int = 0,
        max_lag_s: float = DEFAULT_MAX_LAG_S,
    ) -> AsyncGenerator[SignalChunk, None]:
        """Live signals as an async generator of :class:`SignalChunk`.

        Each chunk carries its first sample index and the count of samples this subscriber
        missed right before it (a consumer slower than real time loses the oldest samples,
        never silently, and never slows acquisition or other subscribers). The generator ends
        when streaming stops. Close it early with ``contextlib.aclosing`` or ``break`` (the hub
        call is cancelled when the generator is closed).

        Parameters
        ----------
        start : 'head', 'oldest' or int
            Start at the newest sample (default), at the oldest still cached, or at a sample
            index (older samples than the cache holds are reported as missed).
        channels : sequence of int, optional
            Sys indices of the channels to receive (default: all, in stream order).
        max_chunk_samples : int
            Upper bound of samples per chunk (0: the hub chooses, about 512 KiB per chunk).
        max_lag_s : float
            At most this much signal (in seconds) waits in transit between the hub and this
            consumer; it sizes the HTTP/2 flow-control window of the stream. A consumer that
            falls further behind makes the hub skip ahead, and the skipped samples are reported
            in ``missed_samples``. Small values bound latency, large ones absorb hiccups.

        Raises
        ------
        FailedPrecondition
            Streaming is off.
        InvalidArgument
            Unknown channel indices or a negative start.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     async with contextlib.aclosing(allego.stream_signals()) as chunks:
        ...         async for chunk in chunks:
        ...             rms = np.sqrt((chunk.data ** 2).mean(axis=1))
        """
        if not (
            start in ("head", "oldest") or (isinstance(start, int) and not isinstance(start, bool))
        ):
            raise InvalidArgument(
                f"start must be 'head', 'oldest' or a sample index, got {start!r}"
            )
        if isinstance(start, int):
            start = check_int("start (from_sample)", start, low=0, bits=64)
        sys_idxs = check_int_list("channels", channels, low=0, bits=32)
        max_chunk_samples = check_int("max_chunk_samples", max_chunk_samples, low=0, bits=32)
        max_lag_s = check_float("max_lag_s", max_lag_s, low=0, high=60, low_open=True, unit="s")
        backend = await self._get_backend()
        chunks = backend.stream_signals(start, sys_idxs, max_chunk_samples, max_lag_s)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            # closing this generator closes the backend's stream (and cancels its call) now
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    async def get_ground_truth(self, start_sample: int = 0, stop_sample: int = 0) -> SimGroundTruth:
        """The simulator's ground truth for samples ``[start_sample, stop_sample)``.

        ``stop_sample`` 0 means up to the cache head. For ``smartbox_sim_gen_spikes`` it lists
        every spike (trough sample, unit, peak channel) and the units; for the sine modes, the
        per-channel frequencies.

        Examples
        --------
        Raises
        ------
        InvalidArgument
            A sample index that is not an int in ``[0, 2**63 - 1]``.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     truth = await allego.get_ground_truth()
        ...     truth.spikes_table().head()
        """
        start_sample = check_int("start_sample", start_sample, low=0, bits=64)
        stop_sample = check_int("stop_sample", stop_sample, low=0, bits=64)
        backend = await self._get_backend()
        require(
            backend.capabilities,
            "ground_truth",
            "get_ground_truth",
            "only the radiens-async hub knows its simulator's ground truth",
        )
        return await backend.get_ground_truth(start_sample, stop_sample)

    # -- stimulation -------------------------------------------------------------------------
    async def get_stim_params(self) -> dict[int, dict[str, Any]]:
        """The stimulation parameters of every stim channel.

        Returns
        -------
        dict
            ``{stim_sys_chan_idx: {key: value}}`` with the 26 documented keys (see
            :meth:`set_stim_params`); enum-valued keys come back as ints. Every amplifier
            channel is a stim channel on the simulated device.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     (await allego.get_stim_params())[6]["first_phase_duration_us"]
        100.0
        """
        return await (await self._get_backend()).get_stim_params()

    async def set_stim_params(self, param_dict: Mapping[str, Any]) -> dict[str, Any]:
        """Set stimulation parameters of one stim channel; keys not given keep their values.

        Parameters
        ----------
        param_dict : dict
            ``stim_sys_chan_idx`` (required) and any of the documented keys: ``enabled``,
            ``enable_amp_settle``, ``enable_charge_recovery``, ``maintain_amp_settle_us``,
            ``trigger_source_is_keypress`` (bools); ``stim_shape`` (BIPHASIC 0,
            BIPHASIC_INTERPHASE_DELAY 1, TRIPHASIC 2, MONOPHASIC 3), ``stim_polarity``
            (CATHODIC_FIRST 0, ANODIC_FIRST 1), ``trigger_edge_or_level`` (ST_EDGE 0, ST_LEVEL 1),
            ``trigger_high_or_low`` (ST_HIGH 0, ST_LOW 1), ``pulse_or_train`` (SINGLE_PULSE 0,
            PULSE_TRAIN 1) as ints or names; durations in µs (``*_us``) and the refractory
            period in ms (``refactory_period_ms``), finite and >= 0; phase amplitudes in µA
            (``first_phase_amplitude_uA``, ``second_phase_amplitude_uA``), finite, 0..2550;
            ``baseline_voltage`` (V); ``number_of_stim_pulses`` (1..256);
            ``trigger_source_idx`` (keypress 1..8, or a digital input). Defaults (a channel never
            set): biphasic, cathodic first, 100 µs phases and interphase delay, 0 µA, edge/high,
            disabled, single pulse (a train: 2 pulses, 10000 µs period), refractory 1 ms,
            settle and recovery off, trigger source 0, not keypress. The dict is not modified.

        Returns
        -------
        dict
            The channel's full parameters after the update.

        Raises
        ------
        InvalidArgument
            No ``stim_sys_chan_idx``, an unknown key, a wrong type, a negative or non-finite
            duration or amplitude, a value out of range; nothing is changed.
        NotFound
            ``stim_sys_chan_idx`` is not a stim channel.
        FailedPrecondition
            Streaming is on (stim parameters are set while the stream is off).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_stim_params({"stim_sys_chan_idx": 6, "enabled": True,
        ...         "first_phase_amplitude_uA": 10.0, "second_phase_amplitude_uA": 10.0,
        ...         "trigger_source_is_keypress": True, "trigger_source_idx": 1})
        """
        params = checked_request(param_dict)
        return await (await self._get_backend()).set_stim_params(params)

    async def set_manual_stim_trigger(self, trigger: int) -> StimTrigger:
        """Toggle manual (keypress) trigger ``trigger``: the enabled channels it triggers fire.

        A channel fires when its trigger source is the keypress ``trigger``; edge-triggered
        channels fire on every call, level-triggered ones when the toggle brings the key to
        their active level. Its stimulus artifact (a charge-balanced pulse for balanced
        parameters) shows in its signal from the sample the trigger was applied at, after the
        post-trigger delay.

        Parameters
        ----------
        trigger : int
            Keypress trigger 1..8.

        Returns
        -------
        StimTrigger
            ``sample_index`` (the stream sample at which the trigger was applied: closed-loop
            code measures its latency with it), the channels that fired and those that ignored
            it (pulse train running or refractory).

        Raises
        ------
        InvalidArgument
            ``trigger`` is not an int in 1..8.
        FailedPrecondition
            Streaming is off.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     fired = await allego.set_manual_stim_trigger(1)
        ...     fired.sample_index, fired.fired_sys_chan_idxs
        (61230, (6,))
        """
        trigger = check_int("trigger (a keypress trigger)", trigger, low=1, high=8, bits=32)
        return await (await self._get_backend()).set_manual_stim_trigger(trigger)

    # -- digital and analog out --------------------------------------------------------------
    async def get_digital_out_states(self) -> dict[str, Any]:
        """The digital outputs' mode and states.

        Returns
        -------
        dict
            ``{'digital_outs_mode': 'MANUAL', 'states': [{'chan_idx': 0, 'state': False},
            {'chan_idx': 1, 'state': False}]}`` (``chan_idx`` is the digital-out ntv index).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.get_digital_out_states()
        {'digital_outs_mode': 'MANUAL', 'states': [{'chan_idx': 0, 'state': True}, ...]}
        """
        return await (await self._get_backend()).get_digital_out_states()

    async def set_digital_out_manual(self, dout1_state: bool, dout2_state: bool) -> int:
        """Set digital out 1 (ntv 0) and 2 (ntv 1) manually; both change at the same sample.

        The states appear in the ``gpio_dout`` channels of the live stream and of recordings
        from the returned sample on, and persist across streams until changed (a restart
        clears them).

        Parameters
        ----------
        dout1_state, dout2_state : bool
            New states.

        Returns
        -------
        int
            The first stream sample that carries the new states (closed-loop code measures its
            reaction latency with it).

        Raises
        ------
        InvalidArgument
            A state that is not a bool (nothing is changed).

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     await allego.set_digital_out_manual(True, False)
        61230
        """
        for name, value in (("dout1_state", dout1_state), ("dout2_state", dout2_state)):
            if not isinstance(value, bool):
                raise InvalidArgument(f"{name} must be True or False, got {value!r}")
        return await (await self._get_backend()).set_digital_out_manual(dout1_state, dout2_state)

    async def get_analog_out_settings(self) -> dict[str, Any]:
        """The analog outputs' routing, gain and hardware high-pass.

        Returns
        -------
        dict
            ``{'dac': [{'amp_ntv_chan_idx', 'aout_ntv_chan_idx', 'stream', 'stream_offset_idx'},
            ...], 'gain': int, 'high_pass': {'enable': bool, 'cutoff_freq': float}}``;
            ``amp_ntv_chan_idx`` -1 means nothing is routed to that output.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     (await allego.get_analog_out_settings())["high_pass"]
        {'enable': False, 'cutoff_freq': 0.0}
        """
        return await (await self._get_backend()).get_analog_out_settings()

    async def set_analog_out_high_pass(
        self, cutoff_freq: float, enable: bool = True
    ) -> dict[str, Any]:
        """Set the analog outputs' hardware high-pass filter.

        Parameters
        ----------
        cutoff_freq : float
            Cut-off frequency in Hz, finite, in ``[0, fs / 2)``.
        enable : bool
            Whether the filter is on.

        Returns
        -------
        dict
            The new analog-out settings (as :meth:`get_analog_out_settings`).

        Raises
        ------
        InvalidArgument
            A non-number, negative, non-finite or above-Nyquist cut-off, or a non-bool
            ``enable``; nothing is changed.

        Examples
        --------
        >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
        ...     (await allego.set_analog_out_high_pass(500, True))["high_pass"]
        {'enable': True, 'cutoff_freq': 500.0}
        """
        cutoff_hz = check_float("cutoff_freq", cutoff_freq, low=0, unit="Hz")
        check_bool("enable", enable)
        backend = await self._get_backend()
        return await backend.set_analog_out_high_pass(cutoff_hz, enable)


def _checked_system_mode(mode: object) -> SystemMode:
    """``parse_system_mode`` with every refusal an ``InvalidArgument`` (``None`` too)."""
    if isinstance(mode, bool) or not isinstance(mode, str | numbers.Real | SystemMode):
        raise WrongType(
            f"mode must be a SystemMode, its int value or a name such as 'sim-spikes', got {mode!r}"
        )
    return parse_system_mode(mode)


def _local_abspath(path: str | os.PathLike[str]) -> str:
    """``~`` expanded and made absolute against this process's cwd (no disk access)."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))
