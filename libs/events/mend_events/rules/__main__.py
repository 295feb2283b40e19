"""`python -m mend_events.rules list | show REF | diff OLD NEW`: the shipped rule packs."""

from __future__ import annotations

import json
import sys

from mend_events.rules import UnknownPack, available, load, parse_ref
from mend_events.rules.diff import render

USAGE = "usage: python -m mend_events.rules list | show ID@VERSION | diff OLD@V NEW@V"


def main(argv: list[str]) -> int:
    try:
        match argv:
            case ["list"]:
                for pack_id, version in available():
                    print(f"{pack_id}@{version}  {load(pack_id, version).title}")
            case ["show", ref]:
                print(json.dumps(parse_ref(ref).model_dump(mode="json"), indent=2))
            case ["diff", old, new]:
                print(render(parse_ref(old), parse_ref(new)))
            case _:
                print(USAGE, file=sys.stderr)
                return 2
    except UnknownPack as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
