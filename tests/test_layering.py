"""Imports run one way (DESIGN §8): apps → signaling → signaling.protocol; the server never imports
kiosk, staff_console, signaling.peer/media/call or signaling.qt; kiosk and console never import
server or each other; signaling.protocol imports only pydantic and the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)

RULES: dict[str, tuple[str, ...]] = {
    "server": ("kiosk", "staff_console", "signaling.peer", "signaling.media", "signaling.call", "signaling.qt"),
    "kiosk": ("server", "staff_console"),
    "staff_console": ("server", "kiosk"),
    "signaling": ("server", "kiosk", "staff_console"),
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(RULES))
def test_forbidden_imports(package: str) -> None:
    bad = []
    for path in files(package):
        for mod in imports_of(path):
            if any(mod == f or mod.startswith(f + ".") for f in RULES[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_protocol_is_pure() -> None:
    bad = []
    for path in files("signaling/protocol"):
        for mod in imports_of(path):
            top = mod.split(".")[0]
            if top not in STDLIB and top not in ("pydantic", "signaling", "__future__"):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
            if top == "signaling" and not mod.startswith("signaling.protocol"):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_widgets_never_touch_io() -> None:
    """ui/ modules render state and emit intents; sockets, peers and the database belong to controllers."""
    io = ("signaling.client", "signaling.peer", "signaling.call", "websockets", "httpx", "sqlalchemy", "aiortc")
    bad = []
    for app in ("kiosk", "staff_console"):
        for path in sorted((ROOT / app / "ui").rglob("*.py")):
            for mod in imports_of(path):
                if any(mod == m or mod.startswith(m + ".") for m in io):
                    bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_the_queue_decides_and_never_sends() -> None:
    """server/queue returns outboxes: it imports no hub, no delivery, no FastAPI, and has no imports
    inside functions (they hid an import cycle once)."""
    bad = []
    for path in files("server/queue"):
        tree = ast.parse(path.read_text("utf-8"))
        for mod in imports_of(path):
            if mod in ("signaling.hub", "server.delivery", "server.context", "fastapi") or mod.startswith("fastapi."):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports inside {fn.name}()")
    assert not bad, "\n".join(bad)


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_import_cycles_in_server_and_signaling() -> None:
    """Module-level imports form no cycle (a cycle is what forced function-local imports before)."""
    modules = {_module_of(p): p for pkg in ("server", "signaling") for p in files(pkg)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"))
        deps: set[str] = set()
        for node in tree.body:  # module level only; TYPE_CHECKING blocks are not run
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:  # "from pkg import submodule" depends on the submodule, else on pkg
                    sub = f"{node.module}.{a.name}"
                    deps.add(sub if sub in modules else node.module)
        graph[name] = {d for d in deps if d in modules and d != name}
    seen: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles: list[list[str]] = []

    def visit(n: str, stack: list[str]) -> None:
        seen[n] = 1
        for d in sorted(graph[n]):
            if seen.get(d) == 1:
                cycles.append([*stack[stack.index(d):], d])
            elif d not in seen:
                visit(d, [*stack, d])
        seen[n] = 2

    for n in sorted(graph):
        if n not in seen:
            visit(n, [n])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)
