"""The ``pomona`` command."""

from __future__ import annotations

from pomona.cli.server import app


def main() -> None:
    app()


__all__ = ["app", "main"]
