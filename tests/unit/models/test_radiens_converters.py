"""The Radiens protocol (``allego``) converters, on hand-built messages (no network)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiens_async._generated.allego import (
    allegoserver_pb2,
    biointerface_pb2,
    common_pb2,
    spikesorter_pb2,
)
from radiens_async.errors import InvalidArgument, NotSupported, RadiensError
from radiens_async.models.allego_state import RecordingConfig
from radiens_async.models.converters import (
    radiens_channels,
    radiens_kpi,
    radiens_outputs,
    radiens_signals,
    radiens_sorter,
    radiens_spikes,
    radiens_status,
    radiens_workspace,
)
from radiens_async.models.signal_metrics import MetricID
from radiens_async.models.spike_sorter import PARAMS_COLUMNS
from radiens_async.models.stim_params import STIM_KEYS, default_stim_params
from radiens_async.utils.enums import MetricMode, MetricName, Port, SignalType, SystemMode


# -- status and configuration ----------------------------------------------------------------
def test_every_shared_mode_name_has_the_same_number_on_both_sides() -> None:
    shared = set(SystemMode.__members__) & set(allegoserver_pb2.BackboneMode.keys())
    assert len(shared) == 16  # 0-2, 4-9, 13-19
    for name in shared:
        assert radiens_status.backbone_mode_of(SystemMode[name]) == int(SystemMode[name])
        assert radiens_status.system_mode_of(int(SystemMode[name])) is SystemMode[name]


def test_modes_one_side_lacks_are_refused_clearly() -> None:
    with pytest.raises(NotSupported, match="sine_multi_band"):
        radiens_status.backbone_mode_of(SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND)
    with pytest.raises(InvalidArgument, match="Invalid SystemMode value: 24"):
        radiens_status.system_mode_of(allegoserver_pb2.SMARTBOX_SIM_GEN_LFP)


def _config_and_status() -> allegoserver_pb2.ConfigAndStatus:
    return allegoserver_pb2.ConfigAndStatus(
        streaming=allegoserver_pb2.StreamingStatus(
            streamMode=allegoserver_pb2.S_ON,
            primaryCacheTRange=[1.5, 12.25],
            hardwareMemoryLevel=0.1,
        ),
        recording=allegoserver_pb2.RecordingStatus(
            recordMode=allegoserver_pb2.R_ON,
            activeFileName="/data/allego_3__uid0906-13-55-32.xdat",
            duration=4.5,
            error="",
        ),
        ports=[common_pb2.PortChannelCount(port=common_pb2.A, channelCount=32)],
        isConnected=True,
        gpioChannelCount=common_pb2.GPIOChannelCount(nAux=2, nDin=2, nDout=2),
        baseSampFreq=30000.0,
        cableDelays=allegoserver_pb2.CableDelays(
            cableDelays={
                0: allegoserver_pb2.CableDelay(port=common_pb2.A, cableDelay=3, isAuto=True)
            }
        ),
        backboneMode=allegoserver_pb2.SMARTBOX_SIM_GEN_SPIKES,
        hasXDAQGPIOExpander=False,
    )


def test_status_carries_every_documented_field() -> None:
    config = allegoserver_pb2.ConfigCore(
        allegoCoreServerPort="50051",
        baseSampFreq=30000.0,
        streamLoopDurMs=10,
        cableDelays=allegoserver_pb2.CableDelays(),
        backboneMode=allegoserver_pb2.SMARTBOX_SIM_GEN_SPIKES,
        hasXDAQGPIOExpander=False,
    )
    state = radiens_status.status_to_model(_config_and_status(), config)
    assert state.stream == ("S_ON", [1.5, 12.25], pytest.approx(0.1))
    assert (state.recording.mode, state.recording.base_name, state.recording.index) == (
        "R_ON",
        "allego",
        3,
    )
    assert state.system_mode is SystemMode.SMARTBOX_SIM_GEN_SPIKES
    assert state.port_num_channels == {Port.A: 32}
    assert state.gpio == (2, 2, 2)
    assert state.cable_delay_spec[Port.A] == {"delay": 3, "is_auto": True}
    assert state.cable_delay_spec[Port.B] is None
    assert (state.sample_freq, state.stream_loop_dur_ms, state.connected) == (30000.0, 10.0, True)


def test_recording_config_keeps_the_settings_the_api_has_no_words_for() -> None:
    current = allegoserver_pb2.ConfigRecording(
        baseFileName="x", baseFilePath="/y", recordingType=allegoserver_pb2.spikes,
        splitFilesByPort=True,
    )  # fmt: skip
    msg = radiens_status.config_recording_to_proto(
        RecordingConfig(path="/data", base_name="rec", index=4, time_stamp=False), current
    )
    assert msg.IsInitialized()
    assert (msg.baseFilePath, msg.baseFileName, msg.dataSourceIdx, msg.timeStamp) == (
        "/data",
        "rec",
        4,
        False,
    )
    assert (msg.recordingType, msg.splitFilesByPort) == (allegoserver_pb2.spikes, True)
    back = radiens_status.recording_config_to_model(msg)
    assert back == RecordingConfig(path="/data", base_name="rec", index=4, time_stamp=False)


# -- channels ---------------------------------------------------------------------------------
def _record(sys_idx: int, stype: int, ntv: int, *, x: float = 0.0) -> common_pb2.ChannelRecord:
    return common_pb2.ChannelRecord(
        chanName=f"c{sys_idx}", chanType=stype, ntvChanIdx=ntv, siteNum=ntv, colorGroupIdx=0,
        isSelected=sys_idx != 1, isAudioLeft=False, port=common_pb2.A, siteShape="circle",
        siteCtrX=x, siteCtrY=2.5, siteCtrZ=0.0, siteLimXMin=x - 0.5, siteLimXMax=x + 0.5,
        siteLimYMin=2.0, siteLimYMax=3.0, siteLimZMin=0.0, siteLimZMax=0.0, siteCtrTcsX=x,
        siteCtrTcsY=2.5, siteCtrTcsZ=0.0, sensorUnits="μV" if stype == 0 else "V", absIdx=sys_idx,
        isAudioRight=False, sysChanIdx=sys_idx, siteAreaMicron2=177.0, datasetRidx=ntv,
        datasetAidx=sys_idx, probeID="buz32", headstageID="passthrough_32",
    )  # fmt: skip


def _group() -> common_pb2.SignalGroup:
    sensor = common_pb2.Sensor(
        probeId="buz32", headstageId="passthrough_32",
        wireframe=common_pb2.Sensor.WireFrame(
            vtx=[common_pb2.XYCoord(x=0.0, y=0.0), common_pb2.XYCoord(x=1.0, y=20.0)],
            vtxXlim=common_pb2.XYCoord(x=0.0, y=1.0), vtxYlim=common_pb2.XYCoord(x=0.0, y=20.0),
        ),
        xMin=0.0, xMax=1.0, yMin=0.0, yMax=20.0,
        position=common_pb2.SensorPositionTcs(X=0, Y=0, Z=0, RingAngle=0, AxialAngle=0, ArcAngle=0),
        numSites=32, sensorUID="uid-a",
    )  # fmt: skip
    return common_pb2.SignalGroup(
        channels=[_record(0, 0, 0, x=1.0), _record(1, 0, 1, x=2.0), _record(2, 1, 0)],
        sensorPortSpec=common_pb2.SensorPortSpec(sensorA=[sensor]),
        datasetUID="Live Signals",
        sampFreq=30000.0,
        sourceLabel="Live Signals",
        neighborMaxRadius=100.0,
        hasDiscrete=False,
        hasContinuousAmp=True,
    )


def test_signal_group_positions_are_microns_and_indices_kept() -> None:
    meta = radiens_channels.signal_group_to_model(_group())
    assert meta.fs == 30000.0
    assert meta.index(SignalType.AMP).ntv == [0, 1]
    assert meta.index(SignalType.AIN).sys == [2]
    assert meta.sel_index(SignalType.AMP).sys == [0]
    ch = meta.channels[1]
    assert (ch.site_ctr_x, ch.site_ctr_y, ch.site_lim_x_min) == (20.0, 25.0, 15.0)
    assert (ch.sensor_units, meta.channels[2].sensor_units) == (1, 2)
    assert ch.site_area_um2 == 177.0
    sensor = meta.sensor_spec["A"][0]
    assert sensor["wireframe_y"] == [0.0, 200.0] and sensor["y_max"] == 200.0
    assert meta.sensor_spec["B"] == []


def test_sensor_ids_lose_their_wire_prefix_properly() -> None:
    reply = common_pb2.ListSensorSpecsReply(
        headstages=[
            common_pb2.ListSensorSpecsReply.SpecWithChannelCount(
                name="hstg__smartlink_A64", channelCount=64
            )
        ],
        probes=[
            common_pb2.ListSensorSpecsReply.SpecWithChannelCount(
                name="probe__buz32", channelCount=32
            )
        ],
    )
    assert radiens_channels.available_sensors_to_dict(reply) == {
        "headstages": {"smartlink_A64": 64},
        "probes": {"buz32": 32},
    }
    assert radiens_channels.headstage_wire_id("smartlink_A64") == "hstg__smartlink_A64"
    assert radiens_channels.probe_wire_id("probe__buz32") == "probe__buz32"


# -- signals ----------------------------------------------------------------------------------
def _matrix(a: np.ndarray) -> common_pb2.RadixMatrixBytes:
    return common_pb2.RadixMatrixBytes(data=a.astype("<f4").tobytes(), shape=list(a.shape))


def test_snapshot_rows_are_views_in_the_callers_order() -> None:
    meta = radiens_channels.signal_group_to_model(_group())
    rows = radiens_signals.row_selection(meta, [2, 1])  # ain 0, then amp 1
    assert rows.ntv == ((1,), (0,), (), ())
    amp = np.arange(5, dtype=np.float32).reshape(1, 5)
    ain = -amp
    msg = common_pb2.HDSnapshot2(
        sigs=common_pb2.Signals2(
            sG=_group(), tR=common_pb2.TimeRange(timestamp=[100, 105], fs=30000.0),
            amp=_matrix(amp), ain=_matrix(ain),
        )
    )  # fmt: skip
    block = radiens_signals.snapshot_to_block(msg, rows)
    assert (block.first_sample, block.stop_sample, block.fs) == (100, 105, 30000.0)
    np.testing.assert_array_equal(block.data, np.vstack([ain, amp]))


def test_one_type_is_read_without_a_copy() -> None:
    meta = radiens_channels.signal_group_to_model(_group())
    rows = radiens_signals.row_selection(meta, [0, 1])
    amp = np.arange(10, dtype=np.float32).reshape(2, 5)
    msg = common_pb2.HDSnapshot2(
        sigs=common_pb2.Signals2(
            sG=_group(), tR=common_pb2.TimeRange(timestamp=[0, 5], fs=30000.0), amp=_matrix(amp)
        )
    )
    block = radiens_signals.snapshot_to_block(msg, rows)
    assert not block.data.flags.writeable  # a view on the reply's bytes
    np.testing.assert_array_equal(block.data, amp)


def test_a_malformed_matrix_is_refused() -> None:
    bad = common_pb2.RadixMatrixBytes(data=b"\0" * 12, shape=[2, 2])
    with pytest.raises(RadiensError, match="malformed"):
        radiens_signals.radix_matrix_to_array(bad, 2)


def test_snapshot_requests_ask_half_a_sample_early() -> None:
    meta = radiens_channels.signal_group_to_model(_group())
    rows = radiens_signals.row_selection(meta)
    req = radiens_signals.snapshot_request(300, None, 30000.0, rows)
    t0, t1 = req.tR.timeRangeSec
    assert round(t0 * 30000.0) in (299, 300) and math.floor(t0 * 30000.0) == 299
    assert math.isinf(t1) and req.selMode == common_pb2.TRS_SUBSET
    assert list(req.sigSel.ampNtvIdxs) == [0, 1] and list(req.sigSel.ainNtvIdxs) == [0]
    assert req.IsInitialized()


# -- stimulation, DIO, DAC ----------------------------------------------------------------------
def test_stim_params_round_trip_with_digital_inputs_by_sys_index_on_the_wire() -> None:
    params = default_stim_params(6) | {"refactory_period_ms": 2.5, "trigger_source_idx": 1}
    msg = radiens_outputs.stim_params_to_proto(params, {0: 34, 1: 35})
    assert msg.IsInitialized() and msg.refractoryPeriod == 2.5  # ms on the wire too
    assert msg.triggerSourceIdx == 35  # DIN ntv 1 is sys 35
    back = radiens_outputs.stim_params_from_proto(msg, {34: 0, 35: 1})
    assert set(back) == set(STIM_KEYS)
    assert back == params
    reply = allegoserver_pb2.StimParamsReply(params={6: msg})
    assert radiens_outputs.stim_reply_to_dict(reply, {34: 0, 35: 1}) == {6: params}
    keypress = params | {"trigger_source_is_keypress": True, "trigger_source_idx": 3}
    assert radiens_outputs.stim_params_to_proto(keypress, {3: 37}).triggerSourceIdx == 3


def test_digital_and_analog_out_dicts() -> None:
    dio = allegoserver_pb2.DigitalOutRegister(
        mode=allegoserver_pb2.manual,
        doutChanRegisters=[
            allegoserver_pb2.DigitalOutChannelRegister(
                manualState=s, eventThreshold=0, eventPolarity=False, ntvChanIdx=i
            )
            for i, s in enumerate((True, False))
        ],
        gatedPolarity=False,
    )
    assert radiens_outputs.dio_register_to_dict(dio) == {
        "digital_outs_mode": "MANUAL",
        "states": [{"chan_idx": 0, "state": True}, {"chan_idx": 1, "state": False}],
    }
    dac = allegoserver_pb2.AnalogOutRegister(
        analogOutChannels=[
            allegoserver_pb2.AnalogOutChannelRegister(
                PriNtvChanIdx=-1, AnalogOutNtvChanIdx=0, Stream=0, StreamOffsetIdx=0
            )
        ],
        gain=2,
        highpassReg=allegoserver_pb2.DACHighPassRegister(enable=True, cutoffFreq=300.0),
    )
    out = radiens_outputs.analog_out_to_dict(dac)
    assert out["dac"][0]["amp_ntv_chan_idx"] == -1
    assert (out["gain"], out["high_pass"]) == (2, {"enable": True, "cutoff_freq": 300.0})


# -- spike sorter and spikes ---------------------------------------------------------------------
def test_sorter_params_give_windows_in_ms() -> None:
    rec = common_pb2.SpikeSorterParamCommandRecord(
        isEnabled=True, ntvChanIdx=3, thr=[-85.0, 85.0], thrSd=[-5.0, 5.0],
        thrWdwPts=[15, 30, 46], thrWdw=[0.0005, 0.001, 0.0015], shadow=0.0015, shadowPts=45,
        isSetThr=[True, False], weakThr=[-500.0, 500.0], weakThrSd=[0.0, 0.0],
        isSetWeakThr=[False, False], isSD=False,
    )  # fmt: skip
    frame = radiens_sorter.sorter_params_frame(
        spikesorter_pb2.GetSpikeSorterParamCommandReply(spikeSorterID="Live Signals", rec=[rec])
    )
    row = frame.iloc[0]
    assert list(frame.columns) == list(PARAMS_COLUMNS)
    assert row["ntv_idx"] == 3 and row["shadow"] == 1.5
    np.testing.assert_allclose(row["thr_wdw"], [0.5, 1.0, 1.5])
    assert row["thr_activated"].tolist() == [True, False]
    req = radiens_sorter.set_param_request(1, [-85.0, 0.0], [True, False], [0, 1])
    assert req.IsInitialized() and req.params[0].spikeSorterID == "Live Signals"


def test_sorter_state_and_dashboard() -> None:
    state = spikesorter_pb2.SpikeSorterState(sys=spikesorter_pb2.SYS_ON, msg="ok")
    model = radiens_sorter.state_to_model(state)
    assert (model.mode, model.is_on, model.message) == ("SYS_ON", True, "ok")
    general = spikesorter_pb2.SpikeSorterDashboardGeneralRec(
        state=state, sorterType=spikesorter_pb2.SORTER_VEX_STREAM, sorterID="Live Signals",
        datasourceID="Live Signals", timeRange=[0.0, 3.0], numTotalSites=32, numEnabledSites=32,
        numActiveSites=8, numNeurons=4, probeYield=0.25, siteYield=0.5, numSpikesProcessed=100,
        numSpikesLabeled=50, sortEfficiency=0.5,
        sinkDesc=common_pb2.FileDescriptor(path="/d", baseName="s", fileType=common_pb2.SPIKES),
    )  # fmt: skip
    dash = radiens_sorter.dashboard_to_model(
        spikesorter_pb2.SpikeSorterDashboardReply(
            enabledPorts=[common_pb2.A],
            general=general,
            siteStats=spikesorter_pb2.IndicoDashboardSiteStats(
                snr=[1.0] * 12, noise=[2.0] * 12, neuronYield=[0.5] * 12, numNeurons=4
            ),
        )
    )
    assert dash.ports == ("A",) and dash.num_units == 4
    assert dash.general.loc["probe_yield_mean", "value"] == 0.25
    assert dash.summary_stats.loc[0, "stat"] == "probe-snr"


def _dense() -> biointerface_pb2.SpikesSpikeDataDenseReply:
    n_pts = 4
    # channel 2: two spikes (rows 0, 1); channel 5: one spike (row 2)
    data = np.arange(3 * n_pts, dtype=np.float32)
    return biointerface_pb2.SpikesSpikeDataDenseReply(
        timeRange=[0.0, 1.0],
        waveformNPoints=n_pts,
        totalNSpikes=3,
        channelDescriptors=[
            biointerface_pb2.SpikeDataDenseChannelDescriptor(
                ntvChanIdx=2, labels=[1, 0], waveformMaxValue=7, waveformMinValue=0,
                rowOffset=0, numRows=2, timestamps=[300, 100],
            ),
            biointerface_pb2.SpikeDataDenseChannelDescriptor(
                ntvChanIdx=5, labels=[2], waveformMaxValue=11, waveformMinValue=8,
                rowOffset=2, numRows=1, timestamps=[200],
            ),
        ],
        data=data.tobytes(),
    )  # fmt: skip


def test_dense_spikes_are_flat_and_in_sample_order() -> None:
    spikes = radiens_spikes.dense_to_arrays(_dense())
    assert spikes.sample_index.tolist() == [100, 200, 300]
    assert spikes.channel.tolist() == [2, 5, 2]
    assert spikes.label.tolist() == [0, 2, 1]
    np.testing.assert_array_equal(spikes.waveforms[1], [8, 9, 10, 11])
    recent = radiens_spikes.dense_to_spikes_set(_dense(), [2, 5])
    assert recent.num_spikes_total == 3
    assert recent.channels()[2]["waveforms"].shape == (4, 2)


def test_inconsistent_dense_blocks_are_refused() -> None:
    msg = _dense()
    msg.channelDescriptors[1].rowOffset = 5
    with pytest.raises(RadiensError, match="channel 5"):
        radiens_spikes.dense_to_arrays(msg)


def test_neurons_are_one_row_per_unit() -> None:
    def neuron(site: int) -> biointerface_pb2.NeuronDescriptor:
        return biointerface_pb2.NeuronDescriptor(
            neuronID="7", siteNtvChanIdx=3, spikeLabel="7", posProbe=[0.0, 50.0, 0.0],
            spikeCount=10 + site, spikeRate=2.0, meanAbsPeakWfm=80.0, snr=4.0,
        )  # fmt: skip

    reply = biointerface_pb2.BiointerfaceGetNeuronsReply(
        site={
            3: biointerface_pb2.BiointerfaceGetNeuronsReply.NeuronL(neuron=[neuron(3)]),
            4: biointerface_pb2.BiointerfaceGetNeuronsReply.NeuronL(neuron=[neuron(4)]),
        }
    )
    frame = radiens_spikes.neurons_frame(reply)
    assert len(frame) == 1
    assert (frame.loc[0, "id"], frame.loc[0, "ntv_idx"], frame.loc[0, "label"]) == (7, 3, 7)


def test_rasters_dict() -> None:
    ts = spikesorter_pb2.SpikeSorterRasterDataReply(
        spikeTimestamps=[
            biointerface_pb2.SpikeTimestamp(
                spikeTimestamp=123,
                neuronColorGroupData=biointerface_pb2.NeuronColorGroupData(
                    colorGroupIdxNeuron=0, colorGroupIdxChannel=0, posColorGroup=0,
                    sizeColorGroup=0,
                ),
                label=2,
                dataIdxs=[4],
            )
        ],
        timeRange=[0.0, 1.0],
        timeStampRange=[0, 30000],
        GPIOData=np.zeros(6, np.float32).tobytes(),
        GPIOShape=[2, 3],
    )  # fmt: skip
    out = radiens_spikes.rasters_to_dict(ts)
    assert out["spikes"]["timestamps"].tolist() == [123]
    assert out["spikes"]["ntv_chan_idx"].tolist() == [4]
    assert out["gpio_data"].shape == (2, 3)


# -- signal metrics -------------------------------------------------------------------------------
def test_metric_names_map_onto_the_kpi_enum() -> None:
    rms = MetricID(MetricMode.BASE, MetricName.RMS)
    assert radiens_kpi.kpi_metric_of(rms) == common_pb2.KPI_RMS
    with pytest.raises(NotSupported, match="VAR"):
        radiens_kpi.kpi_metric_of(MetricID(MetricMode.BASE, MetricName.VAR))
    req = radiens_kpi.metrics_request([rms], [0, 1], 2.0, 30000.0)
    assert req.IsInitialized() and req.streamLookbackSec == 2.0


def test_every_kpi_metric_maps_both_ways_including_the_renamed_event_means() -> None:
    """Two event metrics are not KPI_<our name> on the wire (KPI_EVENT_MEAN_MAX_ABS)."""
    assert set(radiens_kpi.KPI_TO_METRIC) == set(common_pb2.KpiMetricsEnum.values())
    mean_max = MetricID(MetricMode.BASE, MetricName.MEAN_MAX_ABS)
    assert radiens_kpi.kpi_metric_of(mean_max) == common_pb2.KPI_EVENT_MEAN_MAX_ABS
    reply = common_pb2.SignalMetricsPacketReply(
        ntvIdxs=[0],
        sigType=common_pb2.PRI,
        metrics=[common_pb2.KpiMetricID(name=common_pb2.KPI_EVENT_MEAN_MAX_ABS)],
        metricVals=common_pb2.DenseMatrix(rows=1, cols=1, data=np.float32([7.0]).tobytes()),
        tR=common_pb2.TimeRange(timestamp=[0, 30000], fs=30000.0),
    )
    model = radiens_kpi.metrics_to_model(reply, [], 30000.0)
    assert model.metric_ids == [mean_max]
    assert model.val[0, 0, 0] == 7.0


def test_live_metrics_are_one_packet_of_channels_x_metrics() -> None:
    ids = [MetricID(MetricMode.BASE, MetricName.RMS), MetricID(MetricMode.BASE, MetricName.SNR)]
    vals = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    reply = common_pb2.SignalMetricsPacketReply(
        ntvIdxs=[0, 1, 2],
        sigType=common_pb2.PRI,
        metrics=[common_pb2.KpiMetricID(name=common_pb2.KPI_RMS),
                 common_pb2.KpiMetricID(name=common_pb2.KPI_SNR)],
        metricVals=common_pb2.DenseMatrix(rows=3, cols=2, data=vals.tobytes()),
        tR=common_pb2.TimeRange(timestamp=[30000, 90000], fs=30000.0),
    )  # fmt: skip
    m = radiens_kpi.metrics_to_model(reply, ids, 30000.0)
    assert m.val.shape == (1, 3, 2) and m.val[0, 2, 1] == 6.0
    assert m.metric_ids == ids and m.time_range.dur_sec == 2.0
    status = radiens_kpi.kpi_status_to_model(
        common_pb2.KpiStatusReply(
            streamGroupId="Live Signals", numPacketsMemory=10, packetDur=0.5, updatePeriod=0.1,
            persistence=60.0, beta=0.9, numPackets=4, memoryBytes=1.0, numSigs=32,
        ),
        30000.0,
    )  # fmt: skip
    assert (status.type, status.packet_dur_sec, status.num_sigs) == ("cache", 0.5, 32)


# -- workspaces ----------------------------------------------------------------------------
def test_workspace_table_and_requests() -> None:
    def desc(i: str) -> common_pb2.WorkspaceDescriptor:
        return common_pb2.WorkspaceDescriptor(
            iD=i, app=common_pb2.Allego, isModified=False, timestampLastUsed="1700000000",
            timestampModified="2024-01-02T03:04:05.125000Z",
            annotation=common_pb2.AnnotateBundle(tags="t", notes="n"),
        )  # fmt: skip

    frame = radiens_workspace.workspace_frame([desc("b"), desc("a")])
    assert frame["ID"].tolist() == ["a", "b"]
    assert frame.loc[0, "app"] == "ALLEGO" and frame.loc[0, "tags"] == "t"
    assert frame.loc[0, "last_used"].year == 2023 and frame.loc[0, "last_modified"].year == 2024
    req = radiens_workspace.control_request(common_pb2.WSPACE_Save, "w", tags="t", force=True)
    assert req.IsInitialized() and req.isForceOverwrite and req.annotation.tags == "t"
