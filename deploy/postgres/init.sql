-- Mend's database and roles on a fresh PostgreSQL server; the same objects the local launcher
-- creates (deploy/local/launcher.py). Run as a superuser with psql:
--   * docker compose: mounted into /docker-entrypoint-initdb.d, runs once on an empty volume;
--   * any other server: psql -U postgres -v ON_ERROR_STOP=1 -f deploy/postgres/init.sql
-- Idempotent, so a second run changes nothing.
--
-- The passwords below are development values, identical to the launcher's. Production roles get
-- generated passwords from the secret store (see deploy/k8s/README.md), never these.

-- mend_admin owns the database and runs the migrations (python -m mend_events.migrate). It is
-- not a superuser on purpose: what the migrations need is ownership and membership in
-- mend_owner, which is also all a managed PostgreSQL grants in production, so a migration that
-- needs more fails here first. (The local launcher's mend_admin is the initdb superuser.)
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mend_admin') THEN
    CREATE ROLE mend_admin LOGIN PASSWORD 'mend_admin' CREATEDB CREATEROLE NOSUPERUSER;
  END IF;
END $$;

-- mend_owner owns every schema object and nobody logs in as it: migrations run under
-- SET ROLE mend_owner, so the login that ran them owns nothing and can be rotated freely.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mend_owner') THEN
    CREATE ROLE mend_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END $$;
GRANT mend_owner TO mend_admin;

-- mend_app is what the services connect as: it can log in and nothing more. The migrations
-- grant it the rest, object by object (read events, append only through append_batch).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mend_app') THEN
    CREATE ROLE mend_app LOGIN PASSWORD 'mend_app'
      NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END $$;

-- CREATE DATABASE cannot run in a DO block or a transaction: \gexec runs it only when missing.
SELECT 'CREATE DATABASE mend OWNER mend_admin TEMPLATE template0 ENCODING ''UTF8'' LOCALE ''C.UTF-8'''
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mend')
\gexec

-- Schemas are created by mend_owner only: mend_app may not add schemas or tables, so the
-- database holds exactly what the migrations define.
REVOKE CREATE ON DATABASE mend FROM PUBLIC;
GRANT CREATE ON DATABASE mend TO mend_owner;
GRANT CONNECT ON DATABASE mend TO mend_app;

\connect mend

-- PostgreSQL 15 already withholds CREATE on schema public from PUBLIC; say it explicitly so the
-- script is also safe on older servers and on databases created from a modified template.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
