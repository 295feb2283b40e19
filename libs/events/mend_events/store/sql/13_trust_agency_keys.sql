-- The public keys (Ed25519, PEM) that verify an agency's hub-signed tokens, by key id. Keys
-- overlap during a rotation; from `retired_at` on, a token signed with the key is refused.
CREATE TABLE IF NOT EXISTS {schema}.trust_agency_keys (
    agency          text        NOT NULL,
    kid             text        NOT NULL,
    public_key_pem  text        NOT NULL,
    added_at        timestamptz NOT NULL,
    retired_at      timestamptz,
    PRIMARY KEY (agency, kid)
);
