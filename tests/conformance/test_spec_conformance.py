"""The documented API, checked against ``import radiens_async as radiens``.

1. Every class, method, property, parameter (name, position, default) and enum member of
   ``../shared/spec/radiens-python-api.txt`` exists on the blocking clients, with documented
   calls accepted as written (extra parameters are allowed only with defaults). Sub-clients are
   found through the accessor the parent documents (``AllegoClient.workspace()`` ->
   ``WorkspaceClient``). A failure lists every missing or different name.
2. Every ``>>>`` example of the spec runs against a real hub. Examples the spec gets wrong (a
   method name that does not exist, JavaScript booleans, an unclosed quote, a keyword that
   belongs to another method) run in the corrected form listed in :data:`CORRECTIONS`, each with
   its reason; none is skipped. A group that needs context (a workspace to switch to) gets it
   from :data:`SETUP` first. The spec's examples call no hardware-only mode, so
   :data:`HARDWARE_ONLY` is empty; the hardware modes themselves are checked to fail with
   ``FailedPrecondition`` and change nothing.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import radiens_async as radiens
from radiens_async.errors import FailedPrecondition
from radiens_async.utils import enums as enums_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import spec_parser
from curate_recordings import curate_channels, write_curate_recording

from hub_process import HubProcess

SPEC_FILE = spec_parser.spec_dir() / spec_parser.SPEC_NAME
if not SPEC_FILE.is_file():  # a missing spec is a failure, never a silent skip
    raise FileNotFoundError(
        f"the documented API is expected at {SPEC_FILE} (../shared/spec beside the repository)"
    )
SPEC = spec_parser.parse(SPEC_FILE)

TOP_LEVEL = ("AllegoClient", "VidereClient", "CurateClient")
ACCESSOR_OF = {
    "WorkspaceClient": "workspace",
    "SpikeSorterClient": "spike_sorter",
    "SpikesClient": "spikes",
    "MetricsClient": "signal_metrics",
    "SignalsClient": "signals",
}
"""Documented sub-client class -> the parent method that returns it."""

HARDWARE_ONLY: dict[str, str] = {}
"""Examples that need hardware (example code -> reason): none of the spec's examples do."""

HARDWARE_MODES = ("smartbox_pro", "intan_recording_controller_1024", "xdaq_one_stim")

CORRECTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("AllegoClient.get_stim_params", "get_stim_params()"): (
        "client.get_stim_params()",
        "the example omits the client",
    ),
    ("AllegoClient.set_sampling_freq", "client.set_samp_freq(12500)"): (
        "client.set_sampling_freq(12500)",
        "the example names a method that does not exist (behaviour notes 3.5)",
    ),
    ("AllegoClient.set_analog_out_high_pass", "client.set_dac_high_pass(500, True)"): (
        "client.set_analog_out_high_pass(500, True)",
        "the example uses the old name of the documented method",
    ),
    ("AllegoClient.set_digital_out_manual", "client.set_digital_out_manual(true, false)"): (
        "client.set_digital_out_manual(True, False)",
        "JavaScript booleans in the example",
    ),
    (
        "WorkspaceClient.workspace_save",
        "client.workspace_save(workspace_id='my_wspace', tags='my_tags', notes='my_notes)",
    ): (
        "client.workspace_save(workspace_id='my_wspace', tags='my_tags', notes='my_notes')",
        "an unclosed quote in the example",
    ),
    ("SpikeSorterClient.get_params", "client.sorter_get_params()"): (
        "client.spike_sorter().get_params()",
        "the example names a method that does not exist",
    ),
    ("SpikeSorterClient.get_state", "client.sorter_get_state()"): (
        "client.spike_sorter().get_state()",
        "the example names a method that does not exist",
    ),
    ("SpikeSorterClient.get_dashboard", "client.sorter_get_dashboard()"): (
        "client.spike_sorter().get_dashboard()",
        "the example names a method that does not exist",
    ),
    ("SpikesClient.get_spikes_metadata", "client.get_spikes()"): (
        "client.spikes().get_spikes_metadata()",
        "every SpikesClient example calls a non-existent get_spikes(); the method documented",
    ),
    ("SpikesClient.get_spike_rasters", "client.get_spikes()"): (
        "client.spikes().get_spike_rasters()",
        "as above",
    ),
    ("SpikesClient.get_recent_spikes", "client.get_spikes()"): (
        "client.spikes().get_recent_spikes()",
        "as above",
    ),
    ("SpikesClient.get_neurons", "client.get_spikes()"): (
        "client.spikes().get_neurons()",
        "as above",
    ),
    ("MetricsClient.clear", "client.signal_metrics().clear()"): (
        "client.signal_metrics().clear(dataset_metadata=meta)",
        "Videre/Curate metrics need the dataset (behaviour notes 5.2, 5.4)",
    ),
    ("MetricsClient.calculate", "client.signal_metrics().calculate()"): (
        "client.signal_metrics().calculate(dataset_metadata=meta)",
        "Videre/Curate metrics need the dataset",
    ),
    (
        "MetricsClient.set_event_threshold_level",
        "client.signal_metrics().set_threshold_level(neg_thr=85)",
    ): (
        "client.signal_metrics().set_event_threshold_level(neg_thr=85, dataset_metadata=meta)",
        "the example uses the sorter's method name; the dataset is needed",
    ),
    (
        "MetricsClient.set_event_threshold",
        "client.signal_metrics().set_event_threshold(neg_thr='on')",
    ): (
        "client.signal_metrics().set_event_threshold(neg_thr='on', dataset_metadata=meta)",
        "Videre/Curate metrics need the dataset",
    ),
    ("MetricsClient.set_event_window", "client.signal_metrics().set_event_window(2, 2)"): (
        "client.signal_metrics().set_event_window(2, 2, dataset_metadata=meta)",
        "Videre/Curate metrics need the dataset",
    ),
    ("MetricsClient.set_event_shadow", "client.signal_metrics().set_event_shadow(1)"): (
        "client.signal_metrics().set_event_shadow(1, dataset_metadata=meta)",
        "Videre/Curate metrics need the dataset",
    ),
    (
        "MetricsClient.set_packet_duration",
        "client.signal_metrics().set_packet_duration(neg_thr='on')",
    ): (
        "client.signal_metrics().set_packet_duration(1.0, dataset_metadata=meta)",
        "the example passes another method's keyword; packet_dur_sec is required",
    ),
}
"""(owner, example as written) -> (code that runs, reason)."""

