from mend_events.serve import run

from mend_sessions.app import create

run("sessions", create)
