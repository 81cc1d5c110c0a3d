"""Digital and analog outputs on the Radiens wire (``DigitalOutRegister``, ``AnalogOutRegister``,
the DAC stream-group checks) <-> the hub's output domain
(:mod:`radiens_async.hub.daq.digital_outs`, :mod:`radiens_async.hub.daq.instrument_outputs`)."""

from __future__ import annotations

from radiens_async._generated.allego import allegoserver_pb2
from radiens_async.errors import NotFound
from radiens_async.hub.daq.digital_outs import DigitalOutRegister
from radiens_async.hub.daq.instrument_outputs import AnalogOutSettings
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID


def dio_register_to_radiens(register: DigitalOutRegister) -> allegoserver_pb2.DigitalOutRegister:
    """The register as ``allego.DigitalOutRegister`` (one channel register per output)."""
    return allegoserver_pb2.DigitalOutRegister(
        mode=allegoserver_pb2.DIOMode.Name(int(register.mode)),
        doutChanRegisters=[
            allegoserver_pb2.DigitalOutChannelRegister(
                manualState=c.manual_state,
                eventThreshold=c.event_threshold_uv,
                eventPolarity=c.event_polarity,
                ntvChanIdx=i,
                pulseIntervalSec=c.pulse_interval_s,
                pulseDurationSec=c.pulse_duration_s,
            )
            for i, c in enumerate(register.channels)
        ],
        gatedPolarity=register.gated_polarity,
        reqPulseIntervalSec=register.req_pulse_interval_s,
        reqPulseDurationSec=register.req_pulse_duration_s,
        reqPulseNtvChanIdx=register.req_pulse_ntv_chan_idx,
    )


def analog_out_to_radiens(settings: AnalogOutSettings) -> allegoserver_pb2.AnalogOutRegister:
    """The analog-out settings as ``allego.AnalogOutRegister``."""
    return allegoserver_pb2.AnalogOutRegister(
        analogOutChannels=[
            allegoserver_pb2.AnalogOutChannelRegister(
                PriNtvChanIdx=r.amp_ntv_chan_idx,
                AnalogOutNtvChanIdx=r.aout_ntv_chan_idx,
                Stream=r.stream,
                StreamOffsetIdx=r.stream_offset_idx,
            )
            for r in settings.dac
        ],
        gain=settings.gain,
        highpassReg=allegoserver_pb2.DACHighPassRegister(
            enable=settings.high_pass_enable, cutoffFreq=settings.high_pass_cutoff_freq
        ),
    )


def check_dac_stream_group(stream_group_id: str) -> None:
    """The analog outputs play the live stream group (an empty id means it too).

    Raises
    ------
    NotFound
        Any other stream group.
    """
    if stream_group_id not in ("", PRIMARY_CACHE_STREAM_GROUP_ID):
        raise NotFound(
            f"unknown stream group {stream_group_id!r}: the analog outputs play "
            f"{PRIMARY_CACHE_STREAM_GROUP_ID!r}"
        )
