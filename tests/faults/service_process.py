"""A service as its own process on a test's schema and topics, run exactly as
`python -m mend_<service>` runs it (`mend_events.app.serve.run`: uvicorn, uvloop, the same
signal handling and shutdown), for the fault matrix's rows that kill, freeze or cut off a
service process.

    service_process.py <service> --schema S --prefix P --port N [--host H] [--option k=v ...]
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mend_events.app import serve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("--schema", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--port", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--option", action="append", default=[], help="k=v (an integer)")
    args = parser.parse_args()
    build = importlib.import_module(f"mend_{args.service}.app").build
    options = {k: int(v) for k, v in (o.split("=", 1) for o in args.option)}
    sys.argv = [f"mend_{args.service}", "--host", args.host, "--port", args.port]
    serve.run(
        args.service,
        lambda: build(schema=args.schema, topic_prefix=args.prefix, **options)[0],
    )


if __name__ == "__main__":
    main()
