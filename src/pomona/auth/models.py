"""Tables of the auth domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class ApiToken(Base):
    """An API token. Only the SHA-256 of the secret is kept; the secret is shown once."""

    __tablename__ = "api_tokens"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Key, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(1024))  # space-separated, as in OAuth
    # JSON list of title ids the token may write; None means every title its scopes allow.
    titles: Mapped[str | None] = mapped_column(LongText, nullable=True)
    # JSON list of namespaces the token may write titles in; None means every namespace.
    namespaces: Mapped[str | None] = mapped_column(LongText, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
