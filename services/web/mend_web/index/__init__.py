"""The web app's own read model: a case index built from the five services' topics (consent,
risk, sessions, aftercare, hub), so lists, queues and searches never fan out to every service.

- `model`: one case's entry and the pure fold of events into it (stage, harm category,
  practitioners, participants, gates, due items, last activity);
- `tables.CaseIndex`: the projection writing the index's tables (schema `web`);
- `feed`: the inbox consumer that applies the topics to it (read-only Kafka principal `web`);
- `queries.Index`: the questions pages ask (see its module for the API): `queue`, `search`,
  `caseload`, `caseloads`, `cases_of`.
"""

from mend_web.index.queries import Index, Search

__all__ = ["Index", "Search"]
