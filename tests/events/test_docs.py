"""docs/webhooks.md shows the event catalogue as the code declares it."""

from __future__ import annotations

from pathlib import Path

from pomona.events.catalog import markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_the_docs_catalogue_is_current() -> None:
    text = DOC.read_text()
    start = text.index("-->\n", text.index("<!-- catalogue:start")) + len("-->\n")
    end = text.index("<!-- catalogue:end -->")
    assert text[start:end] == markdown(), (
        "docs/webhooks.md's event catalogue is out of date: replace it with the output of "
        "`python -c 'from pomona.events.catalog import markdown; print(markdown(), end=\"\")'`"
    )
