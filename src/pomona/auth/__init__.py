"""API tokens, scopes and the checks routes use to enforce them."""
