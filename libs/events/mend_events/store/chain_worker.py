"""A worker process of `verify_chain`: reads its range's task from stdin, writes what it found
to stdout (both pickled; it talks only to the process that started it)."""

from __future__ import annotations

import asyncio
import pickle
import sys

from mend_events.store.chain import verify_span_on_snapshot


def main() -> None:
    task = pickle.loads(sys.stdin.buffer.read())
    span = asyncio.run(verify_span_on_snapshot(*task))
    sys.stdout.buffer.write(pickle.dumps(span))


if __name__ == "__main__":
    main()
