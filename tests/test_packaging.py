"""A non-editable install carries every package, the schema, the Lua scripts and the console."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.slow


def test_the_wheel_holds_every_module_and_asset(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("contactd-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for top in ("contactd", "router", "channels"):
        for source in (ROOT / top).rglob("*.py"):
            assert str(source.relative_to(ROOT)) in names, source
    for pattern, where in (("migrations/*.sql", "contactd"), ("lua/*.lua", "router")):
        for asset in (ROOT / where).glob(pattern):
            assert str(asset.relative_to(ROOT)) in names, asset
    for asset in (ROOT / "agent-console").rglob("*"):
        if asset.is_file() and asset.suffix in (".html", ".js", ".css"):
            assert "agent_console/" + str(asset.relative_to(ROOT / "agent-console")) in names, asset
    assert "agent_console/console/index.html" in names and "agent_console/chat/widget.js" in names
