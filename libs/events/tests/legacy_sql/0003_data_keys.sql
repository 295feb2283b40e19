-- Data keys for personal fields, kept apart from the events (crypto.py). One active key per
-- (agency, owner); a shredded row keeps its kid, owner and times, so an auditor sees that and
-- when erasure happened, but no key material: what it sealed is unreadable for ever.
CREATE TABLE IF NOT EXISTS {schema}.data_keys (
    kid          text PRIMARY KEY,
    agency       text NOT NULL,
    owner        text NOT NULL,
    kek_id       text NOT NULL,
    wrapped_key  bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    shredded_at  timestamptz,
    CONSTRAINT data_keys_shredded_has_no_key
        CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS data_keys_one_active
    ON {schema}.data_keys (agency, owner) WHERE shredded_at IS NULL;
CREATE INDEX IF NOT EXISTS data_keys_by_owner ON {schema}.data_keys (owner);
GRANT SELECT, INSERT ON {schema}.data_keys TO mend_app;
GRANT UPDATE (wrapped_key, shredded_at) ON {schema}.data_keys TO mend_app;
