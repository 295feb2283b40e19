-- The web app's browser sessions. The cookie holds a random id; only its SHA-256 digest is kept
-- here, so a read of this table cannot be replayed as a cookie. The tokens are the signed-in
-- person's own (the hub's access token, 5 minutes, and its rotating refresh token); the web app
-- acts with them and nothing else. A row without a person is a visitor before sign-in (its CSRF
-- token guards the sign-in form; `challenge` holds the hub's second-factor challenge).

CREATE TABLE IF NOT EXISTS {schema}.web_sessions (
    digest          bytea       PRIMARY KEY,
    csrf            text        NOT NULL,
    agency          text,
    person_id       text,
    role            text,
    access_token    text,
    access_expires  timestamptz,
    refresh_token   text,
    challenge       text,
    created_at      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS web_sessions_last_seen ON {schema}.web_sessions (last_seen);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.web_sessions TO mend_app;
