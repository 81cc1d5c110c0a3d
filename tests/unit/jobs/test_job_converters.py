"""Job messages -> models, and the servicer's request -> operation mapping (no network)."""

from __future__ import annotations

import pytest

from radiens_async._generated.radiens.v1 import common_pb2, curate_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.jobs.dsp_ops import (
    BandPass,
    CommonAverage,
    Decimate,
    Notch,
    PairedDiff,
    SliceChannels,
    SliceTime,
)
from radiens_async.hub.jobs.job_runner import JobRecord
from radiens_async.hub.servicers.curate_service import _info, _progress, op_from_request
from radiens_async.models.converters.jobs import job_progress_to_model, job_status_to_model
from radiens_async.models.dsp_job import JobState


def test_job_record_round_trips_through_its_message() -> None:
    record = JobRecord(
        id="bp_filter__3a0c-942e",
        kind="bp_filter",
        source="/d/rec_0",
        target="/d/rec_bp",
        params={"op": "BandPass", "low_hz": 300.0, "high_hz": 6000.0},
        state="running",
        processed_s=15.0,
        total_s=60.0,
        created_at=1_700_000_000.0,
        started_at=1_700_000_001.0,
    )
    status = job_status_to_model(_info(record))
    assert status.id == record.id and status.state is JobState.RUNNING
    assert status.frac_complete == 0.25 and status.processed_sec == 15.0
    assert status.params == record.params and status.result is None
    assert status.created_at is not None and status.finished_at is None
    assert not status.finished
    progress = job_progress_to_model(_progress(record, 5.0))
    assert progress.increment_sec == 5.0 and progress.frac_complete == 0.25
    assert progress.state is JobState.RUNNING and progress.error == ""


def test_request_maps_to_its_operation() -> None:
    req = curate_pb2.DspRequest(band_pass=curate_pb2.BandParams(low_hz=300, high_hz=6000))
    assert op_from_request(req) == BandPass(300.0, 6000.0)
    assert op_from_request(curate_pb2.DspRequest(car=common_pb2.Empty())) == CommonAverage()
    req = curate_pb2.DspRequest(notch=curate_pb2.NotchParams(freq_hz=50, bandwidth_hz=2))
    assert op_from_request(req) == Notch(50.0, 2.0)
    req = curate_pb2.DspRequest(paired_diff=curate_pb2.PairedDiffParams(source_chan=1, ref_chan=5))
    assert op_from_request(req) == PairedDiff(1, 5)
    req = curate_pb2.DspRequest(decimate=curate_pb2.DecimateParams(factor=3))
    assert op_from_request(req) == Decimate(3)
    req = curate_pb2.DspRequest(
        slice_time=curate_pb2.SliceTimeParams(time_start_s=0.5, time_end_s=1.0)
    )
    assert op_from_request(req) == SliceTime(0.5, 1.0)
    req = curate_pb2.DspRequest(slice_channels=curate_pb2.SliceChannelsParams(sys_idxs=[0, 8]))
    assert op_from_request(req) == SliceChannels((0, 8))
    with pytest.raises(InvalidArgument, match="no DSP operation"):
        op_from_request(curate_pb2.DspRequest(source_path="/x"))
