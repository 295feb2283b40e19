-- The staff of the agencies the hub knows, with their enrolled role: a deactivated person's
-- tokens are refused, and a token claiming another staff role than the enrolled one too.
CREATE TABLE IF NOT EXISTS {schema}.trust_staff (
    agency       text        NOT NULL,
    person_id    text        NOT NULL,
    role         text        NOT NULL,
    active       boolean     NOT NULL DEFAULT true,
    changed_at   timestamptz NOT NULL,
    PRIMARY KEY (agency, person_id)
);
