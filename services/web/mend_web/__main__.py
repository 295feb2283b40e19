import os

import uvicorn

from mend_web.app import create
from mend_web.settings import DEFAULT_PORT

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="mend_web")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    uvicorn.run(create(), host=args.host, port=args.port, proxy_headers=False)
