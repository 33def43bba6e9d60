"""What schemathesis needs to fuzz Pomona beyond its OpenAPI document, shared by
``tests/test_fuzz.py`` and a command-line run (``SCHEMATHESIS_HOOKS=tests.fuzz_hooks``)."""

from __future__ import annotations

import schemathesis

# tus uploads send raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
