"""Blocking ``spike_sorter()`` and ``spikes()`` sub-clients, derived from the async ones."""

from __future__ import annotations

from typing import Any

from anyio.from_thread import BlockingPortal

from radiens_async.client.spike_sorter import AsyncSpikeSorterClient
from radiens_async.client.spikes import AsyncSpikesClient
from radiens_async.sync.blocking import SyncClientBase, blocking, iterating


class SpikeSorterClient(SyncClientBase):
    """Spike sorter client object for AllegoClient (blocking twin of the async one).

    Examples
    --------
    >>> client.spike_sorter().set_threshold_level(neg_thr=85)  # doctest: +SKIP
    '[32 channels] detect: neg thr=85.00 uV, pos thr=n/a uV'
    """

    def __init__(self, portal: BlockingPortal, async_client: AsyncSpikeSorterClient) -> None:
        self._portal = portal
        self._async: Any = async_client

    initialize = blocking(AsyncSpikeSorterClient.initialize)
    rebase = blocking(AsyncSpikeSorterClient.rebase)
    clear_spikes = blocking(AsyncSpikeSorterClient.clear_spikes)
    set_sorting = blocking(AsyncSpikeSorterClient.set_sorting)
    set_threshold_level = blocking(AsyncSpikeSorterClient.set_threshold_level)
    set_threshold = blocking(AsyncSpikeSorterClient.set_threshold)
    set_spike_window = blocking(AsyncSpikeSorterClient.set_spike_window)
    set_spike_shadow = blocking(AsyncSpikeSorterClient.set_spike_shadow)
    get_params = blocking(AsyncSpikeSorterClient.get_params)
    get_state = blocking(AsyncSpikeSorterClient.get_state)
    get_dashboard = blocking(AsyncSpikeSorterClient.get_dashboard)


class SpikesClient(SyncClientBase):
    """Spikes object for AllegoClient (blocking twin of the async one).

    Examples
    --------
    >>> for batch in client.spikes().stream():  # doctest: +SKIP
    ...     print(batch.n_spikes)
    """

    def __init__(self, portal: BlockingPortal, async_client: AsyncSpikesClient) -> None:
        self._portal = portal
        self._async: Any = async_client

    get_spikes_metadata = blocking(AsyncSpikesClient.get_spikes_metadata)
    get_spike_rasters = blocking(AsyncSpikesClient.get_spike_rasters)
    get_recent_spikes = blocking(AsyncSpikesClient.get_recent_spikes)
    get_neurons = blocking(AsyncSpikesClient.get_neurons)
    get_spike_waveforms = blocking(AsyncSpikesClient.get_spike_waveforms)
    get_spike_timestamps = blocking(AsyncSpikesClient.get_spike_timestamps)
    convert_kilosort_output = blocking(AsyncSpikesClient.convert_kilosort_output)
    stream = iterating(AsyncSpikesClient.stream)
