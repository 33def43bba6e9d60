"""Sign-in through an LDAP directory (OpenLDAP, Active Directory, ...) with ldap3.

Search, then bind: the service account (``ldap_bind_dn``) finds the one entry the username
names, then a second connection binds as that entry's DN with the password. The username is
checked against ``ldap_username_pattern`` and escaped before it enters a filter; an empty
password is refused before any bind, because LDAP takes a simple bind with a DN and no password
as an anonymous bind that succeeds. Every connection is encrypted (LDAPS, or StartTLS on
``ldap://``) and the certificate verified, host name included.

ldap3 blocks, so every call runs in a worker thread, each with a time limit. A directory that
cannot be reached, or refuses the service account, raises :class:`Unavailable` saying what to
check; it is never answered as a wrong password.
"""

from __future__ import annotations

import ast
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, TypeVarTuple
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from ldap3 import NONE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPException,
    LDAPResponseTimeoutError,
    LDAPSocketReceiveError,
    LDAPStartTLSError,
)
from ldap3.utils.conv import escape_filter_chars

from pomona.accounts.directory import DirectoryPerson
from pomona.errors import Conflict, Invalid, NotFound, Unavailable
from pomona.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Args = TypeVarTuple("Args")

# However deep and wide the groups nest, one sign-in reads at most this many.
MAX_GROUPS = 1000
# Worker threads LDAP calls may hold at once. A directory that hangs holds each for up to
# ldap_timeout_seconds; without a limit of its own a burst of sign-ins would take every thread
# of the process's pool, which the feed's rendering and the package hashing share.
THREADS = 8
# Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: every group the DN is in, at any depth.
AD_IN_CHAIN = "1.2.840.113556.1.4.1941"
_USERNAME_ATTRIBUTE = re.compile(r"\(([A-Za-z][\w-]*)=\{username\}\)")


@dataclass(frozen=True, slots=True)
class LdapEntry:
    """The one entry a username found, what it holds and every group it is in."""

    dn: str
    attributes: dict[str, list[str]]
    groups: frozenset[str]


class _VerifiedTls(Tls):
    """TLS through Python's own verification: the chain and the host name, at the handshake.

    ldap3 turns the context's host name check off and runs its own afterwards; this uses the
    standard library's, which knows IP addresses and wildcards on every Python version.
    """

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self.context, self.host = context, host

    def wrap_socket(self, connection: Connection, do_handshake: bool = False) -> None:
        connection.socket = self.context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=self.host,
        )


def _values(attributes: dict[str, Any], name: str) -> list[str]:
    found: Any = next((v for k, v in attributes.items() if k.lower() == name.lower()), [])
    return [str(v) for v in (found if isinstance(found, list) else [found])]


def _reason(exc: BaseException) -> str:
    """The message of an ldap3 error, which nests the socket's in tuples of reprs."""
    text = str(exc)
    for _ in range(4):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            break
        value = value[0] if isinstance(value, tuple) and value else value
        if not isinstance(value, str):
            break
        text = value
    return text or type(exc).__name__


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _timed_out(exc: BaseException) -> bool:
    return any(
        isinstance(e, TimeoutError | LDAPSocketReceiveError | LDAPResponseTimeoutError)
        or "timed out" in str(e)
        for e in _chain(exc)
    )


def _is_tls(exc: BaseException) -> bool:
    return any(
        isinstance(e, ssl.SSLError | LDAPStartTLSError | LDAPCertificateError)
        or any(word in str(e).lower() for word in ("ssl", "certificate", "tls"))
        for e in _chain(exc)
    )


