"""The queue's composition: a worker process is the services and the queue, no web framework."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_tasks_loads_no_web_framework() -> None:
    probe = (
        "import sys, pomona.tasks; "
        "loaded = sorted(m for m in ('fastapi', 'starlette') if m in sys.modules); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
