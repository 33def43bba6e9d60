"""Standard Webhooks v1 signatures: the secrets, and the headers of a signed request.

A secret is ``whsec_`` and the base64 of 32 random bytes, one per endpoint. The server keeps it
whole, since it must sign with it. While a rotation's overlap runs, each request carries one
signature per live secret (space-separated), so a receiver verifies with either.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(event_id: str, at: datetime, body: bytes, live: Sequence[str]) -> dict[str, str]:
    """The three headers of one attempt: ``webhook-id`` (the event's id, the same on every
    retry: the receiver's idempotency key), ``webhook-timestamp`` (this attempt's time) and
    ``webhook-signature``, one ``v1,...`` per secret in ``live``."""
    text = body.decode()
    signatures = [Webhook(secret).sign(event_id, at, text) for secret in live]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


__all__ = ["PREFIX", "headers", "new_secret"]
