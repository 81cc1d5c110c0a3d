"""What the Radiens-port servicers translate onto: the hub's own domain objects."""

from __future__ import annotations

from dataclasses import dataclass

from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.datasets.metrics_engine import MetricsEngine
from radiens_async.hub.workspaces import Workspaces


@dataclass(frozen=True)
class RadiensDomain:
    """The objects a Radiens servicer may use (the same ones the radiens.v1 servicers use)."""

    device: AllegoDevice
    workspaces: Workspaces
    datasets: DatasetCatalog
    # the signal metrics engine our SignalMetrics service uses (Kpi1 answers from it)
    metrics: MetricsEngine | None = None
