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
