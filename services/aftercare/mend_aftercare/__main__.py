from mend_events.app.serve import run

from mend_aftercare.app import create

run("aftercare", create)
