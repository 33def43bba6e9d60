"""Secrets at rest: Jamf Pro connection secrets are stored encrypted (Fernet: AES-128-CBC with
HMAC-SHA256) under a key derived from the ``secret_key`` setting, or from a random key Pomona
makes once and keeps in the data directory. A database copied elsewhere holds no usable secret."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from pomona.errors import Internal, Problem
from pomona.settings import Settings


def _key_file(data_dir: Path) -> bytes:
    """The data directory's key, made on first use (by whichever process comes first)."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it just now
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


class SecretBox:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._fernet: Fernet | None = None

    def _box(self) -> Fernet:
        if self._fernet is None:
            configured = self._settings.secret_key
            material = (
                configured.get_secret_value().encode()
                if configured is not None
                else _key_file(self._settings.data_dir)
            )
            digest = hashlib.sha256(b"pomona secret box\0" + material).digest()
            self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        return self._fernet

    def seal(self, secret: str) -> str:
        return self._box().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._box().decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise Internal(
                [
                    Problem(
                        "/secret",
                        "a stored secret cannot be decrypted: the secret_key setting (or "
                        "<data_dir>/secret.key) changed since it was saved. Restore the old key, "
                        "or set the connection's secret again",
                        code="secret_key_changed",
                    )
                ]
            ) from None
