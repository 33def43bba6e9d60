"""What the CLI suggests next when the server refuses: one table, keyed by the stable ``code``
of each problem the API answers (never by its message, which is for people and may change).

The server names no command and no URL in its messages; the same refusal reads differently in
the CLI, in the web UI and in a script, so each says its own next step from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# code -> the next step, in the CLI's own terms. ``{path}`` is the problem's path.
NEXT_STEPS: Mapping[str, str] = {
    # -- tokens and access
    "token_missing": "log in with `pomona login URL` (it asks for a token), or set POMONA_TOKEN",
    "token_unknown": "create a new token on the server with `pomona token create`, then "
    "`pomona login URL` again",
    "scope_missing": "ask an admin for a token with that scope (`pomona token create --scope ...`"
    " on the server)",
    # -- titles
    # -- packages
    # -- jobs
    "job_not_found": "a job's id is in the answer that started it",
}


def next_steps(problems: Iterable[Mapping[str, Any]]) -> list[str]:
    """The next steps for these problems, each once, in the order of the problems."""
    steps: list[str] = []
    for problem in problems:
        step = NEXT_STEPS.get(str(problem.get("code") or ""))
        if step is not None:
            step = step.replace("{path}", str(problem.get("path") or ""))
            if step not in steps:
                steps.append(step)
    return steps
