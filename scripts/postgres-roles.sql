-- The two PostgreSQL roles of a PersonaGym database on a server you run (the AppHost's external mode): the owner,
-- used only by the migration step, and the role the Api and the workers log in as (rows only). The AppHost does the
-- same for its own servers (PersonaGym.Data's DatabaseRoles); docs/security.md explains the layout.
--
-- Run it as a superuser (or a role with CREATEROLE that may create databases), with the passwords in psql variables
-- rather than on a command line others can read:
--
--   export PGPASSWORD=…                                    # the superuser's
--   psql "host=db.example user=postgres dbname=postgres" \
--     -v database=personagym -v owner=personagym_owner -v service=personagym_service \
--     -v owner_password="$OWNER_PASSWORD" -v service_password="$SERVICE_PASSWORD" \
--     -f scripts/postgres-roles.sql
--
-- Then give the AppHost both connection strings:
--   ConnectionStrings:personagym-owner  Host=db.example;Database=personagym;Username=personagym_owner;Password=…
--   ConnectionStrings:personagym        Host=db.example;Database=personagym;Username=personagym_service;Password=…
-- It is idempotent: run it again to change the passwords.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', :'owner') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'service') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'service') \gexec
ALTER ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';
ALTER ROLE :"service" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'service_password';

SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''', :'database', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"owner";
-- Only the two roles (and superusers) may connect.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"service";

\connect :database
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- What the migration step also grants after every migration (PersonaGym:Database:ServiceRole): rows of every table
-- and the sequences, now and, through default privileges of the owner, for the tables later migrations create.
SET ROLE :"owner";
GRANT USAGE ON SCHEMA public TO :"service";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"service";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"service";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"service";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"service";
RESET ROLE;
