from mend_events.app.serve import run

from mend_sessions.app import create

run("sessions", create)
