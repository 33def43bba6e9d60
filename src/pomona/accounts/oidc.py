"""OpenID Connect sign-in: the authorization code flow with PKCE, against the provider that
``oidc_issuer`` names (Entra ID, Okta, Keycloak, ...).

:meth:`OidcClient.begin` makes a flow: a fresh ``state``, ``nonce`` and PKCE verifier (S256),
sealed into a short-lived cookie signed with a key derived from the client secret (so every
process of the server can read it, and nothing is kept server-side), and the provider's
authorization URL. :meth:`OidcClient.finish` takes the provider's answer back: the state must be
the cookie's, the code is exchanged with the verifier, and the ID token is checked (signature
through the provider's ``jwks_uri``, ``iss``, ``aud``, ``exp``, ``nonce``). Claims it lacks are
read from the userinfo endpoint. The groups claim (``oidc_groups_claim``: names, or Entra's
object ids as they are) becomes roles through ``group_roles`` exactly as LDAP groups do.

The provider's URL is admin configuration, not a URL a user typed, and it often sits on a
private network (a Keycloak in the same VPC): the calls deliberately do not go through the SSRF
guard meant for user-given URLs. They are async, each with ``oidc_timeout_seconds``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from pomona.accounts import usernames
from pomona.accounts.directory import DirectoryPerson
from pomona.accounts.oidc_settings import FLOW_COOKIE, FLOW_SECONDS
from pomona.errors import Forbidden, Unauthenticated, Unavailable
from pomona.settings import Settings

_CACHE_SECONDS = 3600.0  # discovery document and keys; keys are read again on an unknown kid
_LEEWAY = 60  # seconds of clock difference allowed on exp and iat
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True)
class Flow:
    url: str  # the provider's authorization URL to send the browser to
    cookie: str  # the sealed state, nonce and verifier


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _object(answer: httpx.Response) -> dict[str, Any] | None:
    """The JSON object an answer holds; None for anything else (a page, a signed JWT)."""
    try:
        found = answer.json()
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def groups_of(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """The groups a person's claims carry. An overage (Entra ID over 200 groups, where the claim
    is replaced by a pointer in ``_claim_names``) is refused with what to change, never read as
    "in no group"."""
    names = claims.get("_claim_names")
    if claim not in claims and isinstance(names, Mapping) and claim in names:
        raise Forbidden(
            f"the provider sent no '{claim}' claim but a pointer to it (a group overage: "
            "Entra ID does so past 200 groups); emit only the groups assigned to the "
            "application, or use app roles",
            f"/{claim}",
            "query",
            code="oidc_groups_overage",
        )
    found = claims.get(claim)
    if isinstance(found, str):
        return frozenset({found})
    if isinstance(found, list):
        return frozenset(g for g in found if isinstance(g, str))
    return frozenset()


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer, "built only when an issuer is configured"
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        secret = settings.oidc_client_secret.get_secret_value().encode()
        self._key = hmac.new(secret, b"pomona oidc flow cookie", hashlib.sha256).digest()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._read_at = 0.0
        self._lock = anyio.Lock()

    # -- the provider ---------------------------------------------------------------------------
    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=self.settings.oidc_timeout_seconds) as http:
                return await http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise Unavailable(
                f"the OpenID Connect provider did not answer {url} within "
                f"{self.settings.oidc_timeout_seconds:g} s",
                code="oidc_timeout",
            ) from None
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"cannot reach the OpenID Connect provider at {url}: {exc}", code="oidc_unreachable"
            ) from None

    async def _json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        answer = await self._call("GET", url, **kwargs)
        found = _object(answer) if answer.status_code == 200 else None
        if not isinstance(found, dict):
            raise Unavailable(
                f"the OpenID Connect provider answered {answer.status_code} without a JSON "
                f"object at {url}",
                code="oidc_provider_error",
            )
        return found

    async def metadata(self, *, refresh: bool = False) -> dict[str, Any]:
        """The discovery document, read at most once an hour (or when keys are missing)."""
        async with self._lock:
            stale = time.monotonic() - self._read_at > _CACHE_SECONDS
            if self._metadata is None or refresh or stale:
                found = await self._json(f"{self.issuer}/.well-known/openid-configuration")
                lacking = [k for k in _ENDPOINTS if not isinstance(found.get(k), str)]
                if lacking:
                    raise Unavailable(
                        f"the discovery document lacks {', '.join(lacking)}",
                        code="oidc_provider_error",
                    )
                if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                    raise Unavailable(
                        f"the discovery document names the issuer {found.get('issuer')!r}, "
                        f"not {self.issuer!r}: set oidc_issuer to the issuer it names",
                        code="oidc_issuer_mismatch",
                    )
                self._metadata = found
                keys = await self._json(str(found["jwks_uri"]))
                self._keys = KeySet.import_key_set(keys)  # type: ignore[arg-type]
                self._read_at = time.monotonic()
            return self._metadata

    @property
    def key_count(self) -> int:
        """How many signing keys were read from ``jwks_uri`` (0 before the first read)."""
        return len(self._keys.keys) if self._keys is not None else 0

    async def end_session_url(self) -> str | None:
        """Where to send the browser to end the provider's own session, when it says."""
        url = (await self.metadata()).get("end_session_endpoint")
        if not isinstance(url, str):
            return None
        query = {"client_id": self.settings.oidc_client_id}
        if self.settings.public_url:
            query["post_logout_redirect_uri"] = self.settings.public_url
        return f"{url}?{urlencode(query)}"

    # -- the flow -------------------------------------------------------------------------------
    async def begin(self) -> Flow:
        metadata = await self.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": self.settings.oidc_callback_url(),
            "scope": " ".join(self.settings.oidc_scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        payload = {"s": state, "n": nonce, "v": verifier, "e": int(time.time()) + FLOW_SECONDS}
        return Flow(f"{metadata['authorization_endpoint']}?{urlencode(query)}", self._seal(payload))

    def _seal(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())}"

    def _unseal(self, cookie: str | None) -> dict[str, Any]:
        body, _, sig = (cookie or "").partition(".")
        good = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        payload: Any = None
        if body and hmac.compare_digest(sig.encode(), good.encode()):
            payload = json.loads(_unb64(body))
        if not isinstance(payload, dict) or payload.get("e", 0) < time.time():
            raise Unauthenticated(
                "this sign-in was started too long ago or in another browser: start it again",
                f"/{FLOW_COOKIE}",
                "header",
                code="oidc_flow_missing",
            )
        return payload

    async def finish(self, cookie: str | None, params: Mapping[str, str]) -> DirectoryPerson:
        """The person the provider's answer (the callback's query) signs in."""
        if "error" in params:
            said = params.get("error_description") or params["error"]
            raise Unauthenticated(
                f"the provider refused the sign-in: {said}", "/error", "query", code="oidc_refused"
            )
        flow = self._unseal(cookie)
        if not hmac.compare_digest(params.get("state", "").encode(), str(flow["s"]).encode()):
            raise Unauthenticated(
                "the state does not match the sign-in this browser started: start it again",
                "/state",
                "query",
                code="oidc_state_mismatch",
            )
        if "iss" in params and params["iss"].rstrip("/") != self.issuer:
            # RFC 9207: an answer from another provider (a mix-up attack) names its issuer.
            raise Unauthenticated(
                f"the answer comes from the issuer {params['iss']!r}, not {self.issuer!r}",
                "/iss",
                "query",
                code="oidc_issuer_mismatch",
            )
        tokens = await self._exchange(params.get("code", ""), str(flow["v"]))
        claims = await self._id_token(str(tokens.get("id_token", "")), str(flow["n"]))
        claim = self.settings.oidc_groups_claim
        lacking = claim not in claims and claim not in claims.get("_claim_names", {})
        if lacking or not ({"preferred_username", "email"} & claims.keys()):
            claims = {**await self._userinfo(str(tokens.get("access_token", "")), claims), **claims}
        return self._person(claims)

    async def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        metadata = await self.metadata()
        # client_secret_basic: RFC 6749 2.3.1 form-encodes the id and secret before base64.
        auth = (
            quote(self.settings.oidc_client_id, safe=""),
            quote(self.settings.oidc_client_secret.get_secret_value(), safe=""),
        )
        answer = await self._call(
            "POST",
            str(metadata["token_endpoint"]),
            auth=auth,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.oidc_callback_url(),
                "code_verifier": verifier,
            },
        )
        body = _object(answer) or {}
        if answer.status_code == 400 and body.get("error") == "invalid_grant":
            raise Unauthenticated(
                "the provider refused the code (used already, expired, or not for this "
                "sign-in): start again",
                "/code",
                "query",
                code="oidc_code_refused",
            )
        if answer.status_code != 200 or "id_token" not in body:
            raise Unavailable(
                f"the provider's token endpoint answered {answer.status_code} "
                f"{body.get('error', '')} {body.get('error_description', '')}".rstrip()
                + ": check oidc_client_id, oidc_client_secret and the redirect URI registered",
                code="oidc_token_failed",
            )
        return dict(body)

    async def _id_token(self, token: str, nonce: str) -> dict[str, Any]:
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        try:
            try:
                decoded = jwt.decode(token, self._keys or KeySet([]), algorithms=algorithms)
            except InvalidKeyIdError:  # an unknown kid: the provider may have rotated its keys
                await self.metadata(refresh=True)
                decoded = jwt.decode(token, self._keys or KeySet([]), algorithms=algorithms)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                options={
                    "iss": {"essential": True, "value": self.issuer},
                    "aud": {"essential": True, "value": self.settings.oidc_client_id},
                },
                params={"nonce": nonce, "client_id": self.settings.oidc_client_id},
            )
            claims.validate(leeway=_LEEWAY)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(
                f"the ID token does not hold: {exc}", "/id_token", code="oidc_token_invalid"
            ) from None
        return dict(claims)

    async def _userinfo(self, access_token: str, claims: Mapping[str, Any]) -> dict[str, Any]:
        url = (await self.metadata()).get("userinfo_endpoint")
        if not isinstance(url, str) or not access_token:
            return {}
        found = await self._json(url, headers={"Authorization": f"Bearer {access_token}"})
        # OIDC Core 5.3.2: userinfo of another subject must not be used.
        if found.get("sub") != claims.get("sub"):
            raise Unavailable(
                "the provider's userinfo endpoint answered for another subject",
                code="oidc_userinfo_failed",
            )
        return found

    def _person(self, claims: Mapping[str, Any]) -> DirectoryPerson:
        groups = groups_of(claims, self.settings.oidc_groups_claim)
        for source in ("preferred_username", "email", "sub"):
            name = claims.get(source)
            if isinstance(name, str) and name:
                break
        else:
            name, source = "", "sub"
        if usernames.problems(name):
            raise Forbidden(
                f"the provider's {source} {name!r} is not a username Pomona accepts: "
                + "; ".join(p.message for p in usernames.problems(name)),
                f"/{source}",
                "query",
                code="oidc_username_invalid",
            )
        email = claims.get("email")
        display = claims.get("name")
        return DirectoryPerson(
            username=name,
            display_name=display if isinstance(display, str) else name,
            email=email if isinstance(email, str) else None,
            groups=groups,
            source="oidc",
        )
