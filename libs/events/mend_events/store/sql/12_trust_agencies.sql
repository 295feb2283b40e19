-- The trust model (mend_events.security.trust): the agencies of the deployment as the hub's
-- events made them known here. `status` active or suspended (every token of a suspended agency
-- is refused); `sign_in` local (hub-signed tokens, keys below) or oidc (the agency's own
-- provider: its issuer URL, JWKS URL, audience and the claims naming role and person).
CREATE TABLE IF NOT EXISTS {schema}.trust_agencies (
    agency         text        PRIMARY KEY,
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    sign_in        text        NOT NULL DEFAULT 'local' CHECK (sign_in IN ('local', 'oidc')),
    issuer         text,
    jwks_url       text,
    audience       text,
    role_claim     text,
    subject_claim  text,
    changed_at     timestamptz NOT NULL,
    source_event_id uuid       NOT NULL
);
