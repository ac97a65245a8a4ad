"""deploy/bootstrap.sh leaves the project's bytecode in place: the kiosk runs as a user who cannot write the
installed tree, and without it every start compiled every module again before the first frame."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bootstrap_compiles_the_projects_modules(tmp_path):
    tree = tmp_path / "govkiosk"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("kiosk", "devices", "screens"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    (tree / "deploy").mkdir()
    shutil.copy2(ROOT / "deploy" / "bootstrap.sh", tree / "deploy" / "bootstrap.sh")
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    # An environment already set up (its interpreter there, its install stamp newer than pyproject.toml), so the
    # script goes straight past the install to what follows it.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".kiosk-installed").touch()
    sources = [tree / "kiosk" / "config.py", tree / "screens" / "app.py", tree / "devices" / "idcard" / "reader.py"]
    compiled = [Path(importlib.util.cache_from_source(str(s))) for s in sources]
    assert not any(c.exists() for c in compiled)

    env = {**os.environ, "KIOSK_VENV": str(venv), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(["bash", str(tree / "deploy" / "bootstrap.sh"), "--no-system"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for source, pyc in zip(sources, compiled):
        assert pyc.is_file(), f"no bytecode for {source.relative_to(tree)}"
        assert pyc.stat().st_size > 0
