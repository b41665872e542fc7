"""The package layout stays the architecture (docs/architecture.md): grader's imports form
no circle and only point down its layers, no `except ImportError` decides what runs, and
modules, functions and classes keep to the house's sizes. Read from the source with ast,
nothing imported."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("grader", "model")
# grader's layers, lowest first: a module imports only from its own layer or lower ones,
# and the parts of one layer do not import each other (a part's own modules may).
LAYERS = [
    ["grader.errors"],
    ["grader.safeio", "grader.console"],
    ["grader.kit"],
    ["grader.data"],
    ["grader.results"],
    ["grader.integrity"],
    ["grader.sandbox"],  # its view holds the modules the gate allows a submission
    ["grader.grading"],
    ["grader.reports"],
    ["grader.classes", "grader.playground", "grader.bundle"],
    ["grader.cli"],
    ["grader", "grader.__main__"],
]
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_CLASS_LINES = 300, 60, 150
MAX_TOP_MODULES = 12


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return found


SOURCES = sources()


def imported(name: str, path: Path, tree: ast.Module) -> set[str]:
    """The modules of this tree that a module imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            stem = ".".join([*base, *([node.module] if node.module else [])])
            targets = [stem, *(f"{stem}.{alias.name}" for alias in node.names)]
        else:
            continue
        out |= {t for t in targets if t in SOURCES and t != name}
    return out


GRAPH = {name: imported(name, path, tree) for name, (path, tree) in SOURCES.items()}


def layer_of(name: str) -> tuple[int, str]:
    """(layer index, part) of a grader module: the longest part that holds it."""
    best = None
    for index, parts in enumerate(LAYERS):
        for part in parts:
            if (name == part or name.startswith(part + ".")) and (best is None or len(part) > len(best[1])):
                best = (index, part)
    assert best is not None, f"{name} is on no layer of tests/test_layout.py: place it"
    return best


def test_no_import_circle():
    state, circles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == "open":
                circles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"
    for start in sorted(GRAPH):
        if start not in state:
            visit(start, [start])
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_imports_only_point_down():
    wrong = []
    for name, targets in GRAPH.items():
        if not name.startswith("grader"):
            continue
        here, part = layer_of(name)
        for target in targets:
            if not target.startswith("grader"):
                continue
            there, other = layer_of(target)
            if there > here or (there == here and other != part and name != "grader"):
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports that run up or sideways: " + ", ".join(sorted(wrong))


def test_no_import_error_decides_what_the_grader_runs():
    """Whether a part of the grader is there is never decided by `except ImportError` around
    importing it: a real import bug would silently turn the part off (the kit's files decide,
    grader.kit.has_ground_truth). Optional outside modules (readline, bubblewrap's wheel) may."""
    def own_import(node):
        return isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("grader")) \
            or isinstance(node, ast.Import) and any(a.name.startswith("grader") for a in node.names)
    guarded = [name for name, (_, tree) in SOURCES.items() for node in ast.walk(tree)
               if isinstance(node, ast.Try) and any(own_import(n) for stmt in node.body for n in ast.walk(stmt))
               and any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
                       for handler in node.handlers for n in ast.walk(handler.type or ast.Constant(None)))]
    assert not guarded, f"except ImportError around the grader's own imports in {guarded}"


def test_grader_holds_few_modules_and_a_package_per_role():
    top = sorted(p.name for p in (ROOT / "grader").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    roles = {"data", "integrity", "sandbox", "grading", "reports", "classes", "playground", "cli"}
    assert roles <= {p.parent.name for p in (ROOT / "grader").glob("*/__init__.py")}


@pytest.mark.parametrize("name", sorted(name for name in SOURCES if name.startswith("grader")))
def test_sizes(name):
    path, tree = SOURCES[name]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: {lines} lines"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            size = node.end_lineno - node.lineno + 1
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            assert size <= limit, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size} lines"