class LdapDirectory:
    """A :class:`pomona.accounts.directory.Directory` backed by an LDAP server."""

    def __init__(self, settings: Settings) -> None:
        if not settings.ldap_url:
            raise ValueError("LdapDirectory needs ldap_url")
        url = urlsplit(settings.ldap_url)
        self.settings = settings
        self.url = settings.ldap_url
        self.host = url.hostname or ""
        self.ldaps = url.scheme == "ldaps"
        self.port = url.port or (636 if self.ldaps else 389)
        self.pattern = re.compile(settings.ldap_username_pattern)
        attribute = _USERNAME_ATTRIBUTE.search(settings.ldap_user_filter)
        self.username_attribute = attribute.group(1) if attribute else None
        self._context: ssl.SSLContext | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    # -- the Directory contract -----------------------------------------------------------------

    async def authenticate(self, username: str, password: str) -> DirectoryPerson | None:
        if not password or not self.pattern.fullmatch(username):
            return None
        return await self._in_thread(self._authenticate, username, password)

    async def lookup(self, username: str) -> DirectoryPerson | None:
        if not self.pattern.fullmatch(username):
            return None
        try:
            entry = await self.find(username)
        except (NotFound, Conflict):
            return None
        return self.person(username, entry)

    # -- what `pomona ldap test` shows step by step ---------------------------------------------

    async def find(self, username: str) -> LdapEntry:
        """The one entry ``username`` names, with its groups; a domain error says what is wrong."""
        return await self._in_thread(self._find, username)

    async def check_password(self, dn: str, password: str) -> bool:
        """Whether the directory accepts ``password`` for ``dn`` (an empty one never)."""
        return bool(password) and await self._in_thread(self._bind_as, dn, password)

    def person(self, username: str, entry: LdapEntry) -> DirectoryPerson:
        canonical = self._canonical(username, entry.attributes)
        display = _values(entry.attributes, "displayName") or _values(entry.attributes, "cn")
        email = _values(entry.attributes, "mail")
        return DirectoryPerson(
            username=canonical,
            display_name=display[0] if display else canonical,
            email=email[0] if email else None,
            groups=entry.groups,
            source="ldap",
        )

    def _canonical(self, username: str, attributes: dict[str, list[str]]) -> str:
        # The directory's spelling of the name (AD matches `ALICE` to `alice`), not the typed one.
        names = _values(attributes, self.username_attribute or "")
        return next((n for n in names if n.casefold() == username.casefold()), username)

    # -- in a worker thread: ldap3 blocks on its sockets -------------------------------------------

    async def _in_thread(self, work: Callable[[*Args], T], *args: *Args) -> T:
        if self._limiter is None:  # made in the event loop that uses it
            self._limiter = anyio.CapacityLimiter(THREADS)
        return await anyio.to_thread.run_sync(work, *args, limiter=self._limiter)

    def _authenticate(self, username: str, password: str) -> DirectoryPerson | None:
        try:
            entry = self._find(username)
        except (NotFound, Conflict, Invalid) as exc:
            log.info("LDAP sign-in of %r refused: %s", username, exc)
            return None
        if not self._bind_as(entry.dn, password):
            log.info("LDAP sign-in of %r refused: wrong password for %s", username, entry.dn)
            return None
        return self.person(username, entry)

    def _find(self, username: str) -> LdapEntry:
        if not self.pattern.fullmatch(username):
            raise Invalid(
                f"'{username}' does not match ldap_username_pattern "
                f"({self.settings.ldap_username_pattern})",
                code="ldap_username_refused",
            )
        wanted = ["cn", "displayName", "mail", "memberOf", *filter(None, [self.username_attribute])]
        query = self.settings.ldap_user_filter.replace("{username}", escape_filter_chars(username))
        with self._service() as conn:
            # Two are enough to know the filter is not precise.
            found = self._search(conn, self.settings.ldap_user_base, query, wanted, limit=2)
            if not found:
                raise NotFound(
                    f"no entry under '{self.settings.ldap_user_base}' matches {query}",
                    code="ldap_no_entry",
                )
            if len(found) > 1:
                raise Conflict(
                    f"several entries match {query} ({found[0][0]}, {found[1][0]}, ...): "
                    "make ldap_user_filter or ldap_user_base precise enough to find one",
                    code="ldap_several_entries",
                )
            dn, attributes = found[0]
            groups = self._groups(conn, dn, username, attributes)
        return LdapEntry(dn, attributes, groups)

    def _groups(
        self, conn: Connection, dn: str, username: str, attributes: dict[str, list[str]]
    ) -> frozenset[str]:
        mode, base = self.settings.ldap_group_search, self.settings.ldap_group_base
        if mode == "ad_in_chain":
            # The directory follows every level itself.
            query = f"(member:{AD_IN_CHAIN}:={escape_filter_chars(dn)})"
            return frozenset(g for g, _ in self._search(conn, base, query, [], MAX_GROUPS))
        if mode == "memberof":
            direct = set(_values(attributes, "memberOf"))
        else:
            query = "(|(member={0})(uniqueMember={0})(memberUid={1}))".format(
                escape_filter_chars(dn), escape_filter_chars(self._canonical(username, attributes))
            )
            direct = {g for g, _ in self._search(conn, base, query, [], MAX_GROUPS)}
        return frozenset(self._nested(conn, direct))

    def _nested(self, conn: Connection, direct: set[str]) -> set[str]:
        """``direct`` and the groups that contain them, ``ldap_group_depth`` levels up."""
        seen, frontier = set(direct), set(direct)
        for _ in range(self.settings.ldap_group_depth):
            if not frontier or len(seen) >= MAX_GROUPS:
                break
            parents: set[str] = set()
            if self.settings.ldap_group_search == "memberof":
                for group in frontier:
                    for _dn, attrs in self._search(conn, group, None, ["memberOf"], 1, "BASE"):
                        parents.update(_values(attrs, "memberOf"))
            else:
                terms = "".join(
                    f"(member={g})(uniqueMember={g})" for g in map(escape_filter_chars, frontier)
                )
                found = self._search(conn, self.settings.ldap_group_base, f"(|{terms})", [])
                parents = {g for g, _ in found}
            frontier = parents - seen
            seen |= frontier
        if len(seen) > MAX_GROUPS:
            log.warning("LDAP groups: %d found, the first %d kept", len(seen), MAX_GROUPS)
        return set(sorted(seen)[:MAX_GROUPS])

    def _search(
        self,
        conn: Connection,
        base: str,
        query: str | None,
        attributes: list[str],
        limit: int = MAX_GROUPS,
        scope: Literal["BASE", "SUBTREE"] = "SUBTREE",
    ) -> list[tuple[str, dict[str, list[str]]]]:
        conn.search(
            base,
            query or "(objectClass=*)",
            scope,
            attributes=attributes or ["1.1"],  # 1.1: the DNs alone
            size_limit=limit,
            time_limit=self.settings.ldap_timeout_seconds,
        )
        result = conn.result or {}
        if result.get("description") not in ("success", "sizeLimitExceeded", "noSuchObject"):
            raise Unavailable(
                f"the directory refused the search under '{base}' for {query}: "
                f"{result.get('description')} {result.get('message') or ''}".rstrip()
                + "; check ldap_user_base, ldap_group_base and the service account's rights",
                code="ldap_search_failed",
            )
        if result.get("description") == "noSuchObject" and scope == "SUBTREE":
            raise Unavailable(
                f"'{base}' does not exist in the directory: check ldap_user_base and "
                "ldap_group_base",
                code="ldap_search_failed",
            )
        return [
            (str(r["dn"]), dict(r.get("attributes") or {}))
            for r in conn.response or []
            if r.get("type") == "searchResEntry"
        ]

    def _bind_as(self, dn: str, password: str) -> bool:
        if not password:  # an unauthenticated bind would "succeed"
            return False
        with self._connection(dn, password) as conn:
            return bool(conn.bind())

    @contextmanager
    def _service(self) -> Iterator[Connection]:
        password = self.settings.ldap_bind_password.get_secret_value()
        with self._connection(self.settings.ldap_bind_dn or None, password or None) as conn:
            if not conn.bind():
                result = conn.result or {}
                raise Unavailable(
                    f"the directory refused the service account "
                    f"'{self.settings.ldap_bind_dn or '(anonymous)'}': "
                    f"{result.get('description')}; check ldap_bind_dn and ldap_bind_password",
                    code="ldap_bind_refused",
                )
            yield conn

    @contextmanager
    def _connection(self, user: str | None, password: str | None) -> Iterator[Connection]:
        timeout = self.settings.ldap_timeout_seconds
        server = Server(
            self.host,
            port=self.port,
            use_ssl=self.ldaps,
            tls=_VerifiedTls(self._tls_context(), self.host),
            connect_timeout=timeout,
            get_info=NONE,
        )
        conn = Connection(
            server,
            user=user,
            password=password,
            receive_timeout=timeout,
            read_only=True,
            auto_referrals=False,
            raise_exceptions=False,
        )
        try:
            conn.open()
            if not self.ldaps and self.settings.ldap_start_tls:
                conn.start_tls()
            yield conn
        except (LDAPException, OSError) as exc:
            raise self._unavailable(exc) from exc
        finally:
            try:
                conn.unbind()
            except LDAPException:
                log.debug("closing the LDAP connection to %s failed", self.url, exc_info=True)

    def _tls_context(self) -> ssl.SSLContext:
        if self._context is None:
            ca_file = self.settings.ldap_ca_file
            try:
                self._context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise Unavailable(
                    f"cannot read ldap_ca_file '{ca_file}': {exc}; it must be a PEM file of "
                    "the CA certificates that signed the directory's certificate",
                    code="ldap_tls",
                ) from exc
        return self._context

    def _unavailable(self, exc: LDAPException | OSError) -> Unavailable:
        where, reason = f"the directory at {self.url}", _reason(exc)
        if _timed_out(exc):
            return Unavailable(
                f"{where} did not answer within {self.settings.ldap_timeout_seconds} s "
                f"({reason}): check ldap_url and that the server is running; raise "
                "ldap_timeout_seconds for a slow directory",
                code="ldap_timeout",
            )
        if _is_tls(exc):
            return Unavailable(
                f"TLS with {where} failed ({reason}): check that ldap_ca_file holds the CA "
                f"that signed its certificate and that the certificate names '{self.host}'",
                code="ldap_tls",
            )
        return Unavailable(
            f"cannot reach {where} ({reason}): check ldap_url, the network and that the "
            "server is running",
            code="ldap_unreachable",
        )
