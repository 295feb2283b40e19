from mend_events.app.serve import run

from mend_circles.app import create

run("circles", create)
