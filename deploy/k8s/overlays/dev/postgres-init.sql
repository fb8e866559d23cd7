-- Run once by the postgres image on an empty data volume
-- (/docker-entrypoint-initdb.d): by docker-compose.yml's postgres and by
-- the Kubernetes dev overlay's StatefulSet (kustomize reads files only from
-- the overlay's own folder, hence here). Database per service (SPEC §1): each
-- service logs in as its own role, which owns its database and is the only
-- ordinary role allowed to connect to it. The native setup (scripts/up)
-- creates the same databases (w2meet_users, w2meet_jobs, w2meet_meetings) on the local
-- server. The passwords are development defaults and must match the
-- DATABASE_URL of docker-compose.yml and of this overlay's Secret; the server
-- is reachable only on the compose network `backend` (not published) or
-- inside the namespace.
CREATE ROLE w2meet_users LOGIN PASSWORD 'w2meet_users';
CREATE DATABASE w2meet_users OWNER w2meet_users;
REVOKE CONNECT, TEMPORARY ON DATABASE w2meet_users FROM PUBLIC;

CREATE ROLE w2meet_jobs LOGIN PASSWORD 'w2meet_jobs';
CREATE DATABASE w2meet_jobs OWNER w2meet_jobs;
REVOKE CONNECT, TEMPORARY ON DATABASE w2meet_jobs FROM PUBLIC;

CREATE ROLE w2meet_meetings LOGIN PASSWORD 'w2meet_meetings';
CREATE DATABASE w2meet_meetings OWNER w2meet_meetings;
REVOKE CONNECT, TEMPORARY ON DATABASE w2meet_meetings FROM PUBLIC;
