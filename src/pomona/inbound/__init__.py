"""Jamf Pro webhooks in: sources, deliveries stored as received, typed events and rules."""
