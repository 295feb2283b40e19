"""The auditor's read-only HTTP API as its own process: `python -m mend_audit.server`."""

from mend_events.app.serve import run

from mend_audit.api import create

if __name__ == "__main__":
    run("audit", create)
