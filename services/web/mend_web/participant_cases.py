"""Which cases a signed-in participant takes part in. The web app's own case index (issue 17,
built from the services' topics) answers this when it exists; until then an index the
composition root fills (the tests, the demo) stands in. It holds only pseudonymous ids."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol


class ParticipantCases(Protocol):
    async def cases_of(self, agency: str, person_id: str) -> list[str]: ...


class KnownCases:
    """Case ids by (agency, participant)."""

    def __init__(self) -> None:
        self._cases: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, agency: str, person_id: str, case_id: str) -> None:
        if case_id not in self._cases[(agency, person_id)]:
            self._cases[(agency, person_id)].append(case_id)

    async def cases_of(self, agency: str, person_id: str) -> list[str]:
        return list(self._cases.get((agency, person_id), ()))
