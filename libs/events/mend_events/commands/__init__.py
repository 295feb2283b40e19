"""Handling a command: the command service (per-stream serialisation, retries), idempotency keys
and the system actor of reactions."""
