"""`python -m mend_web.index rebuild [--schema web]`: the case index emptied and replayed from
the five topics by the web app's next start (mend_web.index.feed.rebuild). Run it with the web
app stopped, then start it; the index fills again as its new consumer group reads every topic
from the start (a page shows fewer cases until it has caught up)."""

from __future__ import annotations

import argparse
import asyncio

from mend_events.app.db import connect
from mend_events.app.settings import Settings

from mend_web.index.feed import rebuild


async def main(schema: str) -> int:
    conn = await connect(Settings.from_env().database_url)
    try:
        generation = await rebuild(conn, schema)
    finally:
        await conn.close()
    print(f"case index in {schema} emptied: generation {generation} replays on the next start")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["rebuild"])
    parser.add_argument("--schema", default="web")
    raise SystemExit(asyncio.run(main(parser.parse_args().schema)))
