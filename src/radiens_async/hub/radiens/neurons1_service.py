"""``allego.Neurons1``: the live spike sorter and its spikes, on the hub's spike engine.

The same :class:`~radiens_async.hub.spikes.SpikeEngine` (``device.spike_engine``) the radiens.v1
Neurons service drives, so parameters, commands and spikes are shared by both protocols. The
translation is in :mod:`.sorter_translation` (commands, parameters, state, dashboard) and
:mod:`.spikes_translation` (rasters, dense spikes, neurons, spec); this module only checks the
sorter ID, calls them and answers. Spike reads run in a worker thread (a long range of a
1024-channel stream is many messages to build), as the engine's readers may.
"""

from __future__ import annotations

import asyncio

import grpc

from radiens_async._generated.allego import (
    allegoserver_pb2_grpc,
    biointerface_pb2,
    common_pb2,
    spikesorter_pb2,
)
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.radiens import sorter_translation as sorter
from radiens_async.hub.radiens import spikes_translation as spikes
from radiens_async.hub.radiens.healthcheck import HealthcheckCalls
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.sorter_ids import LIVE_SORTER_ID, check_sorter_id
from radiens_async.hub.status_codes import unary


class Neurons1Service(HealthcheckCalls, allegoserver_pb2_grpc.Neurons1Servicer):
    """``allego.Neurons1`` of an Allego app, translated onto the hub's domain objects."""

    def __init__(self, domain: RadiensDomain) -> None:
        self.domain = domain

    @property
    def device(self) -> AllegoDevice:
        return self.domain.device

    # -- sorter control ---------------------------------------------------------------------
    @unary
    async def SpikeSorterCommand(
        self, request: spikesorter_pb2.SpikeSorterCommandRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        check_sorter_id(request.spikeSorterID)
        sorter.apply_command(self.device, request)
        return common_pb2.StandardReply(errMsg="")

    @unary
    async def SpikeSorterSetParam(
        self, request: common_pb2.SpikeSorterSetParamRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        return self._set_params([request])

    @unary
    async def SpikeSorterSetParams(
        self, request: common_pb2.SpikeSorterSetParamsRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        return self._set_params(list(request.params))

    def _set_params(
        self, requests: list[common_pb2.SpikeSorterSetParamRequest]
    ) -> common_pb2.StandardReply:
        engine = self.device.spike_engine
        # every change is checked before the first is made: a refused bulk request changes nothing
        changes = []
        for req in requests:
            check_sorter_id(req.spikeSorterID)
            changes.append(sorter.plan_param_change(engine, req))
        for change in changes:
            change(engine)
        return common_pb2.StandardReply(errMsg="")

    # -- sorter tables ----------------------------------------------------------------------
    @unary
    async def SpikeSorterGetParam(
        self, request: spikesorter_pb2.SpikeSorterStandardRequest, context: grpc.aio.ServicerContext
    ) -> spikesorter_pb2.GetSpikeSorterParamCommandReply:
        check_sorter_id(request.spikeSorterID)
        return spikesorter_pb2.GetSpikeSorterParamCommandReply(
            spikeSorterID=LIVE_SORTER_ID, rec=sorter.param_records(self.device.spike_engine)
        )

    @unary
    async def SpikeSorterGetState(
        self, request: spikesorter_pb2.SpikeSorterStandardRequest, context: grpc.aio.ServicerContext
    ) -> spikesorter_pb2.SpikeSorterState:
        check_sorter_id(request.spikeSorterID)
        return sorter.sorter_state(self.device)

    @unary
    async def SpikeSorterGetDashboard(
        self,
        request: spikesorter_pb2.SpikeSorterDashboardRequest,
        context: grpc.aio.ServicerContext,
    ) -> spikesorter_pb2.SpikeSorterDashboardReply:
        check_sorter_id(request.spikeSorterID)
        return sorter.dashboard(self.device, sorter.dash_elements(request))

    # -- spikes -----------------------------------------------------------------------------
    @unary
    async def SpikeSorterGetRasterData(
        self,
        request: spikesorter_pb2.SpikeSorterGetRasterDataRequest,
        context: grpc.aio.ServicerContext,
    ) -> spikesorter_pb2.SpikeSorterRasterDataReply:
        return await asyncio.to_thread(spikes.raster_reply, self.device, request)

    @unary
    async def BiointerfaceGetSpikesDense(
        self, request: biointerface_pb2.SpikesGetSpikesRequest, context: grpc.aio.ServicerContext
    ) -> biointerface_pb2.SpikesSpikeDataDenseReply:
        return await asyncio.to_thread(spikes.dense_reply, self.device, request)

    @unary
    async def BiointerfaceGetNeurons(
        self,
        request: biointerface_pb2.BiointerfaceGetNeuronsRequest,
        context: grpc.aio.ServicerContext,
    ) -> biointerface_pb2.BiointerfaceGetNeuronsReply:
        return await asyncio.to_thread(spikes.neurons_reply, self.device, request)

    @unary
    async def SpikesGetSpec(
        self, request: spikesorter_pb2.SpikeSorterStandardRequest, context: grpc.aio.ServicerContext
    ) -> biointerface_pb2.SpikesSpecReply:
        return await asyncio.to_thread(spikes.spec_reply, self.device, request)
