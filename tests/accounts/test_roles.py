"""Role specs: one parser, every problem named; a person's rights are the union of their grants,
and a personal token's never more than its owner's."""

from __future__ import annotations

import pytest

from pomona.accounts import roles
from pomona.auth.scopes import Principal
from pomona.errors import Invalid


def test_specs_read_and_write_back_canonically() -> None:
    grant = roles.parse("editor@web,mac-team:Firefox")
    assert grant.role == "editor"
    assert grant.namespaces == {"mac-team", "web"}
    assert grant.titles == {"Firefox"}
    assert grant.spec == "editor@mac-team,web:Firefox"
    assert roles.parse("admin").spec == "admin"


def test_every_problem_of_every_spec_is_listed() -> None:
    with pytest.raises(Invalid) as caught:
        roles.parse_all(["boss", "publisher", "editor@Bad_NS", "admin@x", "editor:no/slash"])
    messages = {p.path: p.message for p in caught.value.problems}
    assert "unknown role 'boss'" in messages["/roles/0"]
    assert "needs a namespace" in messages["/roles/1"]
    assert "'Bad_NS'" in messages["/roles/2"]
    assert "cannot be limited" in messages["/roles/3"]
    assert "'no/slash'" in messages["/roles/4"]
    assert {p.code for p in caught.value.problems} == {"role_invalid"}


def test_a_principal_is_the_union_of_grants() -> None:
    person = roles.principal("ann", roles.parse_all(["packager", "publisher@mac-team"]))
    assert person.allows("packages:write")
    assert person.allows("titles:write")
    assert person.namespaces == {"mac-team"}
    # An unlimited editor grant wins over a namespace-limited one.
    wide = roles.principal("bo", roles.parse_all(["publisher@mac-team", "editor"]))
    assert wide.namespaces is None
    assert wide.titles is None
    viewer = roles.principal("cy", roles.parse_all(["viewer"]))
    assert not viewer.allows("titles:write")
    assert viewer.allows("titles:read")
    assert viewer.namespaces is None
    assert viewer.titles is None
    assert roles.principal("dee", []).scopes == frozenset()


def test_narrow_never_exceeds_the_owner() -> None:
    owner = Principal("ann", frozenset({"titles:write"}), titles=frozenset({"Firefox", "Zoom"}))
    assert roles.narrow(owner, ["packages:write"], None) is None
    assert roles.narrow(owner, ["admin"], None) is None
    assert roles.narrow(owner, ["titles:write"], frozenset({"Slack"})) is None
    inherited = roles.narrow(owner, ["titles:read"], None)
    assert inherited is not None
    assert inherited.titles == {"Firefox", "Zoom"}
    narrower = roles.narrow(owner, ["titles:write"], frozenset({"Zoom"}))
    assert narrower is not None
    assert narrower.may_write_title("Zoom")
    assert not narrower.may_write_title("Firefox")
    admin = Principal("root", frozenset({"admin"}))
    assert roles.narrow(admin, ["admin"], None) is not None
    assert roles.exceeding(owner, ["titles:read", "packages:read"]) == ["packages:read"]
