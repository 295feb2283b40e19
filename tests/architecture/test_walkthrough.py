"""The withdrawal walk-through in docs/architecture.md names real code: every `path::Name` it
cites is a file of this tree that defines that function, class or constant (`Class.method`
names a method inside the class), and every plain path it cites exists. A move or a rename
that the page does not follow fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mend_events.messaging.reactions import consumer_rows

from tools.consumer_table import declarations

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
SECTION = "## One withdrawal, file by file"
CITED = re.compile(r"`((?:libs|services)/[\w/.-]+?\.(?:py|sql))(?:::([\w.]+))?`")


def walkthrough() -> str:
    text = DOC.read_text()
    assert SECTION in text, "the withdrawal walk-through is missing from docs/architecture.md"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def defines(tree: ast.AST, dotted: str) -> bool:
    """Whether the module defines `dotted` (`name` or `Class.member`) at its top level."""
    scope: list[ast.stmt] = list(getattr(tree, "body", []))
    for part in dotted.split("."):
        found = None
        for node in scope:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name == part:
                    found = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    found = node
        if found is None:
            return False
        scope = list(getattr(found, "body", []))
    return True


def test_every_step_names_code_that_exists() -> None:
    cited = CITED.findall(walkthrough())
    assert len(cited) >= 25, "the walk-through should cite the code of each step"
    missing = []
    for path, name in cited:
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name and not defines(ast.parse(file.read_text()), name):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_the_walkthrough_covers_every_service_that_reacts_to_a_withdrawal() -> None:
    # The services whose reactions take ConsentWithdrawn or the SessionHalted it causes, read
    # from their declarations (as the generated consumer table is), each appear in it.
    text = walkthrough()
    reacting = {
        row.consumer
        for row in consumer_rows(declarations())
        if row.event_type in {"ConsentWithdrawn", "SessionHalted"}
    }
    assert reacting == {"risk", "sessions", "aftercare", "hub", "disclosure", "circles"}
    for service in reacting:
        # The service's reactions, or a part's (the hub's reminders: mend_hub/notify/).
        cited = re.search(rf"services/{service}/mend_{service}/(\w+/)?reactions.py::Reactions.on_",
                          text)  # fmt: skip
        assert cited, service
