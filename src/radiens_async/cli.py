"""The ``radiens-async`` command: ``demo``, ``hub serve`` and ``status``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radiens-async", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="stream simulated spikes from the embedded hub")
    demo.add_argument("--seconds", type=float, default=3.0, help="how long to stream")
    demo.add_argument("--channels", type=int, default=32, help="amplifier channels to simulate")
    demo.add_argument("--address", default=None, help="host:port of a hub (default: embedded)")

    hub = sub.add_parser("hub", help="run a hub")
    hub_sub = hub.add_subparsers(dest="hub_command", required=True)
    serve = hub_sub.add_parser("serve", help="serve until SIGINT/SIGTERM")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=50150, help="port (0: any free port)")
    serve.add_argument("--data-dir", type=Path, default=None, help="where the hub keeps state")
    serve.add_argument(
        "--token",
        default=os.environ.get("RADIENS_HUB_TOKEN"),
        help="access token required on every call (required for a non-loopback bind)",
    )
    serve.add_argument(
        "--tls-cert",
        type=Path,
        default=os.environ.get("RADIENS_HUB_TLS_CERT") or None,
        help="PEM certificate chain: serve TLS (with --tls-key)",
    )
    serve.add_argument(
        "--tls-key",
        type=Path,
        default=os.environ.get("RADIENS_HUB_TLS_KEY") or None,
        help="PEM private key of --tls-cert",
    )
    serve.add_argument("--seed", type=int, default=0, help="simulator seed")
    serve.add_argument("--cache-seconds", type=float, default=10.0, help="live cache length")
    serve.add_argument("--cache-mb", type=int, default=512, help="live cache memory cap")
    serve.add_argument("--stream-loop-ms", type=float, default=1.0, help="acquisition block")
    serve.add_argument(
        "--record-buffer-mb",
        type=int,
        default=2048,
        help="recorded data that may wait for a slow disk before a recording fails",
    )
    serve.add_argument(
        "--radiens-ports",
        action="store_true",
        help="also serve the Radiens protocol where an Allego app does (localhost:50051-50055)",
    )
    serve.add_argument(
        "--radiens-base-port",
        type=int,
        default=50051,
        help="first of the five Radiens ports (default 50051, as an Allego app)",
    )
    serve.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)

    status = sub.add_parser("status", help="print the Allego status of a hub")
    status.add_argument("--address", default=None, help="host:port of a hub")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``radiens-async`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from radiens_async.demo import main as demo_main

        return demo_main(args.seconds, args.channels, args.address)
    if args.command == "hub":
        from radiens_async.hub.server import HubConfig, default_data_dir, serve_forever

        config = HubConfig(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir or default_data_dir(),
            token=args.token or None,
            seed=args.seed,
            cache_seconds=args.cache_seconds,
            cache_mb=args.cache_mb,
            stream_loop_ms=args.stream_loop_ms,
            record_buffer_mb=args.record_buffer_mb,
            parent_pid=args.parent_pid,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            radiens_ports=args.radiens_ports,
            radiens_base_port=args.radiens_base_port,
        )
        return serve_forever(config)
    if args.command == "status":
        from radiens_async.client.allego import AsyncAllegoClient
        from radiens_async.errors import RadiensError

        async def show() -> None:
            async with AsyncAllegoClient(args.address) as allego:
                (await allego.get_status()).print("verbose")

        try:
            asyncio.run(show())
        except RadiensError as exc:
            print(f"radiens-async status: {exc}", file=sys.stderr)
            return 1
        return 0
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
