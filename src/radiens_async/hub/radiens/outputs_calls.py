"""``allego.AllegoCore`` calls: stimulation, recording triggers, digital and analog outputs
(a mixin of :class:`AllegoCoreService`).

Every call acts on the device's
:class:`~radiens_async.hub.daq.instrument_outputs.InstrumentOutputs`, the object our own
radiens.v1 Allego service uses too, so a change made through either protocol
is seen through both. A refused request changes nothing and ends with a status code (radiens-core
reads the ``errMsg`` of only some of these replies, so an error never travels there).
"""

from __future__ import annotations

from grpc.aio import ServicerContext

from radiens_async._generated.allego import allegoserver_pb2, common_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.radiens.dio_dac_translation import (
    analog_out_to_radiens,
    check_dac_stream_group,
    dio_register_to_radiens,
)
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.stim_translation import (
    keypress_from_radiens,
    stim_params_from_radiens,
    stim_params_reply,
    stim_step_to_radiens,
)
from radiens_async.hub.radiens.trigger_translation import (
    port_from_radiens,
    trigger_channel_from_radiens,
    trigger_state_to_radiens,
)
from radiens_async.hub.status_codes import unary


def _ok() -> common_pb2.StandardReply:
    return common_pb2.StandardReply(errMsg="")


class InstrumentOutputCalls:
    """AllegoCore methods for stimulation, recording triggers, digital and analog outputs, over
    ``self.domain``."""

    domain: RadiensDomain

    # -- stimulation -------------------------------------------------------------------------
    @unary
    async def GetStimParams(
        self, request: common_pb2.StandardRequest, context: ServicerContext
    ) -> allegoserver_pb2.StimParamsReply:
        device = self.domain.device
        stim = device.outputs.stim
        return stim_params_reply(stim.get(), stim.global_amp_settle_channels, device.layout)

    @unary
    async def SetStimParams(
        self, request: allegoserver_pb2.StimParams, context: ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        params, global_settle = stim_params_from_radiens(request, device.layout)
        device.outputs.set_stim_params(
            params, streaming=device.streaming, headstage_global_amp_settle=global_settle
        )
        return _ok()

    @unary
    async def SetStimStep(
        self, request: allegoserver_pb2.StimStepMessage, context: ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        device.outputs.set_stim_step(int(request.stimStep), streaming=device.streaming)
        return _ok()

    @unary
    async def GetStimStep(
        self, request: common_pb2.StandardRequest, context: ServicerContext
    ) -> allegoserver_pb2.StimStepMessage:
        return stim_step_to_radiens(self.domain.device.outputs.stim_step)

    @unary
    async def ManualStimTrigger(
        self, request: allegoserver_pb2.ManualStimTriggerRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        keypress = keypress_from_radiens(request.trigger)
        device.outputs.set_manual_stim_trigger(keypress, request.triggerOn, device.streaming)
        return _ok()

    @unary
    async def ManualStimTriggerToggle(
        self,
        request: allegoserver_pb2.ManualStimTriggerToggleRequest,
        context: ServicerContext,
    ) -> common_pb2.StandardReply:
        device = self.domain.device
        keypress = keypress_from_radiens(request.trigger)
        device.outputs.manual_stim_trigger(keypress, device.streaming)
        return _ok()

    # -- recording triggers ------------------------------------------------------------------
    # An enabled trigger is armed on the live stream at once (or when streaming starts): its
    # rising edges start recordings, its falling edges stop them (see recording_triggers).
    @unary
    async def SetTriggerState(
        self, request: allegoserver_pb2.SetTriggerRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        triggers = self.domain.device.outputs.triggers
        channel = trigger_channel_from_radiens(request.channel)
        if channel is None:
            if request.enabled:
                raise InvalidArgument(
                    "T_NONE cannot be enabled: name a digital input or output (T_NONE with "
                    "enabled=false disables every trigger)"
                )
            triggers.disable_all()
            return _ok()
        signal_type, ntv = channel
        port = port_from_radiens(request)
        if request.enabled:
            triggers.enable(signal_type, ntv, port)
        else:
            triggers.disable(signal_type, ntv, port)
        return _ok()

    @unary
    async def GetTriggerState(
        self, request: common_pb2.StandardRequest, context: ServicerContext
    ) -> allegoserver_pb2.TriggerState:
        return trigger_state_to_radiens(self.domain.device.outputs.triggers.enabled)

    # -- digital out -------------------------------------------------------------------------
    @unary
    async def GetDIOReg(
        self, request: common_pb2.StandardRequest, context: ServicerContext
    ) -> allegoserver_pb2.DigitalOutRegister:
        return dio_register_to_radiens(self.domain.device.outputs.dio_register)

    @unary
    async def SetDIOManual(
        self, request: allegoserver_pb2.DIOModeManualRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.outputs.set_dout_manual(request.chanIdx, request.state)
        return _ok()

    @unary
    async def SetDIOGated(
        self, request: allegoserver_pb2.DIOModeGatedRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.outputs.set_dout_gated(request.gatedPolarity)
        return _ok()

    @unary
    async def SetDIOPulse(
        self, request: allegoserver_pb2.DIOModePulseRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.outputs.set_dout_pulse(
            request.reqIntervalSec, request.reqDurationSec, request.reqNtvChanIdx
        )
        return _ok()

    @unary
    async def SetDIOEvents(
        self, request: allegoserver_pb2.DIOModeEventsRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.outputs.set_dout_events(
            request.chanIdx, request.eventThreshold, request.eventPolarity
        )
        return _ok()

    # -- analog out --------------------------------------------------------------------------
    @unary
    async def GetDACReg(
        self, request: common_pb2.StandardRequest, context: ServicerContext
    ) -> allegoserver_pb2.AnalogOutRegister:
        return analog_out_to_radiens(self.domain.device.outputs.analog_out)

    @unary
    async def SetDACGain(
        self, request: allegoserver_pb2.DACGainRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.outputs.set_analog_out_gain(request.gain)
        return _ok()

    @unary
    async def SetDACStream(
        self, request: common_pb2.DACStreamRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        check_dac_stream_group(request.streamGroupId)
        self.domain.device.outputs.set_analog_out_route(request.DAC, request.NtvChanIdx)
        return _ok()

    @unary
    async def SetDACOff(
        self, request: common_pb2.DACOffRequest, context: ServicerContext
    ) -> common_pb2.StandardReply:
        check_dac_stream_group(request.streamGroupId)
        self.domain.device.outputs.set_analog_out_off()
        return _ok()

    @unary
    async def SetDACHighPass(
        self, request: allegoserver_pb2.DACHighPassRegister, context: ServicerContext
    ) -> common_pb2.StandardReply:
        self.domain.device.outputs.set_analog_out_high_pass(request.cutoffFreq, request.enable)
        return _ok()
