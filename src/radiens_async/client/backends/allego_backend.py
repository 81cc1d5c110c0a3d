"""The interface of an Allego-side backend: one async method per operation of the Allego client
and its sub-clients (spike sorter, spikes, live signal metrics, live signals, workspaces).

A public method of :class:`~radiens_async.client.allego.AsyncAllegoClient` (or of a sub-client)
validates and normalises its arguments, then calls one method here; the backend builds the
requests of its protocol and converts the replies into the same models the public method
returns. Backends never validate user input again and never warn: what they receive is valid.

Two backends implement it:

* :class:`~radiens_async.client.backends.hub_allego.HubAllegoBackend` — our hub's
  ``radiens.v1`` protocol (push streams, simulator ground truth, hub service);
* :class:`~radiens_async.client.backends.radiens_allego.RadiensAllegoBackend` — the Radiens
  protocol (package ``allego``) of the Allego app and of our hub's ``--radiens-ports``; its
  streams are built on polling. The client builds it as
  ``RadiensAllegoBackend(address, timeout=..., connect_timeout=..., ssl=...)`` with
  ``address`` the :class:`~radiens_async.client.hub_registry.HubAddress` of the AllegoCore
  port (the other ports are at +1 .. +4, see :mod:`radiens_async.client.radiens_transport`),
  the deadlines in seconds and ``ssl`` an ``ssl.SSLContext`` or None; it connects in
  :meth:`AllegoBackend.open`.

An operation a protocol does not have raises :class:`~radiens_async.errors.NotSupported`, and
:class:`BackendCapabilities` says beforehand which optional operations a backend has, so the
client can refuse before sending anything (:func:`require`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import pandas as pd

from radiens_async.client.backends.arguments import (
    KilosortPaths,
    MetricsParam,
    PsdSettings,
    SignalWindow,
    SorterCommand,
    SorterParam,
    SpikeStreamStart,
    StreamStart,
)
from radiens_async.errors import NotSupported
from radiens_async.models.allego_state import AllegoState, RecordingConfig
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.dataset_signals import DatasetSignals
from radiens_async.models.ground_truth import SimGroundTruth
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.models.signals import SignalChunk, Signals
from radiens_async.models.spike_sorter import Dashboard, SorterState
from radiens_async.models.spikes import SpikeBatch, SpikesMetadata, SpikesSet
from radiens_async.utils.enums import Port, SystemMode

__all__ = [
    "AllegoBackend",
    "BackendCapabilities",
    "CapableBackend",
    "Feature",
    "LiveSignalMetricsBackend",
    "LiveSignalsBackend",
    "SpikeSorterBackend",
    "SpikesBackend",
    "WorkspaceBackend",
    "require",
]

Feature = Literal[
    "push_streams", "ground_truth", "simulator_options", "kilosort_conversion", "hub_service"
]


@dataclass(frozen=True, slots=True)
class BackendCapabilities:
    """What a backend's protocol offers beyond the operations every protocol has.

    Attributes
    ----------
    protocol : str
        Name of the wire protocol, used in messages: ``"radiens.v1"`` (our hub) or
        ``"radiens"`` (the Allego app's own protocol).
    push_streams : bool
        The server pushes signals and spikes (``stream_signals`` / ``spikes().stream()``);
        otherwise the backend builds those streams on polling, with the same chunk semantics.
    ground_truth : bool
        ``get_ground_truth`` (the simulator's spikes and frequencies) exists.
    simulator_options : bool
        ``restart`` takes a simulator ``seed`` and ``num_channels``.
    kilosort_conversion : bool
        ``spikes().convert_kilosort_output`` exists.
    hub_service : bool
        The hub service (``hub_health``, ``hub_version``, ``hub_capabilities``) exists.
    """

    protocol: str
    push_streams: bool = False
    ground_truth: bool = False
    simulator_options: bool = False
    kilosort_conversion: bool = False
    hub_service: bool = False


def require(
    capabilities: BackendCapabilities, feature: Feature, operation: str, hint: str = ""
) -> None:
    """Refuse ``operation`` before anything is sent if the protocol lacks ``feature``.

    Raises
    ------
    NotSupported
        ``capabilities.<feature>`` is False; the message names the operation and the protocol.

    Examples
    --------
    >>> require(BackendCapabilities("radiens"), "ground_truth", "get_ground_truth")
    Traceback (most recent call last):
    ...
    radiens_async.errors.NotSupported: get_ground_truth is not supported over the radiens protocol
    """
    if not getattr(capabilities, feature):
        raise NotSupported(operation, capabilities.protocol, hint)


@runtime_checkable
class CapableBackend(Protocol):
    """What every backend (and each area of it) tells about its protocol."""

    @property
    def capabilities(self) -> BackendCapabilities:
        """The protocol's name and optional operations (known before :meth:`open`)."""
        ...


@runtime_checkable
class SpikeSorterBackend(CapableBackend, Protocol):
    """The live spike sorter's operations (``client.spike_sorter()``)."""

    async def sorter_command(self, command: SorterCommand) -> None:
        """Run a sorter command (on, off, clear, rebase, initialize)."""
        ...

    async def set_sorter_param(
        self,
        command: SorterParam,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> None:
        """Set one sorter parameter.

        Parameters
        ----------
        command : SorterParam
            Which parameter; its registers are described at :class:`SorterParam`.
        values : sequence of float
            The two value registers (levels in µV or SDs, windows in seconds).
        flags : sequence of bool
            Which of the two registers to apply.
        ntv_idxs : sequence of int
            Amplifier native indices; empty: every channel (window and shadow are global).
        """
        ...

    async def get_sorter_params(self) -> pd.DataFrame:
        """The sorter parameters, one row per amplifier channel.

        Returns
        -------
        DataFrame
            The columns of ``spike_sorter.PARAMS_COLUMNS`` (windows and shadow in ms).
        """
        ...

    async def get_sorter_state(self) -> SorterState:
        """The sorter state."""
        ...

    async def get_sorter_dashboard(self) -> Dashboard:
        """The sorter dashboard."""
        ...


@runtime_checkable
class SpikesBackend(CapableBackend, Protocol):
    """The live sorter's spikes (``client.spikes()`` on an Allego client)."""

    async def get_spikes_metadata(self) -> SpikesMetadata:
        """Metadata of the spikes processed so far: time range, sites, neurons."""
        ...

    async def get_spike_rasters(self) -> dict[str, Any]:
        """Spike rasters of the live stream.

        Returns
        -------
        dict
            ``time_range``, ``timestamp_range``, ``spikes`` (``ntv_chan_idx``, ``timestamps``,
            ``labels``) and ``gpio_data``, as ``spikes().get_spike_rasters`` documents.
        """
        ...

    async def get_recent_spikes(
        self, time_wdw_sec: float, ntv_chan_idxs: Sequence[int], max_spikes_per_chan: int
    ) -> SpikesSet:
        """The most recent spikes of the channels ``ntv_chan_idxs``.

        Parameters
        ----------
        time_wdw_sec : float
            Look-back window in seconds, > 0.
        ntv_chan_idxs : sequence of int
            Amplifier native indices (never empty: the caller resolves "all").
        max_spikes_per_chan : int
            At most this many (the newest) per channel, >= 1.
        """
        ...

    async def get_neurons(self) -> pd.DataFrame:
        """The sorted units, one row per neuron (columns as ``spikes().get_neurons``)."""
        ...

    def stream_spikes(
        self, start: SpikeStreamStart, ntv_chan_idxs: Sequence[int], max_batch_spikes: int
    ) -> AsyncIterator[SpikeBatch]:
        """Live spikes as an async iterator of :class:`SpikeBatch` (ends when streaming stops).

        Parameters
        ----------
        start : 'now', 'oldest' or int
            New spikes, the oldest held, or a spike sequence number >= 0.
        ntv_chan_idxs : sequence of int
            Only these amplifier channels (empty: all).
        max_batch_spikes : int
            Upper bound of spikes per batch (0: the backend chooses).

        Notes
        -----
        Every missed spike is counted in ``missed_spikes``; closing the iterator ends the call.
        """
        ...

    async def convert_kilosort_output(self, paths: KilosortPaths) -> None:
        """Convert a Kilosort (phy) folder into a ``.spikes`` file set (see ``spikes()``)."""
        ...


@runtime_checkable
class LiveSignalMetricsBackend(CapableBackend, Protocol):
    """Signal metrics of the live cache (``client.signal_metrics()`` on an Allego client)."""

    async def set_metrics_param(
        self,
        command: MetricsParam,
        values: Sequence[float],
        flags: Sequence[bool],
        ntv_idxs: Sequence[int],
    ) -> pd.DataFrame:
        """Set one event (spike) parameter of the metrics; registers as :class:`SorterParam`.

        Returns
        -------
        DataFrame
            The parameters after the change (as :meth:`get_metrics_params`).
        """
        ...

    async def set_metrics_packet_duration(self, packet_dur_s: float) -> pd.DataFrame:
        """Set the metrics packet duration in seconds; returns the parameters after it."""
        ...

    async def get_metrics_params(self) -> pd.DataFrame:
        """The metrics parameters, one row per amplifier channel (``metrics_params_frame``)."""
        ...

    async def get_metrics_status(self) -> SignalMetricsStatus:
        """The status of the live metrics."""
        ...

    async def get_metrics(
        self, lag_s: float | None, metrics: Sequence[MetricID], tail: bool
    ) -> SignalMetrics:
        """The metrics of every amplifier channel over the last ``lag_s`` seconds.

        Parameters
        ----------
        lag_s : float, optional
            Seconds back from the cache head (None: the default, 5 s).
        metrics : sequence of MetricID
            Which metrics (empty: the documented default set).
        tail : bool
            Include the last, partial packet.
        """
        ...


@runtime_checkable
class LiveSignalsBackend(CapableBackend, Protocol):
    """Signals and PSD of a window of the live cache (``client.signals()`` on Allego)."""

    async def get_live_signals(self, window: SignalWindow) -> DatasetSignals:
        """The signals of ``window`` of the live cache, float64 ``(channels, samples)``."""
        ...

    async def get_live_psd(self, window: SignalWindow, settings: PsdSettings) -> PSD:
        """The PSD of the amplifier signals of ``window`` of the live cache."""
        ...


@runtime_checkable
class WorkspaceBackend(CapableBackend, Protocol):
    """Allego workspaces (``client.workspace()``)."""

    async def workspace_save(
        self, workspace_id: str | None, tags: str, notes: str, force: bool
    ) -> None:
        """Save the instrument state as ``workspace_id`` (None: the current one, or
        ``'default'``) and make it current; ``force`` overwrites an existing one."""
        ...

    async def workspace_switch(self, workspace_id: str) -> None:
        """Restore a saved workspace."""
        ...

    async def workspace_delete(self, workspace_id: str) -> None:
        """Delete a workspace (not the current one)."""
        ...

    async def workspace_current(self) -> pd.DataFrame:
        """The current workspace as a one-row table (empty before the first save/switch)."""
        ...

    async def workspace_list(self) -> pd.DataFrame:
        """Every workspace, sorted by ID (columns as ``workspace_current``)."""
        ...


@runtime_checkable
class AllegoBackend(
    SpikeSorterBackend,
    SpikesBackend,
    LiveSignalMetricsBackend,
    LiveSignalsBackend,
    WorkspaceBackend,
    Protocol,
):
    """Everything the Allego client and its sub-clients ask of a server.

    Attributes
    ----------
    capabilities : BackendCapabilities
        The protocol's name and optional operations.
    """

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        """Connect; idempotent. Raises ``ConnectError`` if the server does not answer."""
        ...

    async def aclose(self) -> None:
        """Release the backend's connections; it is not used again."""
        ...

    # -- the instrument -----------------------------------------------------------------
    async def restart(self, mode: SystemMode, seed: int | None, num_channels: int | None) -> None:
        """Restart in ``mode`` (streaming stops first).

        Parameters
        ----------
        mode : SystemMode
        seed, num_channels : int, optional
            Simulator options; only given when ``capabilities.simulator_options``.
        """
        ...

    async def get_status(self) -> AllegoState:
        """Streaming, recording, sampling rate, mode and ports."""
        ...

    async def set_streaming(self, on: bool) -> None:
        """Start or stop streaming (a new stream clears the cache and starts at sample 0)."""
        ...

    async def set_recording(self, on: bool) -> None:
        """Start or stop recording; stopping returns once the file set is complete."""
        ...

    async def set_recording_config(self, config: RecordingConfig) -> None:
        """Where and under which name the next recording goes (``config.path`` absolute)."""
        ...

    async def get_recording_config(self) -> RecordingConfig:
        """The configuration the next recording will use."""
        ...

    async def set_sampling_freq(self, fs: float) -> None:
        """Set the sampling frequency in samples/s (refused while streaming)."""
        ...

    async def get_stream_loop_dur_ms(self) -> float:
        """The stream loop duration in milliseconds."""
        ...

    async def get_channel_metadata(self) -> ChannelMetadata:
        """Channel metadata of every connected port."""
        ...

    async def get_available_sensors(self) -> dict[str, dict[str, int]]:
        """``{'headstages': {id: n_channels}, 'probes': {id: n_channels}}``, keys sorted."""
        ...

    async def set_sensor(self, port: Port, headstage_id: str, probe_id: str) -> None:
        """Connect a sensor to ``port``; the ids are catalog ids (aliases already resolved)."""
        ...

    # -- live signals -------------------------------------------------------------------
    async def set_time_to_cache_head(self, component_id: str) -> None:
        """Move the live-read cursor of ``component_id`` to the cache head."""
        ...

    async def get_signals(self, component_id: str, max_samples: int) -> Signals:
        """The samples since ``component_id``'s cursor, which then moves past them.

        Parameters
        ----------
        component_id : str
            Whose cursor (one per client session).
        max_samples : int
            At most this many samples, >= 0 (0: up to the head).
        """
        ...

    def stream_signals(
        self,
        start: StreamStart,
        channels: Sequence[int],
        max_chunk_samples: int,
        max_lag_s: float,
    ) -> AsyncIterator[SignalChunk]:
        """Live signals as an async iterator of :class:`SignalChunk` (ends when streaming stops).

        Parameters
        ----------
        start : 'head', 'oldest' or int
            The newest sample, the oldest cached one, or a sample index (validated).
        channels : sequence of int
            Sys indices (empty: every channel in stream order).
        max_chunk_samples : int
            Upper bound of samples per chunk (0: the backend chooses).
        max_lag_s : float
            At most this much signal, in (0, 60] s, waits in transit; a consumer further
            behind skips ahead and the skipped samples are counted in ``missed_samples``.

        Notes
        -----
        Chunks are contiguous except where ``missed_samples`` says how many were skipped;
        no sample is delivered twice. Closing the iterator ends the call.
        """
        ...

    async def get_ground_truth(self, start_sample: int, stop_sample: int) -> SimGroundTruth:
        """The simulator's ground truth of ``[start_sample, stop_sample)`` (0: to the head).

        Only when ``capabilities.ground_truth``; otherwise raises ``NotSupported``.
        """
        ...

    # -- stimulation --------------------------------------------------------------------
    async def get_stim_params(self) -> dict[int, dict[str, Any]]:
        """``{stim_sys_chan_idx: {key: value}}`` with the 26 documented keys (enums as ints)."""
        ...

    async def set_stim_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Update one stim channel with the checked request ``params``
        (``stim_params.checked_request``: ``stim_sys_chan_idx`` plus the keys to change);
        returns the channel's full parameters after the update."""
        ...

    async def set_manual_stim_trigger(self, trigger: int) -> StimTrigger:
        """Toggle keypress trigger ``trigger`` (an int; the server checks 1..8)."""
        ...

    # -- digital and analog out ---------------------------------------------------------
    async def get_digital_out_states(self) -> dict[str, Any]:
        """``{'digital_outs_mode': str, 'states': [{'chan_idx': int, 'state': bool}, ...]}``."""
        ...

    async def set_digital_out_manual(self, dout1_state: bool, dout2_state: bool) -> int:
        """Set digital outs 1 and 2; returns the first stream sample with the new states."""
        ...

    async def get_analog_out_settings(self) -> dict[str, Any]:
        """``{'dac': [...], 'gain': int, 'high_pass': {'enable', 'cutoff_freq'}}``."""
        ...

    async def set_analog_out_high_pass(self, cutoff_freq: float, enable: bool) -> dict[str, Any]:
        """Set the analog-out high-pass (finite, >= 0 Hz); returns the new settings."""
        ...
