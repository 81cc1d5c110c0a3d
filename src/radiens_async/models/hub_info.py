"""What a hub says about itself."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class HubHealth(BaseModel):
    """A hub's health check: serving, uptime and process id."""

    model_config = ConfigDict(frozen=True)

    serving: bool
    uptime_s: float
    pid: int


class HubVersion(BaseModel):
    """Versions of the hub software and of the wire protocol."""

    model_config = ConfigDict(frozen=True)

    hub_version: str
    protocol_version: str
    python_version: str


class HubCapabilities(BaseModel):
    """The services, modes and rates a hub offers."""

    model_config = ConfigDict(frozen=True)

    services: tuple[str, ...]
    system_modes: tuple[str, ...]
    simulator_modes: tuple[str, ...]
    sampling_freqs: tuple[float, ...]
    auth_required: bool
    data_dir: str
