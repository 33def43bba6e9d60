"""People: local accounts, roles and their grants, browser sessions, personal API tokens."""
