"""``AllegoClient``: the documented blocking Allego API, derived from ``AsyncAllegoClient``."""

from __future__ import annotations

import builtins
from types import TracebackType

import numpy as np
import numpy.typing as npt

from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.client.protocol_selection import WireProtocol
from radiens_async.client.transport import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S
from radiens_async.sync.blocking import (
    SyncClientBase,
    blocking,
    construct,
    get_portal,
    iterating,
    sync_property,
)
from radiens_async.sync.spikes import SpikesClient, SpikeSorterClient
from radiens_async.sync.videre import SignalMetricsClient, SignalsClient
from radiens_async.sync.workspace import WorkspaceClient


class AllegoClient(SyncClientBase):
    """AllegoClient implements the radiens API for data acquisition and instrument control.

    It matches and extends the functionality of the Radiens Allego UI app. Every method is the
    blocking twin of :class:`~radiens_async.AsyncAllegoClient`'s.

    Parameters
    ----------
    address : str, optional
        ``"host:port"`` of a hub or of an Allego's core port. Without one, an Allego app
        running on this machine (``localhost:50051``) is used if it answers
        (``RADIENS_ALLEGO_DISCOVERY=0`` skips that probe), else the hub registry's hub, else
        the embedded hub.
    protocol : {'auto', 'hub', 'radiens'}
        Which wire protocol: ask the server (default), only our hub's ``radiens.v1``, or only
        the Radiens protocol of the Allego app.
    hub_name, token, timeout, connect_timeout
        See :class:`~radiens_async.AsyncAllegoClient`.

    Examples
    --------
    >>> client = AllegoClient()  # doctest: +SKIP
    >>> client.restart('sim-spikes')
    >>> client.set_streaming('on')
    >>> client.set_time_to_cache_head()
    >>> sig, time_range = client.get_signals()
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
    ) -> None:
        self._portal = get_portal()
        self._async = construct(
            self._portal,
            AsyncAllegoClient,
            address,
            protocol=protocol,
            hub_name=hub_name,
            token=token,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )

    type = sync_property("type", "Returns ``ClientType.ALLEGO``.")
    id = sync_property("id", "UID of this client session.")
    hub = sync_property("hub", "Name of the hub this client talks to.")
    hubs = sync_property("hubs", "Every hub name this process knows, with its address.")
    address = sync_property("address", "Address of the hub (or of the Allego's core port).")
    protocol = sync_property(
        "protocol", "The wire protocol in use ('radiens.v1' or 'Radiens'; None before connecting)."
    )
    component_id = sync_property(
        "component_id", "Whose live-read cursor ``get_signals`` moves (one per client session)."
    )

    open = blocking(AsyncAllegoClient.open)
    close = blocking(AsyncAllegoClient.aclose)
    hub_health = blocking(AsyncAllegoClient.hub_health)
    hub_version = blocking(AsyncAllegoClient.hub_version)
    hub_capabilities = blocking(AsyncAllegoClient.hub_capabilities)

    restart = blocking(AsyncAllegoClient.restart)
    get_status = blocking(AsyncAllegoClient.get_status)
    set_streaming = blocking(AsyncAllegoClient.set_streaming)
    set_recording = blocking(AsyncAllegoClient.set_recording)
    set_recording_config = blocking(AsyncAllegoClient.set_recording_config)
    get_recording_config = blocking(AsyncAllegoClient.get_recording_config)
    set_sampling_freq = blocking(AsyncAllegoClient.set_sampling_freq)
    get_stream_loop_dur_ms = blocking(AsyncAllegoClient.get_stream_loop_dur_ms)
    get_channel_metadata = blocking(AsyncAllegoClient.get_channel_metadata)
    get_available_sensors = blocking(AsyncAllegoClient.get_available_sensors)
    set_sensor = blocking(AsyncAllegoClient.set_sensor)
    set_time_to_cache_head = blocking(AsyncAllegoClient.set_time_to_cache_head)
    stream_signals = iterating(AsyncAllegoClient.stream_signals)
    get_ground_truth = blocking(AsyncAllegoClient.get_ground_truth)
    get_stim_params = blocking(AsyncAllegoClient.get_stim_params)
    set_stim_params = blocking(AsyncAllegoClient.set_stim_params)
    set_manual_stim_trigger = blocking(AsyncAllegoClient.set_manual_stim_trigger)
    get_digital_out_states = blocking(AsyncAllegoClient.get_digital_out_states)
    set_digital_out_manual = blocking(AsyncAllegoClient.set_digital_out_manual)
    get_analog_out_settings = blocking(AsyncAllegoClient.get_analog_out_settings)
    set_analog_out_high_pass = blocking(AsyncAllegoClient.set_analog_out_high_pass)

    def workspace(self) -> WorkspaceClient:
        """Allego workspaces (blocking): save, switch, delete, current and list.

        Examples
        --------
        >>> client.workspace().workspace_list()  # doctest: +SKIP
        """
        return WorkspaceClient(self._portal, self._async.workspace())

    def spike_sorter(self) -> SpikeSorterClient:
        """The live spike sorter (blocking): thresholds, windows, sorting, params, dashboard.

        Examples
        --------
        >>> client.spike_sorter().set_sorting('on')  # doctest: +SKIP
        """
        return SpikeSorterClient(self._portal, self._async.spike_sorter())

    def spikes(self) -> SpikesClient:
        """The live sorter's spikes (blocking): metadata, rasters, recent spikes, a stream.

        Examples
        --------
        >>> client.spikes().get_recent_spikes(1.0)  # doctest: +SKIP
        """
        return SpikesClient(self._portal, self._async.spikes())

    def signals(self) -> SignalsClient:
        """Signals and PSD of the live cache (blocking)."""
        return SignalsClient(self._portal, self._async.signals())

    def signal_metrics(self) -> SignalMetricsClient:
        """Signal metrics of the live cache (blocking)."""
        return SignalMetricsClient(self._portal, self._async.signal_metrics())

    def get_signals(self) -> tuple[npt.NDArray[np.float32], list[float]]:
        """Gets the most recent signals since the last call of itself or set_time_to_cache_head().

        Returns
        -------
        sigarray : ndarray[numpy.float32]
            Raw signal data, channels x samples, in the order of ``get_channel_metadata()``.
        time_range : list[float]
            Time range (in seconds of stream time) of ``sigarray``.

        Examples
        --------
        >>> client.set_time_to_cache_head()  # doctest: +SKIP
        >>> sig, time_range = client.get_signals()
        """
        return self._run(AsyncAllegoClient.get_signals, self._async).as_tuple()

    def __enter__(self) -> AllegoClient:
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
