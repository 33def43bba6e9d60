"""``pomona oidc test``: what OpenID Connect sign-in would use, read from the provider itself.

It reads the provider's discovery document and keys with the same code as a sign-in, and prints
the endpoints, what the provider supports of what Pomona asks for (PKCE S256, the scopes, the
groups claim), the redirect URI to register and the group -> role table. No one signs in: the
groups a person brings are seen in ``GET /api/v1/session`` after a real sign-in.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console
from rich.markup import escape

from pomona.errors import DomainError
from pomona.settings import Settings


def _missing(supported: Any, wanted: list[str]) -> list[str]:
    """What of ``wanted`` a provider's ``*_supported`` list leaves out (nothing when it is
    silent: the list is optional)."""
    return [w for w in wanted if isinstance(supported, list) and w not in supported]


def report(settings: Settings) -> int:
    out = Console(highlight=False, soft_wrap=True)
    if not settings.oidc_issuer:
        out.print("error: oidc_issuer is not set: OpenID Connect sign-in is off")
        return 2
    from pomona.accounts.oidc import OidcClient  # authlib and joserfc only for this command

    client = OidcClient(settings)
    try:
        found = asyncio.run(client.metadata())
    except DomainError as exc:
        out.print(f"issuer      {escape(client.issuer)}")
        out.print(f"error: {escape(str(exc))} ({exc.code})")
        return 1
    rows = [
        ("issuer", client.issuer),
        ("authorize", found.get("authorization_endpoint")),
        ("token", found.get("token_endpoint")),
        ("userinfo", found.get("userinfo_endpoint") or "- (claims from the ID token only)"),
        ("keys", f"{found.get('jwks_uri')} ({client.key_count} keys)"),
        ("end session", found.get("end_session_endpoint") or "- (sign-out ends Pomona's only)"),
        ("redirect", f"{settings.oidc_callback_url()} (register it at the provider as it is)"),
        ("client", settings.oidc_client_id),
        ("scopes", " ".join(settings.oidc_scopes)),
        ("groups", f"the claim {settings.oidc_groups_claim!r}"),
    ]
    for name, value in rows:
        out.print(f"{name:<11} {escape(str(value))}")
    problems = []
    if _missing(found.get("code_challenge_methods_supported"), ["S256"]):
        problems.append("the provider does not list PKCE S256 in code_challenge_methods_supported")
    for scope in _missing(found.get("scopes_supported"), settings.oidc_scopes):
        problems.append(f"the scope {scope!r} is not in the provider's scopes_supported")
    if _missing(found.get("claims_supported"), [settings.oidc_groups_claim]):
        problems.append(
            f"the claim {settings.oidc_groups_claim!r} is not in the provider's claims_supported "
            "(Okta and Entra ID leave custom claims out of it: check a sign-in's roles)"
        )
    out.print(f"roles       {len(settings.group_roles)} groups in group_roles")
    for group, specs in sorted(settings.group_roles.items()):
        out.print(f"  {escape(group)}  ->  {escape(', '.join(specs))}")
    for problem in problems:
        out.print(f"warning: {escape(problem)}")
    out.print("provider    answered: discovery and keys read")
    return 0
