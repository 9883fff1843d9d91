-- The database roles of docs/database-roles.md, converged by a superuser (idempotent):
-- scripts/stack.sh runs it on every `up`, the compose PostGIS container on its first start.
--
--   psql -v owner=molam_owner -v owner_password=... -v app=molam -v app_password=... \
--        -v db=molam -v owner_createdb=off -v legacy=molam -f scripts/db/roles.sql
--
-- owner: owns the database and every schema object; `migrate` runs as it. Not a superuser.
-- app:   what the application (web, worker, beat, consumer) logs in as: no superuser, no
--        CREATEROLE/CREATEDB, no membership of the owner; its table privileges are granted
--        by `migrate` (common/dbroles.py), never ownership.
-- owner_createdb=on only for the test profile (pytest creates its database as the owner).
\set ON_ERROR_STOP 1

SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec

-- Also demotes an app role created superuser by an older scripts/stack.sh.
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE %s NOREPLICATION NOBYPASSRLS '
              'PASSWORD %L', :'owner',
              CASE WHEN :'owner_createdb' = 'on' THEN 'CREATEDB' ELSE 'NOCREATEDB' END,
              :'owner_password') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION '
              'NOBYPASSRLS PASSWORD %L', :'app', :'app_password') \gexec

-- The app role is a member of no role (least of all the owner): it has only its grants.
SELECT format('REVOKE %I FROM %I', r.rolname, :'app')
  FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid
  JOIN pg_roles a ON a.oid = m.member
 WHERE a.rolname = :'app' \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec

\connect :db
-- Extensions need a superuser; the schema's tables are the owner's.
CREATE EXTENSION IF NOT EXISTS postgis;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Schema objects owned by the app role or by :legacy (older layouts, where the app role,
-- or a compose volume's initdb superuser, ran the migrations) are handed to the owner.
-- Extension members stay the extension's; a sequence of a column follows its table. Not
-- REASSIGN OWNED: that would also take the temporary tables of live app sessions.
SELECT format('ALTER %s public.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              c.relname, :'owner')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND pg_get_userbyid(c.relowner) IN (:'app', :'legacy')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
 ORDER BY c.relkind = 'S', c.relname \gexec
SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, :'owner')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
   AND pg_get_userbyid(p.proowner) IN (:'app', :'legacy')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 \gexec