SETUP: dict[str, tuple[str, str]] = {
    "WorkspaceClient.workspace_switch": (
        "client.workspace_save('my_wspace')",
        "the workspace the example switches to",
    ),
    "WorkspaceClient.workspace_delete": (
        "client.workspace_save('my_wspace'); client.workspace_save('other_wspace')",
        "the workspace to delete, and another one current (the current one cannot be deleted)",
    ),
}
"""Context an example group needs before it runs (owner -> (code, reason))."""


# --------------------------------------------------------------------------- the surface
def _class_named(name: str) -> type | None:
    """A class of the blocking API by name: top level, or any ``radiens_async.sync`` module."""
    found = getattr(radiens, name, None)
    if isinstance(found, type):
        return found
    import pkgutil

    import radiens_async.sync as sync_pkg

    for info in pkgutil.iter_modules(sync_pkg.__path__):
        module = __import__(f"radiens_async.sync.{info.name}", fromlist=["_"])
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            return cls
    return None


def _returned_class(parent: type, accessor: str) -> type | None:
    """The class a parent's accessor method returns, from its annotation."""
    fn = getattr(parent, accessor, None)
    if fn is None:
        return None
    try:
        ret = typing.get_type_hints(fn).get("return")
    except Exception:
        ret = getattr(fn, "__annotations__", {}).get("return")
    if isinstance(ret, type):
        return ret
    if isinstance(ret, str):
        return _class_named(ret.rsplit(".", 1)[-1].strip("'\""))
    return None


def implementations(spec_cls: spec_parser.SpecClass) -> tuple[list[tuple[str, type]], list[str]]:
    """``[(where, implementing class)]`` for a documented class, and what could not be found."""
    name = spec_cls.name
    if spec_cls.is_enum:
        cls = getattr(enums_module, name, None)
        return ([(f"radiens.utils.enums.{name}", cls)] if cls else []), (
            [] if cls else [f"radiens.utils.enums.{name} is missing"]
        )
    if name in TOP_LEVEL:
        cls = getattr(radiens, name, None)
        return ([(f"radiens.{name}", cls)] if cls else []), (
            [] if cls else [f"radiens.{name} is missing"]
        )
    accessor = ACCESSOR_OF[name]
    found: list[tuple[str, type]] = []
    problems: list[str] = []
    for parent_name in TOP_LEVEL:
        if accessor not in SPEC.classes[parent_name].methods:
            continue  # the parent does not document this sub-client
        parent = getattr(radiens, parent_name, None)
        sub = _returned_class(parent, accessor) if parent is not None else None
        if sub is None:
            problems.append(f"radiens.{parent_name}.{accessor}() is missing or unannotated")
        else:
            found.append((f"radiens.{parent_name}.{accessor}()", sub))
    return found, problems


def _doc_default(text: str) -> Any:
    return eval(text, {**vars(enums_module)})  # spec defaults: literals and enum members


