"""What every scenario shares: the run's sizes and state, progress lines, markdown tables, and
one wrk measurement whose errors count as the run's failures."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Load, Server, wrk


@dataclass(frozen=True)
class Profile:
    titles: int
    big_versions: int
    seconds: float  # of each wrk run
    connections: tuple[int, ...]
    file_mib: int
    clients: tuple[int, ...]
    readers: int
    writes: int
    write_gap: float
    repeats: int  # of each upload timing; the median is reported


@dataclass
class Run:
    profile: Profile
    work: Path
    data_dir: Path
    www: Path
    token: str = ""
    sections: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"FAIL: {message}", file=sys.stderr, flush=True)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}" if reference else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def measure(run: Run, server: Server, path: str, connections: int) -> Load:
    """One wrk run of ``run.profile.seconds`` against ``path``; any error fails the run."""
    load = wrk(server.url + path, connections, run.profile.seconds)
    if load.errors:
        run.fail(f"{server.name} {path}: {load.errors} errors of {load.requests}")
    return load
