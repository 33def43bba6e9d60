"""Events: one record per change, written in the change's own transaction (an outbox), read by
the event API and stream, and delivered to webhooks, chat and mail."""
