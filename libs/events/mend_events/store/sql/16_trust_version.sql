-- One counter per schema, raised by every change to the trust tables in the same transaction,
-- and sent with NOTIFY: each instance of the service reloads its snapshot of the trust model
-- when it sees a version newer than the one it holds.
CREATE TABLE IF NOT EXISTS {schema}.trust_version (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint  NOT NULL
);
INSERT INTO {schema}.trust_version (id, version) VALUES (true, 0) ON CONFLICT (id) DO NOTHING;
