"""``--help`` writes arguments as the docs do, and nothing after a flag."""

from __future__ import annotations

import os
import subprocess
import sys


def _help(*command: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "pomona", *command, "--help"],
        env={**os.environ, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_usage_names_arguments_in_capitals_without_braces() -> None:
    text = _help("titles", "rollback")
    assert "titles rollback [OPTIONS] TITLE_ID NUMBER" in text
    assert "{" not in text
    assert "SOURCES..." in _help("titles", "import")


def test_flags_show_no_type_and_options_with_values_keep_theirs() -> None:
    text = _help("titles", "rollback")
    assert "<bool>" not in text
    json_line = next(line for line in text.splitlines() if "--json" in line)
    assert "<" not in json_line
    reason_line = next(line for line in text.splitlines() if "--reason" in line)
    assert "<str>" in reason_line
