"""radiens-async: an asyncio-native SDK for the Radiens electrophysiology platform.

``import radiens_async as radiens`` gives the documented blocking API (``radiens.AllegoClient``,
``radiens.utils``) and, under it, the async core (``radiens.AsyncAllegoClient``) whose coroutines
return pydantic models and whose live signals are async generators.

Examples
--------
>>> import radiens_async as radiens
>>> client = radiens.AllegoClient()  # doctest: +SKIP
>>> client.restart('sim-spikes')  # doctest: +SKIP
"""

from __future__ import annotations

from radiens_async import errors, utils
from radiens_async._version import PROTOCOL_VERSION, __version__
from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.client.curate import AsyncCurateClient
from radiens_async.client.dsp_job import DspJob
from radiens_async.client.embedded_hub import stop_embedded_hub
from radiens_async.client.hub_registry import HubAddress, register_hub
from radiens_async.client.videre import AsyncVidereClient
from radiens_async.client.workspace import AsyncWorkspaceClient
from radiens_async.errors import (
    AlreadyExists,
    ClientClosed,
    ConnectError,
    DeadlineExceeded,
    FailedPrecondition,
    FormatError,
    InvalidArgument,
    JobCancelled,
    JobFailed,
    NotFound,
    RadiensError,
    RemoteError,
    Unauthenticated,
)
from radiens_async.models.allego_state import AllegoState
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.dataset_metadata import DatasetMetadata, TimeRange
from radiens_async.models.dataset_signals import DatasetSignals
from radiens_async.models.dsp_job import JobProgress, JobState, JobStatus
from radiens_async.models.ground_truth import SimGroundTruth
from radiens_async.models.hub_info import HubCapabilities, HubHealth, HubVersion
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.models.signals import SignalChunk, Signals
from radiens_async.models.summa import SummaAnalysis, SummaStatus
from radiens_async.sync.allego import AllegoClient
from radiens_async.sync.curate import CurateClient
from radiens_async.sync.videre import VidereClient
from radiens_async.sync.workspace import WorkspaceClient

__all__ = [
    "PROTOCOL_VERSION",
    "PSD",
    "AllegoClient",
    "AllegoState",
    "AlreadyExists",
    "AsyncAllegoClient",
    "AsyncCurateClient",
    "AsyncVidereClient",
    "AsyncWorkspaceClient",
    "ChannelMetadata",
    "ClientClosed",
    "ConnectError",
    "CurateClient",
    "DatasetMetadata",
    "DatasetSignals",
    "DeadlineExceeded",
    "DspJob",
    "FailedPrecondition",
    "FormatError",
    "HubAddress",
    "HubCapabilities",
    "HubHealth",
    "HubVersion",
    "InvalidArgument",
    "JobCancelled",
    "JobFailed",
    "JobProgress",
    "JobState",
    "JobStatus",
    "MetricID",
    "NotFound",
    "RadiensError",
    "RemoteError",
    "SignalChunk",
    "SignalMetrics",
    "SignalMetricsStatus",
    "Signals",
    "SimGroundTruth",
    "StimTrigger",
    "SummaAnalysis",
    "SummaStatus",
    "TimeRange",
    "Unauthenticated",
    "VidereClient",
    "WorkspaceClient",
    "__version__",
    "errors",
    "register_hub",
    "stop_embedded_hub",
    "utils",
]
