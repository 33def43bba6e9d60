"""Subscriptions: titles that follow a definition published elsewhere (a JSON file, another
patch source's ``/patch/{id}``) under local overrides, and titles that update themselves from a
version source (GitHub releases, a Sparkle appcast, ...)."""
