"""The layout's rules, read from the source with `ast` (nothing is imported, so a broken module
cannot hide an edge):

- no library (`libs/*`) imports a service (`services/*`);
- no service imports another service, except audit, which may import only the other services'
  pure domain (`mend_<service>.domain...`), and that domain reaches none of its service's I/O;
- nothing imports the audit service;
- no import cycle among the modules of a package;
- no production package (`libs/*`, `services/*`, tests excluded) imports pytest or the testkit.

`MEND_ARCHITECTURE_ROOT` points the checks at another checkout (the tree before the layout
changed fails them).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("MEND_ARCHITECTURE_ROOT") or Path(__file__).resolve().parents[2])
# Only the auditors' service reads across services: it folds their events with their own deciders.
READS_OTHER_DOMAINS = "mend_audit"
DEV_ONLY = ("pytest", "_pytest", "mend_testkit")
# A module that talks to the world: by its role in the skeleton, or by what it imports.
IO_ROLES = {"service", "api", "app", "projections", "read_models", "reactions", "store", "server"}
IO_LIBRARIES = {"asyncpg", "aiokafka", "faststream", "fastapi", "httpx", "uvicorn"}


@dataclass
class Package:
    name: str  # the top-level import name, e.g. mend_consent
    kind: str  # "libs" or "services"
    modules: dict[str, Path] = field(default_factory=dict)  # dotted name -> file


@cache
def packages() -> dict[str, Package]:
    found: dict[str, Package] = {}
    for kind in ("libs", "services"):
        for init in sorted(ROOT.glob(f"{kind}/*/mend_*/__init__.py")):
            top = init.parent
            package = Package(top.name, kind)
            for path in sorted(top.rglob("*.py")):
                parts = path.relative_to(top.parent).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                package.modules[".".join(parts)] = path
            found[package.name] = package
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_runtime(tree: ast.AST):
    """Every node, leaving out `if TYPE_CHECKING:` blocks (no import happens there at run time).
    Imports inside functions count: a lazy import is still an import."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


@cache
def imports_of(module: str, path: Path) -> frozenset[str]:
    """The dotted names a module imports: `from a.b import c` gives `a.b.c` when that is a
    module of the tree, else `a.b`."""
    known = {m for p in packages().values() for m in p.modules}
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in _walk_runtime(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in known else base)
    return frozenset(out)


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _edges(package: Package):
    for module, path in package.modules.items():
        for target in sorted(imports_of(module, path)):
            yield module, target


def _services() -> dict[str, Package]:
    return {n: p for n, p in packages().items() if p.kind == "services"}


def _is_domain(target: str) -> bool:
    parts = target.split(".")
    return len(parts) >= 2 and parts[1] == "domain"


def test_the_tree_has_libraries_and_services() -> None:
    kinds = {p.kind for p in packages().values()}
    assert kinds == {"libs", "services"}, f"no packages found under {ROOT}"


def test_no_library_imports_a_service() -> None:
    services = set(_services())
    found = [
        f"{module} imports {target}"
        for package in packages().values()
        if package.kind == "libs"
        for module, target in _edges(package)
        if _top(target) in services
    ]
    assert found == []


def test_services_import_only_other_services_pure_domains() -> None:
    services = set(_services())
    found = []
    for package in _services().values():
        for module, target in _edges(package):
            other = _top(target)
            if other not in services or other == package.name:
                continue
            if package.name == READS_OTHER_DOMAINS and _is_domain(target):
                continue
            found.append(f"{module} imports {target}")
    assert found == []


def test_nothing_imports_the_audit_service() -> None:
    found = [
        f"{module} imports {target}"
        for package in packages().values()
        if package.name != READS_OTHER_DOMAINS
        for module, target in _edges(package)
        if _top(target) == READS_OTHER_DOMAINS
    ]
    assert found == []


def _io_reasons(module: str, path: Path) -> list[str]:
    reasons = []
    if module.rsplit(".", 1)[-1] in IO_ROLES:
        reasons.append("is an I/O module")
    libraries = sorted({_top(t) for t in imports_of(module, path)} & IO_LIBRARIES)
    if libraries:
        reasons.append(f"imports {', '.join(libraries)}")
    return reasons


def test_the_domains_audit_reads_reach_no_io() -> None:
    """What audit imports of another service, and everything of that service it pulls in."""
    audit = packages().get(READS_OTHER_DOMAINS)
    if audit is None:
        pytest.fail("no audit service in the tree")
    modules = {m: p for package in _services().values() for m, p in package.modules.items()}
    todo = [t for _, t in _edges(audit) if _top(t) != audit.name and t in modules]
    seen: set[str] = set()
    found = []
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        found += [f"{module} {why}" for why in _io_reasons(module, modules[module])]
        todo += [t for t in imports_of(module, modules[module]) if t in modules]
    assert found == []


def _cycles(package: Package) -> list[list[str]]:
    graph = {
        m: sorted(t for t in imports_of(m, p) if t in package.modules)
        for m, p in package.modules.items()
    }
    # Tarjan's strongly connected components: every component of more than one module, or a
    # module importing itself, is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph[node]:
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_no_import_cycle_within_a_package() -> None:
    found = {name: _cycles(package) for name, package in packages().items()}
    assert {name: cycles for name, cycles in found.items() if cycles} == {}


def test_no_production_package_imports_pytest_or_the_testkit() -> None:
    found = [
        f"{module} imports {target}"
        for package in packages().values()
        for module, target in _edges(package)
        if _top(target) in DEV_ONLY
    ]
    assert found == []
