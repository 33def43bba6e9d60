"""HTTP routes of the accounts domain: sign-in and sessions, sign-up and password reset by
email, people, a person's own account."""

from __future__ import annotations

from pomona.accounts.routes import me, oidc, session, signup, users

# ``me`` first: its paths would otherwise be read as a user named "me".
ROUTERS = (session.api, oidc.api, signup.api, me.api, users.api)