def _same(doc: Any, impl: Any) -> bool:
    """Equal defaults: lists and tuples alike, enum members equal to their values, but a bool
    never equal to a number and None only to None."""
    if isinstance(doc, list | tuple) and isinstance(impl, list | tuple):
        return list(doc) == list(impl)
    if doc is None or impl is None:
        return doc is impl
    if isinstance(doc, bool) or isinstance(impl, bool):
        return type(doc) is type(impl) and doc == impl
    return bool(doc == impl)


def check_params(doc: tuple[spec_parser.Param, ...], fn: Any) -> list[str]:
    """Differences between documented parameters and a callable's signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        return [f"no signature: {exc}"]
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    P = inspect.Parameter
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    by_name = {p.name: p for p in params}
    problems: list[str] = []
    shifted = False  # a missing parameter moves the later ones: report it once
    for i, d in enumerate(doc):
        if d.kind == "var_positional":
            if not any(p.kind == P.VAR_POSITIONAL for p in params):
                problems.append(f"*{d.name} is not accepted")
            continue
        if d.kind == "var_keyword":
            if not any(p.kind == P.VAR_KEYWORD for p in params):
                problems.append(f"**{d.name} is not accepted")
            continue
        p = by_name.get(d.name)
        if p is None:
            problems.append(f"parameter {d.name!r} is missing")
            shifted = True
            continue
        if (
            d.kind == "positional_or_keyword"
            and not shifted
            and (i >= len(positional) or positional[i].name != d.name)
        ):
            problems.append(f"parameter {d.name!r} is not positional #{i + 1}")
        if d.default is not None:
            expected = _doc_default(d.default)
            if p.default is P.empty:
                problems.append(f"parameter {d.name!r} has no default (documented {d.default})")
            elif not _same(expected, p.default):
                problems.append(
                    f"parameter {d.name!r} defaults to {p.default!r} (documented {d.default})"
                )
    documented = {d.name for d in doc}
    for p in params:
        if (
            p.name not in documented
            and p.default is P.empty
            and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)
        ):
            problems.append(f"undocumented required parameter {p.name!r}")
    return problems


def surface_problems(spec_cls: spec_parser.SpecClass) -> list[str]:
    """Everything documented for ``spec_cls`` that the implementation lacks or does otherwise."""
    found, problems = implementations(spec_cls)
    for where, cls in found:
        if spec_cls.is_enum:
            for member, value in spec_cls.members.items():
                impl = getattr(cls, member, None)
                if impl is None:
                    problems.append(f"{where}.{member} is missing")
                elif impl.value != value:
                    problems.append(f"{where}.{member} = {impl.value!r} (documented {value!r})")
            continue
        if spec_cls.name in TOP_LEVEL:
            problems += [f"{where}(): {p}" for p in check_params(spec_cls.ctor or (), cls)]
        for prop in spec_cls.properties:
            if inspect.getattr_static(cls, prop, None) is None:
                problems.append(f"{where}.{prop} (property) is missing")
        for method in spec_cls.methods.values():
            fn = getattr(cls, method.name, None)
            if fn is None:
                problems.append(f"{where}.{method.name}() is missing")
            elif not callable(fn):
                problems.append(f"{where}.{method.name} is not callable")
            else:
                problems += [f"{where}.{method.name}: {p}" for p in check_params(method.params, fn)]
    return problems


def test_the_spec_is_read_completely() -> None:
    classes = SPEC.classes
    assert set(TOP_LEVEL) | set(ACCESSOR_OF) <= set(classes)
    enums = [c for c in classes.values() if c.is_enum]
    assert len(enums) == 12
    assert classes["MetricName"].members["MAX_MIN_DIFF_ABS_AMPLIFIED"] == 36
    assert len(classes["AllegoClient"].methods) == 23
    assert sum(len(c.methods) for c in classes.values()) == 89
    assert len(SPEC.examples) >= 60
    psd = classes["SignalsClient"].methods["get_psd"]
    assert [p.name for p in psd.params][:3] == ["time_range", "sel_mode", "sig_sel"]
    assert dict((p.name, p.default) for p in psd.params)["scaling"] == "PsdScaling.ABSOLUTE"


@pytest.mark.parametrize("name", list(SPEC.classes))
def test_documented_surface_is_exposed(name: str) -> None:
    problems = surface_problems(SPEC.classes[name])
    assert not problems, f"{len(problems)} difference(s) from the spec:\n  " + "\n  ".join(problems)


def test_utils_surface() -> None:
    """``radiens.utils`` re-exports every documented enum and the sensor aliases."""
    missing = [n for n, c in SPEC.classes.items() if c.is_enum and not hasattr(radiens.utils, n)]
    missing += [n for n in ("HEADSTAGE_ALIAS", "PROBE_ALIAS") if not hasattr(radiens.utils, n)]
    assert not missing, f"radiens.utils lacks {missing}"


# --------------------------------------------------------------------------- the examples
def _example_groups() -> dict[str, list[spec_parser.Example]]:
    groups: dict[str, list[spec_parser.Example]] = {}
    for ex in SPEC.examples:
        groups.setdefault(ex.owner, []).append(ex)
    return groups


GROUPS = _example_groups()


ALLEGO_SIDE = ("AllegoClient", "WorkspaceClient", "SpikeSorterClient", "SpikesClient")
"""Documented classes an Allego serves: their examples run over both wire protocols."""
PROTOCOLS = ("hub", "radiens")
"""``hub``: our radiens.v1 on the hub's own port; ``radiens``: the Radiens protocol on the
hub's Radiens ports, exactly what an Allego app serves."""


