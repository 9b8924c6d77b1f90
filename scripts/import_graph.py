"""Print the import graph between the children of a package, and its cycles.

    .venv/bin/python scripts/import_graph.py alerts [scheduling ...]

Uses grimp (import-linter's graph builder), so imports inside functions count,
exactly as for the contracts that `make test` checks.  An arrow ``a -> b`` means
some module in ``a`` imports some module in ``b``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def children(graph: grimp.ImportGraph, package: str) -> list[str]:
    return sorted(m for m in graph.find_children(package) if ".migrations" not in m)


def edges(graph: grimp.ImportGraph, package: str) -> dict[str, set[str]]:
    kids = children(graph, package)
    out: dict[str, set[str]] = {k: set() for k in kids}
    for a in kids:
        for b in kids:
            if a != b and graph.direct_import_exists(
                importer=a, imported=b, as_packages=True
            ):
                out[a].add(b)
    return out


def _pop_component(stack: list[str], root: str) -> list[str]:
    """Pop Tarjan's stack down to ``root``: the members of root's component."""
    scc = []
    while True:
        w = stack.pop()
        scc.append(w)
        if w == root:
            return scc


def cycles(out: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in out[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = _pop_component(stack, v)
            if len(scc) > 1:
                found.append(sorted(scc))

    for v in out:
        if v not in index:
            visit(v)
    return found


def main(packages: list[str]) -> None:
    graph = grimp.build_graph(*sorted({p.split(".")[0] for p in packages}))
    for package in packages:
        out = edges(graph, package)
        short = {k: k.removeprefix(package + ".") for k in out}
        print(f"# {package}: {len(out)} children, {sum(map(len, out.values()))} arrows")
        for a in sorted(out):
            targets = ", ".join(short[b] for b in sorted(out[a])) or "-"
            print(f"{short[a]:>16} -> {targets}")
        found = cycles(out)
        print(f"cycles: {len(found)}")
        for scc in found:
            print("  " + " <-> ".join(short[m] for m in scc))
        print()


if __name__ == "__main__":
    main(sys.argv[1:] or ["alerts"])
