-- The consent service's read model: grants in force by status, one row each. Rebuilt from
-- the events at any time (projection `current_grants`).
CREATE TABLE {schema}.current_grants (
    case_id          text NOT NULL,
    grant_id         uuid NOT NULL,
    participant_id   text NOT NULL,
    participant_role text NOT NULL,
    scope            text NOT NULL,
    given_at         timestamptz NOT NULL,
    expires_at       timestamptz,
    PRIMARY KEY (case_id, grant_id)
);
CREATE INDEX current_grants_expiring ON {schema}.current_grants (expires_at)
    WHERE expires_at IS NOT NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.current_grants TO mend_app;
