"""The engine must not pull in a UI library: `nixdeck status` starts fast and
the engine can be used without a terminal. Each module is imported in a fresh
interpreter, where nothing else could have loaded textual or rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
UI_MODULES = {"console.app"}
ENGINE_MODULES = sorted(
    f"{package}.{path.stem}"
    for package in ("console", "config")
    for path in (ROOT / package).glob("*.py")
    if path.stem not in {"__init__", "__main__"} and f"{package}.{path.stem}" not in UI_MODULES
)

PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
loaded = sorted(name for name in sys.modules if name.split(".")[0] in {"textual", "rich"})
print(",".join(loaded))
"""


def test_every_engine_module_is_checked() -> None:
    assert {"console.host", "console.ssh", "console.fleet", "console.status", "console.cli", "config.settings"} <= set(
        ENGINE_MODULES
    )


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engine_module_imports_no_ui(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


# What the console's first frame must not wait for: these load after it.
LOADED_AFTER_FIRST_FRAME = ("pydantic", "pydantic_settings", "asyncssh", "config.settings", "console.fleet",
                            "screens.fleet", "widgets.fleet_table")

FIRST_FRAME_PROBE = """
import sys
from config.loader import read_config
from console.app import NixdeckApp
from screens.starting import StartingScreen
NixdeckApp(read_config(None))
print(",".join(sorted(name for name in sys.modules if name.startswith(tuple(sys.argv[1:])))))
"""


def test_the_console_draws_its_first_frame_before_loading_pydantic_and_the_engine(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", FIRST_FRAME_PROBE, *LOADED_AFTER_FIRST_FRAME],
                            capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
                            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded before the first frame: {result.stdout.strip()}"
