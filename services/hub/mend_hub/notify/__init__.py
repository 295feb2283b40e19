"""Reminders and notices (R10): a participant's opt-in reminders and staff notices, queued as
events, delivered through an outbox to a pluggable channel (`part` mounts it on the hub)."""
