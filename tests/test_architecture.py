"""Structure rules: the layer contracts (import-linter), no import cycles inside a layer, tests use public names.\n\nThe layers and "nothing outside bench.world imports it" are import-linter contracts in pyproject.toml; the\nast cycle test stays because the layers say nothing about modules of one package importing each other.\n"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def module_name(path: Path) -> str:
    parts = path.relative_to(BENCH.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def bench_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(BENCH.rglob("*.py"))}


_MODULES = set(bench_modules())


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside functions (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
            # (A parent package's __init__ also runs, but it is not counted: every module would import `bench`.)
            out.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in _MODULES else base
                       for alias in node.names)
    return out




def test_the_layer_contracts_hold():
    """lint-imports (import-linter) checks the layers and the world's confinement in pyproject.toml."""
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=BENCH.parent,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_a_function_level_upward_import_breaks_the_layers(tmp_path):
    """The contract counts imports inside functions: a low layer importing a high one in a function fails."""
    pkg = tmp_path / "demo_pkg"
    for name in ("high", "low"):
        (pkg / name).mkdir(parents=True)
        (pkg / name / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "high" / "a.py").write_text("from demo_pkg.low import b\n")
    (pkg / "low" / "b.py").write_text("def f():\n    from demo_pkg.high import a\n    return a\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = demo_pkg\n\n[importlinter:contract:layers]\nname = layers\n"
        "type = layers\ncontainers = demo_pkg\nlayers =\n    high\n    low\n")
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config", ".importlinter"],
                          cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 1, done.stdout
    assert "demo_pkg.low.b -> demo_pkg.high.a" in done.stdout


def import_graph() -> dict[str, set[str]]:
    """bench module -> the bench modules it imports (a `from pkg import mod` counts as importing mod)."""
    modules = bench_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target in imports(path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("bench") and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_bench_modules():
    assert cycles(import_graph()) == []


def private_uses(path: Path) -> list[str]:
    """`from bench... import _name` and calls `x._name(...)` in a test file (its own helpers excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench"):
            out += [f"{path.name}:{node.lineno} imports {node.module}.{a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr.startswith("_") and not node.func.attr.startswith("__")
              and not (isinstance(node.func.value, ast.Name) and node.func.value.id in ("self", "cls"))):
            out.append(f"{path.name}:{node.lineno} calls .{node.func.attr}()")
    return out


def test_no_test_calls_a_private_function_of_another_module():
    tests = Path(__file__).resolve().parent
    assert [use for f in sorted(tests.rglob("*.py")) for use in private_uses(f)] == []
