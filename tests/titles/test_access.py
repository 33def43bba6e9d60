"""Tokens limited to some titles may write only those."""

from __future__ import annotations

import pytest

from pomona.auth.scopes import Principal
from pomona.errors import Forbidden
from pomona.titles.access import check_may_write, check_may_write_all


def test_a_token_limited_to_titles_may_write_only_those() -> None:
    limited = Principal("token:autopkg", frozenset({"titles:write"}), frozenset({"Firefox"}))

    check_may_write(limited, "Firefox")
    with pytest.raises(Forbidden) as refused:
        check_may_write(limited, "Chrome")

    assert refused.value.code == "title_forbidden"
    assert "Firefox" in str(refused.value)
    assert "/api/" not in str(refused.value)


def test_a_token_not_limited_to_titles_may_write_any() -> None:
    check_may_write(Principal("token:admin", frozenset({"admin"}), None), "Anything")


def test_every_refused_id_is_listed_once_at_its_path() -> None:
    limited = Principal("token:autopkg", frozenset({"titles:write"}), frozenset({"Firefox"}))
    written = [("/0", "Firefox"), ("/1", "Firefox-copy"), ("/2", "Chrome"), ("/3", "Chrome")]

    with pytest.raises(Forbidden) as refused:
        check_may_write_all(limited, written)

    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("/1", "title_forbidden"),
        ("/2", "title_forbidden"),
    ]
    assert "'Firefox-copy'" in refused.value.problems[0].message
