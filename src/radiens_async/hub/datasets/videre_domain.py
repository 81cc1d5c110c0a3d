"""The Videre side of a hub: catalog, signal metrics and Summa, and their gRPC services.

:class:`~radiens_async.hub.server.Hub` builds one :class:`VidereDomain` and registers its
services; other services reach linked datasets through ``hub.datasets`` (the catalog).
"""

from __future__ import annotations

import contextlib

import grpc

from radiens_async._generated.radiens.v1 import videre_pb2_grpc
from radiens_async.hub.daq.live_dsp_group import stage2_signal_view
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.datasets.metrics_engine import MetricsEngine
from radiens_async.hub.datasets.signal_view import LiveCacheAdapter, SignalView
from radiens_async.hub.datasets.summa import SummaSessions

VIDERE_SERVICES = ["radiens.v1.Videre", "radiens.v1.SignalMetrics", "radiens.v1.Summa"]


class VidereDomain:
    """Catalog, metrics engine and Summa sessions of one hub.

    Parameters
    ----------
    catalog : DatasetCatalog
        The hub's linked datasets.
    device : AllegoDevice, optional
        The live device, read through :class:`LiveCacheAdapter` for live signals and metrics.
    """

    def __init__(self, catalog: DatasetCatalog, device: object | None = None) -> None:
        self.catalog = catalog
        self.device = device
        self.live = LiveCacheAdapter(device) if device is not None else None
        # live metrics are computed on the stage-2 signal (as an Allego's KPI), live signals not
        self.metrics = MetricsEngine(
            catalog.view, self._live_metrics_view if self.live is not None else None
        )
        self.summa = SummaSessions(catalog.store, self.metrics)
        catalog.on_change.append(self._dataset_changed)

    def _live_metrics_view(self) -> SignalView:
        assert self.live is not None
        view = self.live.view()
        device = self.device
        cache = getattr(device, "cache", None)
        group = getattr(device, "dsp_group", None)
        if cache is None or group is None:
            return view
        return stage2_signal_view(view, cache, group)

    def _dataset_changed(self, dataset_id: str) -> None:
        if dataset_id in {d for d, _ in self.catalog.ids()}:
            self.metrics.files_changed(dataset_id)
        else:
            self.metrics.forget(dataset_id)

    def _start_scan(self, dataset_id: str) -> None:
        # a dataset with no amplifier channels has no metrics to scan
        with contextlib.suppress(Exception):
            self.metrics.calculate(dataset_id, "custom")

    def add_to_server(self, server: grpc.aio.Server) -> None:
        """Register the Videre, SignalMetrics and Summa services."""
        from radiens_async.hub.servicers.signal_metrics_service import SignalMetricsService
        from radiens_async.hub.servicers.summa_service import SummaService
        from radiens_async.hub.servicers.videre_service import VidereService

        videre_pb2_grpc.add_VidereServicer_to_server(
            VidereService(
                self.catalog,
                self.live.view if self.live is not None else None,
                on_link=self._start_scan,
            ),
            server,
        )
        videre_pb2_grpc.add_SignalMetricsServicer_to_server(
            SignalMetricsService(self.metrics), server
        )
        videre_pb2_grpc.add_SummaServicer_to_server(SummaService(self.summa, self.catalog), server)
