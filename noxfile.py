"""Sessions: tests, lint, protos, bench, demo, examples, radiens_core (``nox -s <name>``)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# NeuroNexus' official client (MIT): test-only, in sessions of its own (it needs Python >= 3.12)
RADIENS_CORE = "radiens-core==0.1.2"
RADIENS_CORE_PYTHON = "3.12"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and integration tests (integration tests start real hubs on 127.0.0.1)."""
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (style + errors) and mypy (types) on the hand-written code."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "tools", "noxfile.py")
    session.run("mypy")


@nox.session(python=PYTHON)
def protos(session: nox.Session) -> None:
    """Regenerate src/radiens_async/_generated from protos/."""
    session.install(".[protos]")
    session.run("python", "tools/gen_protos.py")


@nox.session(python=RADIENS_CORE_PYTHON)
def radiens_protos(session: nox.Session) -> None:
    """Re-render protos/allego from radiens-core's published descriptors (then run protos)."""
    session.install(RADIENS_CORE)
    session.run("python", "tools/render_radiens_protos.py")


@nox.session(python=RADIENS_CORE_PYTHON)
def radiens_core(session: nox.Session) -> None:
    """radiens-core's own AllegoClient, unmodified, against a hub serving the Radiens ports.

    radiens-core always dials localhost:50051-50055; the tests start a hub there (and refuse to
    run if those ports are taken, e.g. by a real Allego).
    """
    session.install("-e", ".[test]", RADIENS_CORE)
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/official_client", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios measured side by side in one run (never asserted in tests)."""
    session.install("-e", ".[test]")
    for script in (
        "stream_throughput.py",
        "stream_latency.py",
        "xdat_io.py",
        "spike_detection.py",
        "spike_latency.py",
        "dsp_throughput.py",
        "videre_signals.py",
        "closed_loop_latency.py",
        "radiens_protocol.py",
    ):
        session.run("python", f"benchmarks/{script}", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The newcomer's first run: the embedded hub streaming simulated spikes."""
    session.install("-e", ".")
    session.run("radiens-async", "demo", *session.posargs)


@nox.session(python=PYTHON)
def examples(session: nox.Session) -> None:
    """Run every example against the embedded hub."""
    session.install("-e", ".")
    import pathlib

    for script in sorted(pathlib.Path("examples").glob("*.py")):
        session.run("python", str(script))