WIRE_NAME = {"hub": "radiens.v1", "radiens": "Radiens"}


def _runs() -> list[tuple[str, str]]:
    return [
        (owner, protocol)
        for owner in GROUPS
        for protocol in (PROTOCOLS if owner.split(".")[0] in ALLEGO_SIDE else ("hub",))
    ]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("conformance-hub"), radiens_base_port=0) as process:
        yield process


def _allego_address(hub: HubProcess, protocol: str) -> str:
    return hub.radiens_address if protocol == "radiens" else hub.address


def _namespace(
    owner: str, hub: HubProcess, workdir: Path, protocol: str = "hub"
) -> tuple[dict[str, Any], list[Any]]:
    """Where an example runs: ``client`` is the documented class's object; bare calls of that
    class's methods are bound to it; the enums of ``radiens.utils`` are in scope."""
    cls_name = owner.split(".")[0]
    ns: dict[str, Any] = {"radiens": radiens, **vars(enums_module)}
    closers: list[Any] = []
    if cls_name in ALLEGO_SIDE:
        allego = radiens.AllegoClient(_allego_address(hub, protocol), protocol=protocol)
        closers.append(allego)
        allego.set_streaming("off")
        allego.restart("sim-spikes")
        assert allego.protocol == WIRE_NAME[protocol]
        ns["client"] = allego.workspace() if cls_name == "WorkspaceClient" else allego
        if cls_name in ("SpikeSorterClient", "SpikesClient"):
            allego.set_streaming("on")
    elif cls_name == "CurateClient":
        curate = radiens.CurateClient(hub.address)
        closers.append(curate)
        ns["client"] = curate
    elif cls_name == "MetricsClient":
        videre = radiens.VidereClient(hub.address)
        closers.append(videre)
        rec = write_curate_recording(workdir, "metrics_rec", n=60_000)
        ns["meta"] = videre.link_data_file(rec.path)
        ns["client"] = videre
    if cls_name in SPEC.classes and "client" in ns:
        for method in SPEC.classes[cls_name].methods:
            bound = getattr(ns["client"], method, None)
            if bound is not None:
                ns.setdefault(method, bound)
    return ns, closers


@pytest.mark.integration
@pytest.mark.parametrize(("owner", "protocol"), _runs())
def test_spec_example_runs(
    owner: str, protocol: str, hub: HubProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # './my_source_file' of the Curate examples, '~/radix/data' of set_recording_config
    home = tmp_path / "home"
    (home / "radix" / "data").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    if owner.startswith("CurateClient."):  # 10.5 s, 14 channels (slices need 10 s, channel 8)
        write_curate_recording(
            tmp_path,
            "my_source_file",
            n=315_000,
            channels=curate_channels(n_amp=12),
            first_sample=0,
        )
    ns, closers = _namespace(owner, hub, tmp_path, protocol)
    try:
        if owner in SETUP:
            exec(SETUP[owner][0], ns)
        for ex in GROUPS[owner]:
            code, _reason = CORRECTIONS.get((owner, ex.code), (ex.code, ""))
            if code in HARDWARE_ONLY:
                continue
            try:
                exec(compile(code, f"<spec line {ex.line}>", "exec"), ns)
            except Exception as exc:
                raise AssertionError(
                    f"spec example at line {ex.line} ({owner}, {protocol}) failed: {code!r}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
    finally:
        for client in closers:
            if isinstance(client, radiens.AllegoClient):
                client.set_recording("off")
                client.set_streaming("off")
            client.close()


def test_every_correction_applies_to_an_example() -> None:
    written = {(ex.owner, ex.code) for ex in SPEC.examples}
    unused = [key for key in CORRECTIONS if key not in written]
    assert not unused, f"corrections that match no example: {unused}"


@pytest.mark.integration
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", HARDWARE_MODES)
def test_hardware_modes_fail_clearly_and_change_nothing(
    hub: HubProcess, mode: str, protocol: str
) -> None:
    with radiens.AllegoClient(_allego_address(hub, protocol), protocol=protocol) as client:
        client.restart("sim-spikes")
        before = client.get_status().system_mode
        with pytest.raises(FailedPrecondition, match="hardware"):
            client.restart(mode)
        assert client.get_status().system_mode == before
