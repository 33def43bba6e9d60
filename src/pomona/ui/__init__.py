"""The web UI under ``/ui``: server-rendered pages (Jinja2) made live with htmx, calling the same
services, with the same permission checks, as the API (see docs/ui.md)."""
