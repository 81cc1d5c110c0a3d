"""TLS for connections to a hub on another machine.

A hub bound to a non-loopback address needs a token and should serve TLS (``hub serve
--tls-cert --tls-key``). Clients then connect with ``tls=``: ``True`` trusts the system's
certificate authorities, a path names a PEM bundle of the CA(s) to trust (e.g. a lab's own CA
or the hub's self-signed certificate), and an :class:`ssl.SSLContext` is used as given. With
``tls=None`` the ``RADIENS_HUB_TLS_CA`` environment variable decides (a path, or ``system``).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from radiens_async.errors import InvalidArgument

ENV_TLS_CA = "RADIENS_HUB_TLS_CA"

TlsSetting = bool | str | os.PathLike[str] | ssl.SSLContext | None


def client_ssl_context(tls: TlsSetting = None) -> ssl.SSLContext | None:
    """The SSL context to connect with, or None for plain HTTP/2 (loopback hubs).

    Parameters
    ----------
    tls : bool, str, PathLike, SSLContext or None
        See the module docstring.

    Raises
    ------
    InvalidArgument
        For a CA file that does not exist or holds no certificate.

    Examples
    --------
    >>> client_ssl_context(False) is None
    True
    >>> client_ssl_context(True).verify_mode == ssl.CERT_REQUIRED
    True
    """
    if tls is None:
        env = os.environ.get(ENV_TLS_CA, "").strip()
        if not env:
            return None
        tls = True if env.lower() == "system" else env
    if tls is False:
        return None
    if isinstance(tls, ssl.SSLContext):
        context = tls
    elif tls is True:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    else:
        path = Path(tls).expanduser()
        if not path.is_file():
            raise InvalidArgument(f"TLS CA file {str(path)!r} does not exist")
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(path))
        except ssl.SSLError as exc:
            raise InvalidArgument(
                f"TLS CA file {str(path)!r} holds no usable certificate: {exc}"
            ) from None
    context.set_alpn_protocols(["h2"])  # gRPC is HTTP/2 only
    return context
