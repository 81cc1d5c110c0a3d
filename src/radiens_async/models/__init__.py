"""Pydantic models and enums users receive; ``converters`` turns wire messages into them."""

from __future__ import annotations

from radiens_async.models.allego_state import (
    AllegoState,
    GPIOSpec,
    RecordingConfig,
    RecordingSpec,
    StreamSpec,
)
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata, KeyIdxs, SensorSpec
from radiens_async.models.dsp_job import JobProgress, JobState, JobStatus
from radiens_async.models.ground_truth import SimGroundTruth, SimUnit
from radiens_async.models.hub_info import HubCapabilities, HubHealth, HubVersion
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.signals import SignalChunk, Signals

__all__ = [
    "AllegoState",
    "ChannelInfo",
    "ChannelMetadata",
    "GPIOSpec",
    "HubCapabilities",
    "HubHealth",
    "HubVersion",
    "JobProgress",
    "JobState",
    "JobStatus",
    "KeyIdxs",
    "RecordingConfig",
    "RecordingSpec",
    "SensorSpec",
    "SignalChunk",
    "Signals",
    "SimGroundTruth",
    "SimUnit",
    "StimTrigger",
    "StreamSpec",
]
