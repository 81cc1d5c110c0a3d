"""``VidereClient`` and its ``signals()`` / ``signal_metrics()`` sub-clients, blocking.

Every method is a one-line derivation of its async twin (same parameters and docstring).
"""

from __future__ import annotations

import builtins
from types import TracebackType
from typing import Any

from anyio.from_thread import BlockingPortal

from radiens_async.client.signal_metrics import AsyncSignalMetricsClient
from radiens_async.client.signals import AsyncSignalsClient
from radiens_async.client.transport import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S
from radiens_async.client.videre import AsyncVidereClient
from radiens_async.sync.blocking import (
    SyncClientBase,
    blocking,
    construct,
    get_portal,
    sync_property,
)
from radiens_async.sync.spikes import SpikesClient, SpikeSorterClient

__all__ = ["SignalMetricsClient", "SignalsClient", "VidereClient"]


class SignalsClient(SyncClientBase):
    """Signals client object for Allego and Videre (blocking twin of the async one).

    Examples
    --------
    >>> client.signals().get_signals([0, 1], dataset_metadata=meta)  # doctest: +SKIP
    """

    def __init__(self, portal: BlockingPortal, async_client: AsyncSignalsClient) -> None:
        self._portal = portal
        self._async: Any = async_client

    get_signals = blocking(AsyncSignalsClient.get_signals)
    get_psd = blocking(AsyncSignalsClient.get_psd)


class SignalMetricsClient(SyncClientBase):
    """Metrics client object for Allego and Videre (blocking twin of the async one).

    Examples
    --------
    >>> client.signal_metrics().get_metrics(dataset_metadata=meta, plot=False)  # doctest: +SKIP
    """

    def __init__(self, portal: BlockingPortal, async_client: AsyncSignalMetricsClient) -> None:
        self._portal = portal
        self._async: Any = async_client

    clear = blocking(AsyncSignalMetricsClient.clear)
    calculate = blocking(AsyncSignalMetricsClient.calculate)
    set_event_threshold_level = blocking(AsyncSignalMetricsClient.set_event_threshold_level)
    set_event_threshold = blocking(AsyncSignalMetricsClient.set_event_threshold)
    set_event_window = blocking(AsyncSignalMetricsClient.set_event_window)
    set_event_shadow = blocking(AsyncSignalMetricsClient.set_event_shadow)
    set_packet_duration = blocking(AsyncSignalMetricsClient.set_packet_duration)
    get_params = blocking(AsyncSignalMetricsClient.get_params)
    get_metrics_status = blocking(AsyncSignalMetricsClient.get_metrics_status)
    get_metrics = blocking(AsyncSignalMetricsClient.get_metrics)


class VidereClient(SyncClientBase):
    """VidereClient implements the radiens API for offline analysis and visualization.

    Every method is the blocking twin of :class:`~radiens_async.AsyncVidereClient`'s.

    Examples
    --------
    >>> client = VidereClient()  # doctest: +SKIP
    >>> meta = client.link_data_file('~/data/allego_0.xdat')
    >>> sig = client.signals().get_signals([0, 1], dataset_metadata=meta)
    """

    def __init__(
        self,
        hub_name: str = "default",
        *,
        address: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        self._portal = get_portal()
        self._async = construct(
            self._portal,
            AsyncVidereClient,
            address,
            hub_name=None if hub_name == "default" else hub_name,
            token=token,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )

    type = sync_property("type", "Returns ``ClientType.VIDERE``.")
    id = sync_property("id", "UID of this client session.")
    hub = sync_property("hub", "Radiens hub for this instance of VidereClient.")
    hubs = sync_property("hubs", "dict of active radiens hubs, with hub ID as key.")
    address = sync_property("address", "Address of the hub.")

    open = blocking(AsyncVidereClient.open)
    close = blocking(AsyncVidereClient.aclose)
    hub_health = blocking(AsyncVidereClient.hub_health)

    link_data_file = blocking(AsyncVidereClient.link_data_file)
    get_data_file_metadata = blocking(AsyncVidereClient.get_data_file_metadata)
    get_dataset_ids = blocking(AsyncVidereClient.get_dataset_ids)
    clear_dataset = blocking(AsyncVidereClient.clear_dataset)
    list_dir = blocking(AsyncVidereClient.list_dir)
    summa_launch_session_analysis = blocking(AsyncVidereClient.summa_launch_session_analysis)
    summa_session_status = blocking(AsyncVidereClient.summa_session_status)
    summa_get_session_aggregate_statistics = blocking(
        AsyncVidereClient.summa_get_session_aggregate_statistics
    )
    summa_get_session_datasource_statistics = blocking(
        AsyncVidereClient.summa_get_session_datasource_statistics
    )
    summa_list_sessions = blocking(AsyncVidereClient.summa_list_sessions)
    summa_clear_sessions = blocking(AsyncVidereClient.summa_clear_sessions)
    dashboard = blocking(AsyncVidereClient.dashboard)

    def signals(self) -> SignalsClient:
        """Signals API (blocking)."""
        return SignalsClient(self._portal, self._async.signals())

    def signal_metrics(self) -> SignalMetricsClient:
        """Videre signal metrics API (blocking)."""
        return SignalMetricsClient(self._portal, self._async.signal_metrics())

    def spikes(self) -> SpikesClient:
        """Videre spikes API (blocking)."""
        return SpikesClient(self._portal, self._async.spikes())

    def spike_sorter(self) -> SpikeSorterClient:
        """Videre spike sorter API (blocking)."""
        return SpikeSorterClient(self._portal, self._async.spike_sorter())

    def __enter__(self) -> VidereClient:
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
