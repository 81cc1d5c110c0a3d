"""The Allego client over its backend interface: validation stays in the public methods, the
backend gets validated arguments, and a protocol without an operation raises NotSupported
before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from radiens_async import errors
from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.client.backends.allego_backend import (
    AllegoBackend,
    BackendCapabilities,
    require,
)
from radiens_async.client.backends.arguments import SorterCommand, SorterParam
from radiens_async.client.backends.hub_allego import HUB_CAPABILITIES, HubAllegoBackend
from radiens_async.client.transport import HubTransport
from radiens_async.errors import InvalidArgument, NotSupported, RadiensError
from radiens_async.models.allego_state import RecordingConfig
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.utils.enums import SystemMode

pytestmark = pytest.mark.anyio

RADIENS = BackendCapabilities(protocol="radiens")


class RecordingBackend:
    """Records every operation it is asked for; answers None."""

    def __init__(self, capabilities: BackendCapabilities) -> None:
        self.capabilities = capabilities
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def aclose(self) -> None:
        self.calls.append(("aclose", ()))

    def __getattr__(self, name: str) -> Any:
        async def op(*args: Any) -> Any:
            self.calls.append((name, args))
            return None

        return op


def _client(backend: RecordingBackend) -> AsyncAllegoClient:
    client = AsyncAllegoClient(address="127.0.0.1:1")
    client._backend = backend  # type: ignore[assignment]
    return client


def test_not_supported_is_a_radiens_error_naming_the_protocol() -> None:
    err = NotSupported("get_ground_truth", "radiens", "use the hub")
    assert isinstance(err, RadiensError) and isinstance(err, NotImplementedError)
    assert str(err) == "get_ground_truth is not supported over the radiens protocol: use the hub"
    assert (err.operation, err.protocol) == ("get_ground_truth", "radiens")
    assert "NotSupported" in errors.__all__
    require(HUB_CAPABILITIES, "ground_truth", "get_ground_truth")  # has it: no error
    with pytest.raises(NotSupported, match=r"over the radiens protocol$"):
        require(RADIENS, "push_streams", "stream_signals")


async def test_operations_a_protocol_lacks_raise_not_supported_and_send_nothing() -> None:
    backend = RecordingBackend(RADIENS)
    client = _client(backend)
    with pytest.raises(NotSupported, match=r"get_ground_truth .* radiens protocol"):
        await client.get_ground_truth()
    with pytest.raises(NotSupported, match=r"restart\(seed=\.\.\., num_channels=\.\.\.\)"):
        await client.restart("sim-spikes", seed=3)
    with pytest.raises(NotSupported, match="hub_health"):
        await client.hub_health()
    with pytest.raises(NotSupported, match="hub_capabilities"):
        await client.hub_capabilities()
    with pytest.raises(NotSupported, match="convert_kilosort_output"):
        await client.spikes().convert_kilosort_output("/ks", "", "", "", "/out", "x")
    assert backend.calls == []
    assert client.protocol == "radiens"
    # what every protocol has goes through, with validated arguments
    await client.restart("sim-spikes")
    assert backend.calls == [("restart", (SystemMode.SMARTBOX_SIM_GEN_SPIKES, None, None))]
    await client.aclose()
    assert backend.calls[-1] == ("aclose", ())


async def test_public_methods_validate_and_hand_normalised_arguments() -> None:
    backend = RecordingBackend(HUB_CAPABILITIES)
    client = _client(backend)
    await client.set_streaming("ON")
    await client.set_recording(0)
    await client.set_sampling_freq(12500)
    await client.set_recording_config("~/rec", "base", 2, False)
    await client.get_signals(max_samples=10)
    await client.get_ground_truth(5, 9)
    await client.spike_sorter().set_sorting("on")
    await client.workspace().workspace_save("ws", tags="t")
    names = [name for name, _ in backend.calls]
    assert names == [
        "set_streaming",
        "set_recording",
        "set_sampling_freq",
        "set_recording_config",
        "get_signals",
        "get_ground_truth",
        "sorter_command",
        "workspace_save",
    ]
    args = dict(backend.calls)
    assert args["set_streaming"] == (True,) and args["set_recording"] == (False,)
    assert args["set_sampling_freq"] == (12500.0,)
    config = args["set_recording_config"][0]
    assert isinstance(config, RecordingConfig) and config.path.endswith("/rec")
    assert not config.path.startswith("~") and (config.index, config.time_stamp) == (2, False)
    assert args["get_signals"] == (client.component_id, 10)
    assert args["get_ground_truth"] == (5, 9)
    assert args["sorter_command"] == (SorterCommand.ON,)
    assert args["workspace_save"] == ("ws", "t", "", True)
    # bad input never reaches the backend
    n = len(backend.calls)
    for call in (
        client.set_sampling_freq("fast"),  # type: ignore[arg-type]
        client.get_signals(max_samples=-1),
        client.set_recording_config("/tmp", "x", -1),
        client.set_manual_stim_trigger(True),  # type: ignore[arg-type]
        client.set_analog_out_high_pass(float("nan")),
        client.spike_sorter().set_sorting("ON"),
    ):
        with pytest.raises(InvalidArgument):
            await call
    with pytest.raises(InvalidArgument):
        async for _ in client.stream_signals(start="tail"):  # type: ignore[arg-type]
            pass
    with pytest.raises(InvalidArgument):
        async for _ in client.spikes().stream(max_batch_spikes=-1):
            pass
    assert len(backend.calls) == n


async def test_sorter_parameters_reach_the_backend_as_documented_registers() -> None:
    backend = RecordingBackend(HUB_CAPABILITIES)
    client = _client(backend)
    sorter = client.spike_sorter()
    meta = ChannelMetadata(channels=[])
    msg = await sorter.set_threshold_level(neg_thr=80, ntv_idxs=[1, 2], channel_meta=meta)
    assert msg == "[2 channels] detect: neg thr=80.00 uV, pos thr=n/a uV"
    assert backend.calls[-1] == (
        "set_sorter_param",
        (SorterParam.THR_LEVEL, [-80.0, 0.0], [True, False], [1, 2]),
    )
    msg = await sorter.set_threshold(pos_thr="on", weak_thr=True, ntv_idxs=[3], channel_meta=meta)
    assert msg == "[1 channels] weak: neg thr=n/a, pos thr=on"
    assert backend.calls[-1] == (
        "set_sorter_param",
        (SorterParam.WEAK_THR_ACTIVATE, [0.0, 1.0], [False, True], [3]),
    )


def test_the_hub_backend_implements_the_whole_interface() -> None:
    backend = HubAllegoBackend(HubTransport(address="127.0.0.1:1"))
    assert isinstance(backend, AllegoBackend)
    interface = {n for n in dir(AllegoBackend) if not n.startswith("_") and n not in dir(object)}
    missing = {n for n in interface if not hasattr(HubAllegoBackend, n)}
    assert not missing
    assert len(interface) >= 45


def test_protocol_keyword_is_checked() -> None:
    with pytest.raises(InvalidArgument, match="protocol must be one of"):
        AsyncAllegoClient(address="127.0.0.1:1", protocol="grpc")  # type: ignore[arg-type]
