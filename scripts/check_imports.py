"""Fail on any import cycle among ingest_tasks' modules, and on any import against the layers.

Every import counts, those inside functions too. The layers, each importing only those
below it (its own package aside):

    cost (`ingest cost`: an add-on the CLI finds by its entry point)
    interfaces
    testing (helpers of tests and benchmarks)
    ops
    sync
    lanes
    bluegreen
    pipeline
    state, store
    core

Run: python scripts/check_imports.py  (exit 1 and one line per problem when there are any)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ingest_tasks"
LAYERS = {
    "core": 0, "state": 1, "store": 1, "pipeline": 2, "bluegreen": 3, "lanes": 4,
    "sync": 5, "ops": 6, "testing": 7, "interfaces": 8, "cost": 9,
}


def module_name(path: Path) -> str:
    """ingest_tasks.a.b for ingest_tasks/a/b.py (and for ingest_tasks/a/b/__init__.py)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The project's modules that `path` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_name(path).split(".")
                keep = len(package) - node.level + (path.name == "__init__.py")
                base = ".".join([*package[:keep], *([base] if base else [])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    """Each module of the package and the modules it imports."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imports(path, set(paths)) for name, path in paths.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> int | None:
    """The layer of a module's package, or None for the package's own __init__."""
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 2 or parts[1:] and parts[1] in LAYERS else None


def against_layers(edges: dict[str, set[str]]) -> list[str]:
    """Imports from a package to one of its layer or above (its own package aside)."""
    wrong = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            if module.split(".")[:2] == target.split(".")[:2]:
                continue
            mine, theirs = layer(module), layer(target)
            if mine is not None and theirs is not None and theirs >= mine:
                wrong.append(f"layers: {module} imports {target}")
    return wrong


def main() -> int:
    """Print every cycle and layer violation; 1 if there are any."""
    edges = graph()
    problems = [f"cycle: {' <-> '.join(group)}" for group in cycles(edges)]
    problems += against_layers(edges)
    for line in problems:
        print(line)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports: "
          f"{len(problems) or 'no'} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
