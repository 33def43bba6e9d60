"""The web UI's server-side render time: ``python -m bench.ui``.

Builds the application in process on a scratch SQLite database, loads 500 titles and one title
of 200 versions through the titles service, signs in through the UI's own sign-in page, then
times each page many times over ASGI (no network, no browser: the server's share of a page
view). The API's JSON answer for the same data is timed alongside as the reference. Target:
p95 under 50 ms for both pages. ``--smoke`` runs the same code on tiny data in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench import data
from bench.common import ratio, say, table

TARGET_MS = 50.0
PASSWORD = "bench horse battery staple"  # noqa: S105 (a scratch account of the run)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(http: httpx.AsyncClient, path: str, rounds: int) -> list[float]:
    """Milliseconds per answer; the first few are warm-up and not kept."""
    samples = []
    for index in range(rounds + 5):
        started = time.perf_counter()
        answer = await http.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
        if index >= 5:
            samples.append(elapsed)
    return samples


async def run(titles: int, versions: int, rounds: int) -> str:
    from pomona.app import create_app
    from pomona.settings import Settings
    from pomona.titles.values import Actor

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(data_dir=Path(folder) / "data", metrics_enabled=False))
        async with app.router.lifespan_context(app):
            services = app.state.services
            actor = Actor("bench")
            say(f"loading {titles} titles and one of {versions} versions")
            for index in range(titles):
                await services.titles.create(data.title(f"Title{index:04d}", 3), actor)
            await services.titles.create(data.title("Big", versions), actor)
            await services.accounts.people.create("bench", PASSWORD, roles_=["admin"])
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 9))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                signed = await http.post(
                    "/ui/signin", data={"username": "bench", "password": PASSWORD}
                )
                assert signed.status_code == 303, signed.text
                csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', (await http.get("/ui/")).text)
                assert csrf, "signed in"
                rows = []
                for label, page, reference in (
                    (
                        f"titles list, {titles + 1} titles",
                        "/ui/titles",
                        f"/api/v1/titles?perPage={titles + 1}",
                    ),
                    (
                        f"title versions tab, {versions} versions",
                        "/ui/titles/Big/versions",
                        "/api/v1/titles/Big",
                    ),
                ):
                    say(f"timing {page} and {reference}, {rounds} rounds each")
                    ui = await timed(http, page, rounds)
                    api = await timed(http, reference, rounds)
                    p95 = percentile(ui, 0.95)
                    rows.append(
                        [
                            label,
                            f"{statistics.median(ui):.1f}",
                            f"{p95:.1f}",
                            f"{percentile(ui, 0.99):.1f}",
                            f"{percentile(api, 0.95):.1f}",
                            ratio(p95, percentile(api, 0.95)),
                            "yes" if p95 < TARGET_MS else "NO",
                        ]
                    )
    header = [
        "page",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "API JSON p95 ms (reference)",
        "page / API",
        f"p95 < {TARGET_MS:.0f} ms",
    ]
    return "### Web UI render time (server side, in process)\n\n" + table(header, rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, a few rounds")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    if options.smoke:
        report = asyncio.run(run(titles=20, versions=20, rounds=10))
    else:
        report = asyncio.run(run(titles=499, versions=200, rounds=options.rounds))
    print(report)
    if options.output:
        options.output.write_text(report)


if __name__ == "__main__":
    main()
