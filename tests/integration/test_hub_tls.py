"""A hub serving TLS (``--tls-cert/--tls-key``): clients that trust its CA connect, others fail.

Certificates come from ``trustme`` (a throwaway CA made for tests). The hub still runs on
loopback here; what is checked is the TLS handshake, the token on top of it, and the clear
errors for every way of getting it wrong.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import radiens_async as radiens
from radiens_async.client.tls import ENV_TLS_CA, client_ssl_context
from radiens_async.errors import ConnectError, InvalidArgument, Unauthenticated
from radiens_async.hub.server import HubConfig, HubConfigError

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

TOKEN = "tls-test-token"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    cert.private_key_pem.write_to_path(str(d / "hub-key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(d / "hub-cert.pem"))
    other = trustme.CA()
    other.cert_pem.write_to_path(str(d / "other-ca.pem"))
    (d / "garbage.pem").write_text("not a certificate\n")
    return {p.stem: p for p in d.iterdir()}


@pytest.fixture(scope="module")
def tls_hub(pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("tls-hub")
    extra = ("--tls-cert", str(pki["hub-cert"]), "--tls-key", str(pki["hub-key"]))
    with HubProcess(data, *extra, "--token", TOKEN) as hub:
        yield hub.address


async def test_client_trusting_the_ca_connects_and_streams(
    tls_hub: str, pki: dict[str, Path]
) -> None:
    async with radiens.AsyncAllegoClient(tls_hub, token=TOKEN, tls=pki["ca"]) as allego:
        health = await allego.hub_health()
        assert health.serving
        await allego.restart("sim-sine")
        await allego.set_streaming("on")
        async for chunk in allego.stream_signals(start="head"):
            assert chunk.n_samples > 0 and chunk.missed_samples == 0
            break
        await allego.set_streaming("off")


async def test_ca_from_the_environment(
    tls_hub: str, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_TLS_CA, str(pki["ca"]))
    async with radiens.AsyncAllegoClient(tls_hub, token=TOKEN) as allego:
        assert (await allego.hub_health()).serving


async def test_plain_client_cannot_talk_to_a_tls_hub(tls_hub: str) -> None:
    client = radiens.AsyncAllegoClient(tls_hub, token=TOKEN, tls=False, connect_timeout=3.0)
    with pytest.raises(ConnectError):
        await client.open()
    await client.aclose()


async def test_untrusted_certificate_is_refused(tls_hub: str, pki: dict[str, Path]) -> None:
    client = radiens.AsyncAllegoClient(
        tls_hub, token=TOKEN, tls=pki["other-ca"], connect_timeout=3.0
    )
    with pytest.raises(ConnectError):
        await client.open()
    await client.aclose()


async def test_tls_does_not_replace_the_token(tls_hub: str, pki: dict[str, Path]) -> None:
    client = radiens.AsyncAllegoClient(tls_hub, token="wrong", tls=pki["ca"], connect_timeout=3.0)
    with pytest.raises((Unauthenticated, ConnectError)):
        await client.open()
    await client.aclose()


def test_bad_client_tls_settings(pki: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        client_ssl_context(tmp_path / "missing.pem")
    with pytest.raises(InvalidArgument, match="no usable certificate"):
        client_ssl_context(pki["garbage"])
    assert client_ssl_context(False) is None
    context = client_ssl_context(True)
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED


def test_bad_hub_tls_settings(pki: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(HubConfigError, match="both"):
        HubConfig(tls_cert=pki["hub-cert"]).validate()
    with pytest.raises(HubConfigError, match="does not exist"):
        HubConfig(tls_cert=tmp_path / "nope.pem", tls_key=pki["hub-key"]).validate()
    with pytest.raises(HubConfigError, match="PEM"):
        HubConfig(tls_cert=pki["garbage"], tls_key=pki["garbage"]).server_credentials()
