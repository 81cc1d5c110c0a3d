"""Read the documented API (``spec/radiens-python-api.txt``): classes, methods, parameters,
properties, enum members and ``>>>`` examples, each with where it was documented.

The text is the Sphinx page rendered as plain text: a class starts with ``class radiens...``, a
method with its signature alone on a line (``restart(mode)``), a property with
``property <name>``, an enum member with ``NAME = value``; examples are ``>>>`` lines.
"""

from __future__ import annotations

import ast
import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

SPEC_NAME = "radiens-python-api.txt"

_CLASS = re.compile(r"^class (radiens(?:\.\w+)*)\.(\w+)(?:\((.*)\))?$")
_PROPERTY = re.compile(r"^property (\w+)$")
_SIGNATURE = re.compile(r"^([a-z_]\w*)\((.*)\)$")
_MEMBER = re.compile(r"^([A-Z][A-Za-z0-9_]*) = (.+)$")


def spec_dir() -> Path:
    """``<repo>/../shared/spec`` (CI checks the repo out with ``../shared`` beside it)."""
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "spec"


@dataclass(frozen=True)
class Param:
    """One documented parameter; ``default`` is the source text (None: no default)."""

    name: str
    default: str | None
    kind: str = "positional_or_keyword"  # or 'var_positional', 'keyword_only', 'var_keyword'


@dataclass(frozen=True)
class Method:
    name: str
    params: tuple[Param, ...]
    line: int


@dataclass(frozen=True)
class Example:
    code: str
    line: int
    owner: str  # "<Class>.<method>" the example is documented under


@dataclass
class SpecClass:
    """A documented class: ``module`` is its dotted path (``radiens.utils.enums``)."""

    module: str
    name: str
    ctor: tuple[Param, ...] | None
    line: int
    methods: dict[str, Method] = field(default_factory=dict)
    properties: list[str] = field(default_factory=list)
    members: dict[str, object] = field(default_factory=dict)

    @property
    def is_enum(self) -> bool:
        return self.module.endswith(".enums")

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class Spec:
    classes: dict[str, SpecClass]
    examples: list[Example]


def parse_params(text: str) -> tuple[Param, ...] | None:
    """The parameters of ``name(<text>)``, or None when it is not a Python signature."""
    try:
        fn = ast.parse(f"def f({text}): pass").body[0]
    except SyntaxError:
        return None
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    out: list[Param] = []
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    defaults += list(a.defaults)
    for arg, d in zip(positional, defaults, strict=True):
        out.append(Param(arg.arg, None if d is None else ast.unparse(d)))
    if a.vararg is not None:
        out.append(Param(a.vararg.arg, None, "var_positional"))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(Param(arg.arg, None if d is None else ast.unparse(d), "keyword_only"))
    if a.kwarg is not None:
        out.append(Param(a.kwarg.arg, None, "var_keyword"))
    return tuple(out)


def parse(path: Path | None = None) -> Spec:
    """Parse the spec file (default: :func:`spec_dir` / ``radiens-python-api.txt``)."""
    path = path or spec_dir() / SPEC_NAME
    classes: dict[str, SpecClass] = {}
    examples: list[Example] = []
    current: SpecClass | None = None
    method: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith(">>>"):
            code = line[3:].strip()
            owner = f"{current.name if current else '?'}.{method or '?'}"
            examples.append(Example(code, number, owner))
            continue
        m = _CLASS.match(line)
        if m:
            module, name, ctor = m.groups()
            ctor_params = parse_params(ctor) if ctor is not None else None
            current = SpecClass(module, name, ctor_params, number)
            classes.setdefault(name, current)
            method = None
            continue
        if current is None:
            continue
        m = _PROPERTY.match(line)
        if m:
            if m.group(1) not in current.properties:
                current.properties.append(m.group(1))
            method = m.group(1)
            continue
        if current.is_enum:
            m = _MEMBER.match(line)
            if m:
                with contextlib.suppress(ValueError, SyntaxError):
                    current.members[m.group(1)] = ast.literal_eval(m.group(2))
            continue
        m = _SIGNATURE.match(line)
        if m:
            params = parse_params(m.group(2))
            if params is not None and m.group(1) not in current.methods:
                current.methods[m.group(1)] = Method(m.group(1), params, number)
                method = m.group(1)
    return Spec(classes, examples)
