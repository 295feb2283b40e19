"""The sessions service's pure domain: the case's state and its fold (`state`), the decisions
(`decide`: the `decider`, with `case` for the case's process and `contact` for sessions and
halts), the gates a session passes (`gates`), who may facilitate (`practitioners`), the forms of
contact (`forms`) and the case document the API shows (`document`). No I/O."""

from mend_sessions.domain.decide import WithGates, WithPractitioner, decider

__all__ = ["WithGates", "WithPractitioner", "decider"]
