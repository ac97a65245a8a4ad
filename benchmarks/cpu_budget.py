"""Where a benchmark's CPU went, read from /proc (Linux): the whole machine (all cores' busy time), the PostgreSQL
server's processes, the benchmark's own process and the server processes it started. On a shared two-core machine
a rate follows the CPU each unit of work costs on all sides; these readings say which side pays it."""
from __future__ import annotations

import os
from pathlib import Path


def cpu_split_seconds(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU time a process has used so far, threads included, from /proc (None where there is no
    /proc or the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from /proc (None where there is no /proc)."""
    split = cpu_split_seconds(pid)
    return None if split is None else sum(split)


class CpuMeter:
    """Where a run's CPU went, from /proc: the whole machine (busy time of all cores), the PostgreSQL server's
    processes, this process (the clients, or pgqueuer) and the given server processes. `ms_per(n)` after `stop()`
    gives milliseconds of each per request; None for what could not be read (no /proc, a remote database)."""

    def __init__(self, server_pids: list[int] | None = None) -> None:
        self.server_pids = server_pids or []
        self.begin = self._snapshot()
        self.end: dict | None = None

    @staticmethod
    def _machine() -> float | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait (guest time is inside user)
        return busy / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _database() -> dict[int, float]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == "postgres":
                        found[int(entry.name)] = cpu_seconds(int(entry.name)) or 0.0
                except OSError:
                    continue
        return found

    def _snapshot(self) -> dict:
        t = os.times()
        return {"machine": self._machine(), "database": self._database(), "self": t.user + t.system,
                "servers": [cpu_seconds(pid) for pid in self.server_pids]}

    def stop(self) -> None:
        self.end = self._snapshot()

    def ms_per(self, n: int, ndigits: int = 2) -> dict:
        b, e = self.begin, self.end
        if not n or e is None:
            return {}

        def ms(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000 / n, ndigits)

        # a database process that started in the window counts from zero; one that ended in it is not seen
        db = sum(cpu - b["database"].get(pid, 0.0) for pid, cpu in e["database"].items()) if e["database"] else None
        servers = (None if None in b["servers"] + e["servers"] or not self.server_pids
                   else sum(e["servers"]) - sum(b["servers"]))
        machine = None if None in (b["machine"], e["machine"]) else e["machine"] - b["machine"]
        return {"machine": ms(machine), "database": ms(db), "this_process": ms(e["self"] - b["self"]),
                "servers": ms(servers)}
