"""core/ must never import Qt: checked statically (every import statement) and at run time."""

import ast
import subprocess
import sys
from pathlib import Path

import quoradup_gui.core

FORBIDDEN = ("PySide6", "shiboken6", "qasync", "pyqtgraph", "PyQt5", "PyQt6")
CORE = Path(quoradup_gui.core.__file__).parent


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # A relative import that climbs out of core lands in quoradup_gui: record its target.
            depth_in_core = len(path.relative_to(CORE).parts) - 1
            if node.level > depth_in_core + 1:
                names.append("quoradup_gui." + (node.module or ""))
    return names


def test_no_core_module_imports_qt():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) >= 5
    offenders = {
        str(path.relative_to(CORE)): name
        for path in modules
        for name in _imported_names(path)
        if name.split(".")[0] in FORBIDDEN or name.startswith(("quoradup_gui.gui", "quoradup_gui.cli"))
    }
    assert offenders == {}


def test_importing_all_of_core_loads_no_qt():
    modules = [
        "quoradup_gui.core." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py")
        if p.name != "__init__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
