"""Running the application under an HTTP server: granian (the default) or uvicorn.

Both serve the same application built by ``create_app``. granian is the default because it
parses HTTP in Rust and, for package downloads, sends files without passing their bytes through
Python (the ASGI ``pathsend`` extension): measured on two cores, it serves the small Jamf feed
answers about 1.3 times as fast as uvicorn (``docs/performance.md``).

One uvicorn process runs the application built here, with the settings as given. Otherwise
(several processes, or granian, which always runs the application in worker processes) each
process builds the application itself from ``POMONA_*`` variables, so the settings given on the
command line are put in the environment first, and the database is migrated once, here, rather
than by every process at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pomona.ops import multiprocess
from pomona.settings import Settings

FACTORY = "pomona.app:create_app"
RSGI_FACTORY = "pomona.rsgi:create_rsgi_app"


def serve(
    settings: Settings,
    *,
    config: Path | None,
    overrides: dict[str, Any],
    migrate: Callable[[], None],
) -> None:
    """Serve until stopped. ``overrides`` are the command line's settings (None: not given);
    ``migrate`` brings the database up to date."""
    if settings.server == "uvicorn" and settings.workers == 1:
        _uvicorn(settings, None)
        return
    if settings.migrate_on_start:
        migrate()
    export(config, {**overrides, "migrate_on_start": False})
    # Before any worker starts: each writes its metrics there, and /metrics adds them up.
    multiprocess.prepare()
    try:
        if settings.server == "granian":
            _granian(settings)
        else:
            _uvicorn(settings, FACTORY)
    finally:
        multiprocess.finish()


def export(config: Path | None, values: dict[str, Any]) -> None:
    """Put settings in the environment, where worker processes read them (``load_settings``)."""
    if config is not None:
        os.environ["POMONA_CONFIG"] = str(config.resolve())
    for name, value in values.items():
        if value is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            os.environ[f"POMONA_{name.upper()}"] = text


def _access_log(settings: Settings) -> bool:
    # uvicorn formats each access line before its logger drops it: skip that work when the level
    # would drop it anyway.
    return settings.log_level in ("info", "debug", "trace")


def _uvicorn(settings: Settings, target: str | None) -> None:
    import uvicorn

    from pomona.app import create_app
    from pomona.ops import logs

    if target is None:
        # One process, built here: the application's log set-up is this process's.
        logs.configure(settings.log_level, settings.log_format)
    uvicorn.run(
        target or create_app(settings),
        factory=target is not None,
        workers=settings.workers if target else None,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=_access_log(settings),
        # Not for a single process: the application's log set-up (ops/logs.py) stands.
        log_config=uvicorn.config.LOGGING_CONFIG if target else None,
        # The application reads X-Forwarded-* itself (``forwarded_allow_ips``), whatever the server.
        proxy_headers=False,
    )


def _granian(settings: Settings) -> None:
    try:
        from granian import Granian
        from granian.constants import Interfaces
        from granian.log import LogLevels
    except ImportError:
        raise SystemExit(
            "granian is not installed: install it (`pip install granian`) or run "
            "`pomona serve --server uvicorn`"
        ) from None
    level = "debug" if settings.log_level == "trace" else settings.log_level
    rsgi = settings.granian_interface == "rsgi"
    Granian(
        RSGI_FACTORY if rsgi else FACTORY,
        factory=True,
        interface=Interfaces.RSGI if rsgi else Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=LogLevels(level),
        log_access=_access_log(settings),
        # A worker that dies is replaced rather than leaving the port served by fewer.
        respawn_failed_workers=True,
    ).serve()
