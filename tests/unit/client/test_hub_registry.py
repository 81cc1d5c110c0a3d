"""The hub registry: environment parsing, register_hub, resolution order, clear errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from radiens_async.client import hub_registry
from radiens_async.client.hub_registry import (
    ENV_DEFAULT_PORT,
    ENV_HUB_NAME,
    ENV_HUBS,
    HubAddress,
    default_hub_port,
    known_hubs,
    register_hub,
    resolve,
)
from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.utils.constants import DEFAULT_HUB, DEFAULT_HUB_PORT


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (ENV_HUBS, ENV_HUB_NAME, ENV_DEFAULT_PORT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub_registry, "_registered", {})
    yield


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("127.0.0.1:50150", "127.0.0.1", 50150),
        (" localhost:1 ", "localhost", 1),
        ("rig.lab.example:65535", "rig.lab.example", 65535),
        ("[::1]:50200", "::1", 50200),
    ],
)
def test_address_parse(text: str, host: str, port: int) -> None:
    address = HubAddress.parse(text)
    assert (address.host, address.port, address.explicit) == (host, port, True)
    assert str(HubAddress("127.0.0.1", 5)) == "127.0.0.1:5"


@pytest.mark.parametrize(
    "text",
    ["", "localhost", "localhost:", ":50150", "host:0", "host:65536", "host:-1", "host:http"],
)
def test_address_parse_refuses_bad_addresses(text: str) -> None:
    with pytest.raises(InvalidArgument, match="expected host:port"):
        HubAddress.parse(text)


def test_default_hub_only(monkeypatch: pytest.MonkeyPatch) -> None:
    hubs = known_hubs()
    assert hubs == {DEFAULT_HUB: HubAddress("127.0.0.1", DEFAULT_HUB_PORT, explicit=False)}
    assert DEFAULT_HUB == "default" and DEFAULT_HUB_PORT == 50150
    name, address = resolve()
    assert name == "default" and not address.explicit  # the one place an embedded hub may start
    monkeypatch.setenv(ENV_DEFAULT_PORT, "50999")
    assert default_hub_port() == 50999
    assert resolve() == ("default", HubAddress("127.0.0.1", 50999, explicit=False))


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-5", "50 150"])
def test_bad_default_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV_DEFAULT_PORT, value)
    with pytest.raises(InvalidArgument, match=ENV_DEFAULT_PORT):
        default_hub_port()
    with pytest.raises(InvalidArgument, match=ENV_DEFAULT_PORT):
        resolve()


def test_env_hubs_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HUBS, " rig1=127.0.0.1:50201; rig2 = 10.0.0.7:50202 ,ipv6=[::1]:7;;")
    hubs = known_hubs()
    assert hubs["rig1"] == HubAddress("127.0.0.1", 50201)
    assert hubs["rig2"] == HubAddress("10.0.0.7", 50202)
    assert hubs["ipv6"] == HubAddress("::1", 7)
    assert set(hubs) == {"default", "rig1", "rig2", "ipv6"}
    assert resolve("rig2") == ("rig2", HubAddress("10.0.0.7", 50202, explicit=True))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("rig1", "expected name=host:port, got 'rig1'"),
        ("=127.0.0.1:1", "expected name=host:port"),
        ("rig1=127.0.0.1", "hub 'rig1': invalid hub address"),
        ("ok=127.0.0.1:1;bad=host:99999", "hub 'bad': invalid hub address"),
    ],
)
def test_bad_env_entries_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, value: str, fragment: str
) -> None:
    monkeypatch.setenv(ENV_HUBS, value)
    with pytest.raises(InvalidArgument, match=ENV_HUBS) as info:
        known_hubs()
    assert fragment in str(info.value)


def test_register_hub_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HUBS, "rig=127.0.0.1:1000")
    register_hub("rig", "127.0.0.1:2000")
    register_hub("other", HubAddress("127.0.0.1", 3000))
    assert resolve("rig") == ("rig", HubAddress("127.0.0.1", 2000))
    assert resolve("other") == ("other", HubAddress("127.0.0.1", 3000))
    # a registered "default" is an explicit address: no embedded hub is ever started for it
    register_hub("default", "127.0.0.1:4000")
    assert resolve() == ("default", HubAddress("127.0.0.1", 4000, explicit=True))


@pytest.mark.parametrize("name", ["", "   "])
def test_register_hub_refuses_empty_names(name: str) -> None:
    with pytest.raises(InvalidArgument, match="non-empty"):
        register_hub(name, "127.0.0.1:1")
    assert hub_registry._registered == {}


def test_register_hub_refuses_bad_addresses() -> None:
    with pytest.raises(InvalidArgument, match="invalid hub address"):
        register_hub("rig", "nowhere")
    assert "rig" not in known_hubs()


def test_hub_name_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    register_hub("rig", "127.0.0.1:2000")
    monkeypatch.setenv(ENV_HUB_NAME, "rig")
    assert resolve() == ("rig", HubAddress("127.0.0.1", 2000))
    # an explicit name beats the environment
    assert resolve("default")[0] == "default"


def test_unknown_name_lists_known_hubs() -> None:
    register_hub("rig", "127.0.0.1:2000")
    with pytest.raises(NotFound, match=r"unknown hub name 'lab'; known hubs: default, rig"):
        resolve("lab")


def test_explicit_address_bypasses_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HUB_NAME, "not-registered-anywhere")
    name, address = resolve(None, "127.0.0.1:6000")
    assert name == "not-registered-anywhere"
    assert address == HubAddress("127.0.0.1", 6000, explicit=True)
    with pytest.raises(InvalidArgument, match="invalid hub address"):
        resolve(None, "127.0.0.1")


def test_an_unregistered_host_port_name_is_taken_as_the_address() -> None:
    name, address = hub_registry.resolve("10.1.2.3:50777")
    assert name == "default" and (address.host, address.port) == ("10.1.2.3", 50777)
    with pytest.raises(NotFound):
        hub_registry.resolve("rig-without-colon")
