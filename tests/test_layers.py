"""The package's layers import only downward, and no two top-level packages import each other.

Every module under ``src/topoaudio_zoo`` is read with ``ast`` (not imported), so a new module
is covered as soon as it exists. A new top-level module that imports nothing of the package is
a leaf (bottom layer); one that imports the package fails until it is placed in ``LAYERS``.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "topoaudio_zoo"

# Bottom to top: a module imports from its own layer or a lower one.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {"cochleagram", "backbones", "topography", "audio", "torchaudio_backend", "atomic"}
        | {"stimuli", "devices", "plotting"}  # plotting: matplotlib figures, no science
    ),
    frozenset({"data", "zoo"}),
    frozenset({"training", "analysis", "brain", "maps", "hear"}),
    frozenset({"cli"}),
)
ROOT = "<package>"  # topoaudio_zoo/__init__.py: the lazy public facade, above every layer
ROOT_NAMES_ALLOWED = {"__version__"}  # set by the facade from package metadata, no imports


def _unit(path: Path) -> str:
    """The top-level package or module a file belongs to (``zoo``, ``audio``, ...)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ROOT if parts == ("__init__",) else parts[0]


def _imported_units(path: Path) -> set[tuple[str, str]]:
    """``(unit, imported name)`` for every import of this package in ``path``, lazy ones and
    those under ``TYPE_CHECKING`` included."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules = [a.name.split(".")[1:] for a in node.names]
            modules = [m for a, m in zip(node.names, modules, strict=True) if _ours(a.name)]
            found |= {(m[0] if m else ROOT, "") for m in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = base + (node.module.split(".") if node.module else [])
            elif _ours(node.module or ""):
                module = node.module.split(".")[1:]
            else:
                continue
            if module:
                found.add((module[0], ""))
            else:  # ``from .. import x``: a subpackage, or a name defined by the facade
                for alias in node.names:
                    is_unit = (PACKAGE / alias.name).is_dir() or (
                        PACKAGE / f"{alias.name}.py"
                    ).is_file()
                    found.add((alias.name, "") if is_unit else (ROOT, alias.name))
    return found


def _ours(module: str) -> bool:
    return module == "topoaudio_zoo" or module.startswith("topoaudio_zoo.")


def _layer(unit: str) -> int:
    if unit == ROOT:
        return len(LAYERS)
    for level, units in enumerate(LAYERS):
        if unit in units:
            return level
    if unit not in _graph():
        return 0  # a leaf: it imports nothing of the package
    raise AssertionError(
        f"src/topoaudio_zoo/{unit}: in no layer; add it to LAYERS in tests/test_layers.py"
    )


@functools.cache
def _graph() -> dict[str, dict[str, list[str]]]:
    """``{unit: {imported unit: [files importing it]}}``, between different units."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        for target, name in _imported_units(path):
            if target != unit and not (target == ROOT and name in ROOT_NAMES_ALLOWED):
                graph.setdefault(unit, {}).setdefault(target, []).append(
                    str(path.relative_to(PACKAGE.parent))
                )
    return graph


def test_every_module_belongs_to_a_layer():
    units = {_unit(path) for path in PACKAGE.rglob("*.py")}
    assert {"cochleagram", "zoo", "training", "cli"} <= units  # the walk found the package
    for unit in units:
        _layer(unit)


def test_modules_import_only_their_own_layer_or_lower():
    upward = [
        f"{file} ({unit}, layer {_layer(unit)}) imports {target} (layer {_layer(target)})"
        for unit, targets in _graph().items()
        for target, files in targets.items()
        for file in files
        if _layer(target) > _layer(unit)
    ]
    assert not upward, "\n".join(upward)


def test_no_two_units_import_each_other_even_through_others():
    graph = {unit: set(targets) for unit, targets in _graph().items()}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(unit for unit in graph if unit in reachable(unit))
    assert not cycles, f"import cycles through {cycles}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..training.module import TopoAudioModule", {("training", "")}),
        ("from .. import training", {("training", "")}),
        ("from .. import __version__", {(ROOT, "__version__")}),
        ("import topoaudio_zoo.training.export", {("training", "")}),
        ("from topoaudio_zoo.zoo import model", {("zoo", "")}),
        ("from .weights import x", {("zoo", "")}),
        ("import torch", set()),
    ],
)
def test_imports_are_resolved_to_the_units_they_load(source, expected, tmp_path, monkeypatch):
    """The reader itself: relative and absolute forms, seen from a module of ``zoo/``."""
    path = PACKAGE / "zoo" / "some_module.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert _imported_units(path) == expected
