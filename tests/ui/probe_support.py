"""Run a probe script beside the UI tests (Kivy offscreen, in a process of its own) and read its RESULT line."""
import json
import subprocess
import sys
from pathlib import Path


def run_probe(script: str, *args: str, timeout: float = 120) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name(script)), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])
