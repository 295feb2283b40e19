from mend_events.app.serve import run

from mend_hub.app import create

run("hub", create)
