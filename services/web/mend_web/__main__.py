"""`python -m mend_web --port 8107`: the web app as its own process (the launcher starts it)."""

import argparse
import os

from mend_events.app.logging import configure_logging
from mend_events.app.serve import serve_app

from mend_web.app import create
from mend_web.settings import DEFAULT_PORT

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="mend_web")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    configure_logging("web")
    # As every process: SIGTERM ends it with exit code 0 within MEND_SHUTDOWN_GRACE_SECONDS.
    # Proxy headers as uvicorn reads them by default (from FORWARDED_ALLOW_IPS only, 127.0.0.1
    # unless set): behind a reverse proxy the browser's address is what the hub's attempt
    # limit counts. No access log (serve_app's default): paths name cases.
    serve_app(create(), host=args.host, port=args.port)
