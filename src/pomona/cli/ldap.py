"""``pomona ldap test USER``: what sign-in would find in the directory, step by step.

It asks the directory exactly what a sign-in asks (the same code), and prints the entry found,
its attributes, its groups and the role specs they map to; when a step fails it prints the
directory's answer and a command to look further by hand.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import TextIO

from ldap3.utils.conv import escape_filter_chars
from rich.console import Console
from rich.markup import escape

from pomona.accounts.directory import role_specs
from pomona.accounts.ldap import LdapDirectory, LdapEntry
from pomona.errors import DomainError
from pomona.settings import Settings


def _next_steps(settings: Settings, username: str, code: str) -> list[str]:
    """What to run by hand to see what Pomona saw, for each way a step fails."""
    url = settings.ldap_url or ""
    bind = f"-D {shlex.quote(settings.ldap_bind_dn)} -W" if settings.ldap_bind_dn else "-x"
    host = url.split("//", 1)[-1].rstrip("/")
    starttls = "" if url.startswith("ldaps") else " -starttls ldap"
    query = settings.ldap_user_filter.replace("{username}", escape_filter_chars(username))
    search = (
        f"ldapsearch -H {url}{' -ZZ' if starttls else ''} {bind} "
        f"-b {shlex.quote(settings.ldap_user_base)} {shlex.quote(query)} dn"
    )
    return {
        "ldap_unreachable": [f"is it listening? nc -vz {host.replace(':', ' ')}"],
        "ldap_timeout": [f"is it listening? nc -vz {host.replace(':', ' ')}"],
        "ldap_tls": [
            f"see the certificate it presents: openssl s_client -connect {host}{starttls} "
            "-showcerts",
            "ldap_ca_file must hold the CA that signed it (PEM), and the certificate must name "
            "the host of ldap_url",
        ],
        "ldap_bind_refused": [
            f"try the service account: ldapwhoami -H {url}{' -ZZ' if starttls else ''} {bind}"
        ],
        "ldap_search_failed": [f"run the search by hand: {search}"],
        "ldap_no_entry": [f"run the search by hand: {search}"],
        "ldap_several_entries": [
            f"see every entry it finds: {search}",
            "narrow ldap_user_base, or add a condition to ldap_user_filter such as "
            "(objectClass=person)",
        ],
        "ldap_username_refused": ["change ldap_username_pattern if such names are right"],
    }.get(code, [])


# Why a person may show no group, for each way of finding them.
_NO_GROUPS = {
    "memberof": "the entry has no memberOf; if the directory does not keep it (OpenLDAP without "
    'the memberof overlay), use ldap_group_search = "search"',
    "search": "no group under ldap_group_base names this entry in member or uniqueMember, or "
    "its name in memberUid",
    "ad_in_chain": "the in-chain rule is Active Directory's; other directories find nothing "
    'with it: use "memberof" or "search"',
}


def _print_entry(out: Console, settings: Settings, entry: LdapEntry) -> None:
    out.print(f"found       {escape(entry.dn)}", highlight=False)
    for name, values in sorted(entry.attributes.items()):
        if name.lower() == "memberof":  # shown as groups below
            continue
        for value in values if isinstance(values, list) else [values]:
            out.print(f"  {name:<12} {escape(str(value))}", highlight=False)
    depth = (
        "every level"
        if settings.ldap_group_search == "ad_in_chain"
        else f"{settings.ldap_group_depth} levels of nesting"
    )
    out.print(f"groups      {len(entry.groups)} ({settings.ldap_group_search}, {depth})")
    if not entry.groups:
        out.print(f"  none: {_NO_GROUPS[settings.ldap_group_search]}", highlight=False)
    for group in sorted(entry.groups):
        specs = role_specs(frozenset({group}), settings.group_roles)
        out.print(f"  {escape(group)}  ->  {', '.join(sorted(specs)) or '-'}", highlight=False)
    specs = role_specs(entry.groups, settings.group_roles)
    if specs:
        out.print(f"roles       {', '.join(sorted(specs))}", highlight=False)
    else:
        out.print("roles       none: no group of this person is a key of group_roles")


def report(settings: Settings, username: str, password: TextIO | None) -> int:
    """Print what sign-in would find for ``username``; the exit status (0: it would work)."""
    # Long DNs stay on one line, whatever the width of the terminal (or of none).
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    if not settings.ldap_url:
        err.print("[red]error:[/red] ldap_url is not set: there is no directory to ask")
        return 2
    directory = LdapDirectory(settings)
    mode = "LDAPS" if directory.ldaps else "StartTLS" if settings.ldap_start_tls else "no TLS"
    trust = settings.ldap_ca_file or "the system's trust store"
    out.print(f"directory   {settings.ldap_url} ({mode}; certificates checked with {trust})")
    out.print(
        f"searching   {escape(settings.ldap_user_filter)} under "
        f"{escape(settings.ldap_user_base)} as {escape(settings.ldap_bind_dn or 'anonymous')}",
        highlight=False,
    )
    secret = password.readline().rstrip("\r\n") if password else None

    async def ask() -> tuple[LdapEntry, bool | None]:
        entry = await directory.find(username)
        if secret is None:
            return entry, None
        return entry, await directory.check_password(entry.dn, secret)

    try:
        entry, accepted = asyncio.run(ask())
    except DomainError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {escape(problem.message)}", highlight=False)
        for step in _next_steps(settings, username, exc.code):
            err.print(f"next: {escape(step)}", highlight=False)
        return 1
    _print_entry(out, settings, entry)
    person = directory.person(username, entry)
    email = f" <{person.email}>" if person.email else ""
    out.print(f"person      {person.username}, {person.display_name}{email}", highlight=False)
    if accepted is None:
        out.print("password    not checked (give it on standard input with --password-stdin)")
        return 0
    if not secret:
        err.print(
            "[red]error:[/red] the password is empty, and an empty password is always refused"
        )
        return 1
    if not accepted:
        err.print(
            f"[red]error:[/red] the directory refused this password for {escape(entry.dn)}: "
            "sign-in would fail",
            highlight=False,
        )
        return 1
    out.print("password    accepted: sign-in would succeed")
    return 0
