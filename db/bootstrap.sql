-- Bootstrap: run once per cluster with a superuser connection, before any migration.
-- Idempotent: every statement checks first, so running it again changes nothing.
--
-- Roles (see db/CONVENTIONS.md for the full privilege matrix):
--   axiom_owner     owns every schema, table, type and trigger; runs migrations; never used at run time.
--   axiom_definer   owns the api.* SECURITY DEFINER functions; NOT the table owner, so RLS applies to it.
--   axiom_user      the login role of the Node.js process: EXECUTE on api.* and nothing else.
--   axiom_auth      owns the two functions that resolve a session credential to an identity. It is the
--                   only BYPASSRLS role, and it holds SELECT on sessions, principals, organizations and
--                   the installation row, nothing else. (RLS policies call these functions; without a
--                   role that can read a session before the identity is known, the policy on sessions
--                   would recurse.)
--   axiom_verifier  owns the chain verification functions; BYPASSRLS so that one query can verify every
--                   organization; SELECT on the chained tables only; returns identifiers and hashes,
--                   never content.
--   axiom_reporting read-only analytics role: SELECT on the data and audit tables, still under RLS.
--
-- Passwords for the two login roles are set by the caller (src/db/bootstrap.ts) with ALTER ROLE, never
-- written here.

do $bootstrap$
begin
  if not exists (select 1 from pg_roles where rolname = 'axiom_owner') then
    create role axiom_owner login nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'axiom_definer') then
    create role axiom_definer nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'axiom_user') then
    create role axiom_user login nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'axiom_auth') then
    create role axiom_auth nologin nosuperuser nocreatedb nocreaterole noreplication bypassrls noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'axiom_verifier') then
    create role axiom_verifier nologin nosuperuser nocreatedb nocreaterole noreplication bypassrls noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'axiom_reporting') then
    create role axiom_reporting login nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'axiom_worker') then
    -- The job-queue role (graphile-worker): owns only the queue schema and calls api.* like axiom_user.
    create role axiom_worker login nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit;
  end if;

  -- The owner must be able to hand functions to the roles that own them (ALTER FUNCTION ... OWNER TO
  -- needs membership of the new owner). Membership is one way: none of those roles can become the owner.
  if not exists (
    select 1 from pg_auth_members m
    join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member
    where r.rolname = 'axiom_definer' and u.rolname = 'axiom_owner'
  ) then
    grant axiom_definer to axiom_owner;
  end if;
  if not exists (
    select 1 from pg_auth_members m
    join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member
    where r.rolname = 'axiom_auth' and u.rolname = 'axiom_owner'
  ) then
    grant axiom_auth to axiom_owner;
  end if;
  if not exists (
    select 1 from pg_auth_members m
    join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member
    where r.rolname = 'axiom_verifier' and u.rolname = 'axiom_owner'
  ) then
    grant axiom_verifier to axiom_owner;
  end if;
end
$bootstrap$;
