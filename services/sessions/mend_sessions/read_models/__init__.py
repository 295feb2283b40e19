"""The sessions service's read models (tables in migrations/0001_read_models.sql): the views
of other services' events (`views`: `ConsentView`, `RiskView`, written by the reactions) and
the projection of its own (`cases`: `CaseStates`)."""

from mend_sessions.read_models.cases import CaseStates
from mend_sessions.read_models.views import (
    CONSENT_LOSSES,
    CONSENT_TYPES,
    RISK_TYPES,
    ConsentView,
    RiskView,
)

__all__ = ["CONSENT_LOSSES", "CONSENT_TYPES", "RISK_TYPES", "CaseStates", "ConsentView", "RiskView"]
