"""What the CLI suggests next when the server refuses: one table, keyed by the stable ``code``
of each problem the API answers (never by its message, which is for people and may change).

The server names no command and no URL in its messages; the same refusal reads differently in
the CLI, in the web UI and in a script, so each says its own next step from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# code -> the next step, in the CLI's own terms. ``{path}`` is the problem's path.
NEXT_STEPS: Mapping[str, str] = {
    # -- sign-in, sign-up and password reset
    "rate_limited": "wait as many seconds as the message says, then try again",
    "token_invalid": "ask for a new link by email; each one works once, for a limited time",
    # -- tokens and access
    "token_missing": "log in with `pomona login URL` (it asks for a token), or set POMONA_TOKEN",
    "token_unknown": "create a new token on the server with `pomona token create`, then "
    "`pomona login URL` again",
    "scope_missing": "ask an admin for a token with that scope (`pomona token create --scope ...`"
    " on the server)",
    # -- titles
    "title_not_found": "list the titles with `pomona titles list`, or create it with "
    "`pomona titles create FILE`",
    "title_exists": "replace it with `pomona titles replace ID FILE`, or change the id in FILE",
    "title_never_stored": "list the titles with `pomona titles list`",
    "title_id_mismatch": "ids cannot be renamed: create the new id with "
    "`pomona titles create FILE`, then delete the old one with `pomona titles delete ID`",
    "title_forbidden": "use a token that is not limited to titles, or one that includes this one",
    # -- namespaces (publishers)
    "namespace_forbidden": "write in your own namespace (`--namespace`), or ask an admin for a "
    "token limited to this one (`pomona token create --namespace NS` on the server)",
    "namespace_not_found": "list the namespaces with `pomona namespaces list`, or create it with "
    "`pomona namespaces create SLUG --display-name NAME`",
    "namespace_exists": "see it with `pomona namespaces show SLUG`, or pick another slug",
    "namespace_not_empty": "delete its titles first (`pomona titles delete ID`); "
    "`pomona titles list --namespace SLUG` lists them",
    "title_in_other_namespace": "restore into the title's own namespace (`--namespace`), or use "
    "`--policy copy`",
    "revision_mismatch": "someone changed the title meanwhile: see it with "
    "`pomona titles show ID`, reapply your change and try again",
    "revision_not_found": "list the title's revisions with `pomona titles history ID`",
    "revision_is_deletion": "roll back to a revision before it; `pomona titles history ID` "
    "lists them",
    "version_not_found": "list the title's versions with `pomona versions list ID`",
    "version_exists": "edit it with `pomona versions edit ID VERSION FILE`",
    "version_invalid": "give the version as one line without '/' or control characters; a "
    "title with such a version stored must be replaced whole (`pomona titles replace ID FILE`)",
    "last_version": "add another version first (`pomona versions add ID FILE`), or delete the "
    "title with `pomona titles delete ID`",
    "version_order_invalid": "name every version once; `pomona versions list ID` lists them, or "
    "`pomona versions sort ID` orders them by number",
    "no_definitions": "give .json definitions or zips of them",
    "duplicate_title": "keep one definition of each title in what you import",
    "copy_id_exhausted": "delete old copies (`pomona titles delete ID-copy-N`), or import with "
    "`--policy skip` or `--policy replace`",
    "body_too_large": "send less at once (split an import into smaller zips), or raise the "
    "setting the message names on the server",
    "import_too_large": "split the import into smaller ones (a backup without `--history` is "
    "far smaller), or raise import_max_parsed_bytes on the server if it has the memory",
    "import_too_many_documents": "split the import into smaller ones, or raise "
    "archive_max_members on the server",
    "remote_title_not_found": "leave out the ids the other source does not list",
    "too_many_titles": "choose some titles with `--id`, or raise remote_import_max_titles on the "
    "server",
    "fetch_failed": "check the URL with `curl URL/software`; it must be the feed base Jamf Pro "
    "would be given",
    # -- packages
    "package_not_found": "list the packages with `pomona packages list`",
    "package_exists": "add --replace to replace it (the server keeps the old content in its "
    "history)",
    "package_quarantined": "upload the package's original file again with "
    "`pomona packages upload FILE`",
    "package_too_large": "the server's `package_max_bytes` setting is the limit",
    "filename_invalid": "choose the name on the server with --name",
    "upload_not_found": "run the same `pomona packages upload` command again to start afresh",
    "upload_data_gone": "run the same `pomona packages upload` command again to start afresh",
    "upload_busy": "another upload of this file is still sending; run the command again later",
    "upload_checksum_mismatch": "run the same command again: the upload resumes where it stopped",
    "sha256_mismatch": "the file changed or was damaged on the way; run the command again",
    # -- subscriptions and version sources
    "subscription_not_found": "list them with `pomona subscriptions list`",
    "subscription_exists": "see it with `pomona subscriptions list`; delete it first to follow "
    "another URL",
    "subscription_detached": "attach it again with `pomona subscriptions attach ID`",
    "title_id_required": "name the title with `--title ID`",
    "kind_unknown": "use --kind definition or a version source: github, sparkle, electron, "
    "homebrew, page, redirect, jsonpath",
    "source_option_invalid": "give the source's options with `--option NAME=VALUE` "
    "(see docs/subscriptions.md)",
    "interval_invalid": "choose an --every from the server's subscription_min_interval_seconds "
    "to a year",
    "override_invalid": "fix the overrides file; each problem names its field",
    "no_version_found": "check the source's URL and its pattern or path with "
    "`pomona subscriptions check ID --dry-run`",
    # -- jobs
    "job_not_found": "a job's id is in the answer that started it",
    # -- Jamf Pro webhooks in
    "inbound_source_not_found": "list the sources with `pomona jamf webhook sources list`, or add "
    "one with `pomona jamf webhook sources add NAME`",
    "inbound_source_exists": "pick another name; `pomona jamf webhook sources list` lists them",
    "inbound_auth_failed": "send the same credentials as the source: --header 'Name: value' or "
    "--auth basic:USER:PASSWORD (an admin sees the header names in "
    "`pomona jamf webhook sources list --json`)",
    "inbound_auth_none_refused": "give the source a header secret (--header 'Authorization: "
    "Bearer SECRET') or Basic (--basic USER:PASSWORD); --no-auth accepts anyone",
    "inbound_header_refused": "Jamf Pro does not send that header: use another, such as "
    "Authorization or X-Webhook-Secret",
    "inbound_rule_action": "use `notify`, or an action the message lists",
    "webhook_unreadable": "send the webhook as Jamf Pro does: JSON, or <JSSEvent> XML; "
    "`pomona jamf webhook send EVENT --to URL --show` prints samples",
    # -- notifications
    "notification_exists": "remove the subscription first to change its mode",
    "notification_pattern_invalid": "write an event type such as title.version_added, or a "
    "pattern such as title.* or *.failed",
    # -- events and webhooks
    "event_type_unknown": "see the event types with `pomona events tail --help` or in "
    "docs/webhooks.md; a pattern ends in `.*` (title.*)",
    "event_type_invalid": "write an event type as domain.what_happened (title.version_added), or "
    "a pattern such as title.*",
    "event_type_not_found": "the event catalogue is in docs/webhooks.md",
    "url_refused": "use a public address, or ask an admin to add the network to the "
    "fetch_allowed_networks setting",
    "webhook_endpoint_not_found": "list the endpoints with `pomona webhooks list`",
    "webhook_delivery_not_found": "list the deliveries with `pomona webhooks deliveries ENDPOINT`",
    "webhook_kind_invalid": "use --kind signed, slack, teams or patchserver",
    "last_event_id_invalid": "resume with `pomona events tail --after SEQ`, SEQ an event's seq",
    # -- replication
    "invitation_invalid": "copy the whole code `pomona peers invite` printed on the other site",
    "invitation_gone": "make a new code with `pomona peers invite` on the other site",
    "site_url_missing": "set replication_site_url (or public_url) in the server's settings",
    "peer_not_found": "list the peers with `pomona peers list`",
    "peer_unreachable": "check the other site is up and its URL reachable from this one "
    "(a private address needs fetch_allowed_networks), then try again",
    "peer_unpaired": "pair again: `pomona peers invite` there, `pomona peers join CODE` here",
    "window_invalid": "write the window as HH:MM-HH:MM in UTC, e.g. 22:00-06:00",
    # -- Jamf Pro companion
    "jamf_connection_not_found": "list the connections with `pomona jamf connection list`, or add "
    "one with `pomona jamf connection add NAME URL`",
    "jamf_connection_exists": "change it with `pomona jamf connection edit NAME`",
    "jamf_auth_failed": "set the credentials again with `pomona jamf connection edit NAME`, then "
    "`pomona jamf check NAME`",
    "jamf_privilege_missing": "`pomona jamf check NAME` lists the privileges to grant the API "
    "role or account in Jamf Pro",
    "jamf_unreachable": "check the URL with `pomona jamf connection show NAME`, and that Jamf Pro "
    "answers from the Pomona server",
    "jamf_push_unverified": "push again with `pomona jamf push FILENAME --to NAME`: it repairs "
    "the file and the record",
    "jcds_upload_failed": "push again with `pomona jamf push FILENAME --to NAME`: it resumes "
    "where it stopped",
    "jamf_package_in_use": "remove it from the policies and patch titles named, or add --force",
    "jamf_push_not_found": "list the pushes with `pomona jamf pushes`",
    "public_url_unset": "set public_url in the server's configuration to the address Jamf Pro "
    "reaches Pomona at",
    "secret_key_changed": "restore the previous secret_key, or set the secret again with "
    "`pomona jamf connection edit NAME`",
}


def next_steps(problems: Iterable[Mapping[str, Any]]) -> list[str]:
    """The next steps for these problems, each once, in the order of the problems."""
    steps: list[str] = []
    for problem in problems:
        step = NEXT_STEPS.get(str(problem.get("code") or ""))
        if step is not None:
            step = step.replace("{path}", str(problem.get("path") or ""))
            if step not in steps:
                steps.append(step)
    return steps
