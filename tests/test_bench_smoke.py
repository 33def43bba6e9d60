"""The benchmark suite in its smoke mode, so it cannot rot; and the checks its readers apply."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bench import data
from bench.run import check_patch, check_software

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def smoke_report(module: str, report: Path) -> str:
    """Run a benchmark module in its smoke mode; the report it wrote."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--smoke", "--output", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return report.read_text()


def test_smoke_run_passes_and_prints_every_table(tmp_path: Path) -> None:
    for tool in ("wrk", "nginx", "curl", "sha256sum"):
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            unavailable(f"{tool} (apt-get install wrk nginx-light curl)")
    text = smoke_report("bench.run", tmp_path / "report.md")
    headings = ("Jamf feed", "Fleet", "Package downloads", "Upload ingest", "Feed under write load")
    for heading in headings:
        assert f"### {heading}" in text
    assert "Failures" not in text
    assert "| nginx |" in text
    assert "| uvicorn |" in text


def test_reader_check_accepts_a_valid_title_and_catches_inconsistent_ones() -> None:
    good = data.title("T", 5)
    assert check_patch(good, "T") is None
    stale_current = {**good, "currentVersion": data.version_string(3)}
    assert "currentVersion" in (check_patch(stale_current, "T") or "")
    gap = {**good, "patches": [good["patches"][0], *good["patches"][2:]]}
    assert check_patch(gap, "T") == "versions missing, repeated or out of order"
    assert check_patch({**good, "id": "Other"}, "T") == "not the title asked for"


def test_software_check_catches_missing_fields_and_disorder() -> None:
    entry = {"id": "A", "name": "A", "publisher": "P", "lastModified": "x", "currentVersion": "1"}
    assert check_software([entry, {**entry, "id": "B"}]) is None
    assert check_software([{**entry, "id": "B"}, entry]) == "entries not ordered by id"
    partial = {k: v for k, v in entry.items() if k != "name"}
    assert check_software([partial]) == "an entry without exactly the five summary fields"
    assert check_software({}) == "not a non-empty list"


@pytest.mark.slow
def test_soak_smoke_runs_every_workload_without_error(tmp_path: Path) -> None:
    text = smoke_report("bench.soak", tmp_path / "soak.md")
    assert "**0 errors**" in text
    assert "Failures" not in text
    for endpoint in (
        "GET /jamf/v1/software",
        "GET /jamf/v1/patch/{id}",
        "GET /Packages/{file} (Range)",
        "PUT /api/v1/packages/{file}",
        "PATCH /api/v1/uploads/{id}",
        "POST /api/v1/titles/{id}/versions",
        "POST /api/v1/backups/restore",
    ):
        assert f"| `{endpoint}` |" in text
    assert "| pomona serve |" in text
    assert "not judged (too short)" in text  # seconds say nothing about growth


def test_soak_judges_growth_per_process_and_counts_every_error() -> None:
    from bench.soak import Load, Memory, Stats, report, soak_profile

    memory = Memory({1: "pomona serve", 2: "worker 1"}, {1: 100, 2: 100}, {1: 105, 2: 111})
    stats = Stats({"GET /x": [0.001] * 99 + [0.5]}, {"GET /x": ["HTTP 500 boom"]})
    load = Load("http://x", {}, soak_profile(smoke=False, minutes=10), "p.pkg", b"", stats=stats)
    text, failures = report(load, memory, 10.0, judged=True)
    assert failures == ["GET /x: HTTP 500 boom", "worker 1 (pid 2) grew by 11.0%"]
    assert "| `GET /x` | 101 | 1 |" in text
    assert "| 500 |" in text  # the slowest request
    assert "**1 errors**" in text


@pytest.mark.slow
def test_webhooks_smoke_delivers_every_event_and_prints_its_table(tmp_path: Path) -> None:
    text = smoke_report("bench.webhooks", tmp_path / "webhooks.md")
    assert "### Webhooks" in text
    assert "deliveries/s" in text
    assert "Lost: 0 problems" in text
    assert "Failures" not in text


def test_ui_bench_smoke_prints_its_table(tmp_path: Path) -> None:
    text = smoke_report("bench.ui", tmp_path / "ui.md")
    assert "### Web UI render time" in text
    assert "| titles list, 21 titles |" in text


def test_replication_smoke_runs_and_prints_its_table(tmp_path: Path) -> None:
    for tool in ("curl", "sha256sum"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} (apt-get install curl coreutils)")
    text = smoke_report("bench.replication", tmp_path / "replication.md")
    assert "### Replication" in text
    assert "| replication A -> B |" in text
    assert "resumed after kill -9" in text


def test_jamf_push_smoke_pushes_and_prints_its_table(tmp_path: Path) -> None:
    text = smoke_report("bench.jamf_push", tmp_path / "jamf.md")
    assert "### Jamf Cloud push" in text
    assert "| boto3 upload_file (multipart), mean |" in text
    assert "| Pomona push: upload step |" in text
    assert "Failures" not in text
