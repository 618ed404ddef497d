-- 001: schemas, default privileges, extensions and the shared vocabulary.
--
-- Schemas by exposure:
--   api       SECURITY DEFINER functions owned by axiom_definer; the only thing axiom_user can execute.
--   core      tenant data (RLS enabled and forced on every table).
--   audit     append-only, hash-chained evidence (RLS enabled and forced).
--   internal  helpers and trigger functions; installation-wide bookkeeping. Never reachable by axiom_user.
--   ext       extensions (pgcrypto). Reachable only by the roles that need it.

-- Nothing is executable or creatable by PUBLIC unless we say so.
revoke all on schema public from public;
alter default privileges for role axiom_owner revoke execute on functions from public;
alter default privileges for role axiom_definer revoke execute on functions from public;
alter default privileges for role axiom_auth revoke execute on functions from public;
alter default privileges for role axiom_verifier revoke execute on functions from public;

-- The ext schema and pgcrypto come from the per-database bootstrap (db/bootstrap-database.sql), run by
-- a superuser: only a superuser can restrict EXECUTE on extension functions.
do $check$
begin
  if pg_catalog.current_setting('server_encoding') <> 'UTF8' then
    raise exception 'the Axiom database must use the UTF8 encoding (hashes cover UTF-8 bytes)';
  end if;
  if not exists (select 1 from pg_extension where extname = 'pgcrypto')
     or not exists (select 1 from pg_namespace where nspname = 'ext') then
    raise exception 'run the bootstrap step (axiom db migrate with a superuser) before the migrations';
  end if;
end
$check$;

create schema internal;
comment on schema internal is 'Helpers, trigger functions and installation bookkeeping. Not reachable by axiom_user.';
create schema core;
comment on schema core is 'Tenant data. RLS is enabled and forced on every table.';
create schema audit;
comment on schema audit is 'Append-only, hash-chained evidence. INSERT only; triggers refuse UPDATE, DELETE and TRUNCATE.';
create schema api;
comment on schema api is 'The only surface of the database: SECURITY DEFINER functions owned by axiom_definer.';

grant usage on schema api to axiom_user, axiom_worker;
grant usage on schema internal, core, audit, ext to axiom_definer;
grant usage on schema internal, core, ext to axiom_auth;
grant usage on schema internal, core, audit, ext to axiom_verifier;
grant usage on schema internal, core, audit to axiom_reporting;

-- The vocabulary (DESIGN.md §1). Enums are ordered: access levels compare with < and >=.
create type core.plan_tier as enum ('starter', 'growth', 'enterprise');
create type core.environment_tier as enum ('production', 'staging', 'development');
create type core.principal_kind as enum ('human', 'service');
create type core.domain as enum ('cost', 'security', 'drift', 'configuration', 'audit');
create type core.access_level as enum ('read', 'operate', 'author', 'review');
comment on type core.access_level is 'Ordered: read < operate < author < review. A grant at level L allows what needs <= L.';
create type core.lifecycle_state as enum (
  'draft', 'in_review', 'approved', 'effective', 'superseded', 'rejected', 'retired'
);
comment on type core.lifecycle_state is
  'Lifecycle of a controlled record version. Legal transitions live in internal.lifecycle_transition_allowed.';

grant usage on type core.plan_tier, core.environment_tier, core.principal_kind, core.domain,
  core.access_level, core.lifecycle_state to axiom_definer, axiom_reporting, axiom_auth, axiom_verifier;

-- ---------------------------------------------------------------------------------------------
-- Canonical encoding, format v1 (docs/hashing.md is the normative description, with test vectors).
-- Every field is a 4-byte big-endian signed length, then that many bytes; NULL is the length -1 with
-- no bytes. The bytes of each type:
--   uuid        the 16 bytes (uuid_send)
--   int4/int8   4/8 bytes big-endian two's complement
--   boolean     1 byte (0x00 false, 0x01 true)
--   timestamptz 8 bytes big-endian: microseconds since 2000-01-01T00:00:00Z (timestamptz_send)
--   text        the UTF-8 bytes
--   jsonb       the UTF-8 bytes of PostgreSQL's jsonb text (keys ordered by length, then bytes)
--   bytea       the bytes
--   uuid[]      array_send: int4 ndim (1, or 0 when empty), int4 0 (no NULLs), int4 2950 (uuid), then
--               per dimension int4 length and int4 lower bound (1), then per element int4 16 and 16 bytes
-- A hash input is enc_header(subject) followed by the fields in the documented order.
--
-- Text is turned into bytes with textsend, which converts to the client encoding: every api function
-- and every verification function runs with `set client_encoding = 'UTF8'` (the database itself is
-- UTF8, checked above), and the functions that write hashes refuse to run otherwise, so the bytes are
-- the stored UTF-8 whatever the session's setting. textsend is several times cheaper than convert_to.
-- The encoders are plain SQL, declared STABLE (textsend and enum output are),
-- so that the planner inlines them into the hash expressions.
-- ---------------------------------------------------------------------------------------------
create function internal.enc_uuid(p uuid) returns bytea
language sql stable parallel safe
return coalesce('\x00000010'::bytea || pg_catalog.uuid_send(p), '\xffffffff'::bytea);

create function internal.enc_int4(p integer) returns bytea
language sql stable parallel safe
return coalesce('\x00000004'::bytea || pg_catalog.int4send(p), '\xffffffff'::bytea);

create function internal.enc_int8(p bigint) returns bytea
language sql stable parallel safe
return coalesce('\x00000008'::bytea || pg_catalog.int8send(p), '\xffffffff'::bytea);

create function internal.enc_bool(p boolean) returns bytea
language sql stable parallel safe
return coalesce('\x00000001'::bytea || pg_catalog.boolsend(p), '\xffffffff'::bytea);

create function internal.enc_ts(p timestamptz) returns bytea
language sql stable parallel safe
return coalesce('\x00000008'::bytea || pg_catalog.timestamptz_send(p), '\xffffffff'::bytea);

create function internal.enc_text(p text) returns bytea
language sql stable parallel safe
return coalesce(pg_catalog.int4send(pg_catalog.octet_length(p)) || pg_catalog.textsend(p), '\xffffffff'::bytea);

create function internal.enc_jsonb(p jsonb) returns bytea
language sql stable parallel safe
return internal.enc_text(p::text);

create function internal.enc_bytea(p bytea) returns bytea
language sql stable parallel safe
return coalesce(pg_catalog.int4send(pg_catalog.length(p)) || p, '\xffffffff'::bytea);

-- uuid[]: the array's binary send format (array_send; the element type oid of uuid is 2950 in every
-- PostgreSQL), length-prefixed like bytea. A subquery here would cost more than the rest of a row.
create function internal.enc_uuid_array(p uuid[]) returns bytea
language sql stable parallel safe
return internal.enc_bytea(pg_catalog.array_send(p));

-- The header every hash starts with: the format tag and what is being hashed (e.g. 'core.policies').
create function internal.enc_header(p_subject text) returns bytea
language sql stable parallel safe
return internal.enc_text('axiom.v1') || internal.enc_text(p_subject);

grant execute on function internal.enc_uuid(uuid), internal.enc_int4(integer), internal.enc_int8(bigint),
  internal.enc_bool(boolean), internal.enc_ts(timestamptz), internal.enc_text(text), internal.enc_jsonb(jsonb),
  internal.enc_bytea(bytea), internal.enc_uuid_array(uuid[]), internal.enc_header(text)
  to axiom_definer, axiom_verifier;

-- ---------------------------------------------------------------------------------------------
-- Errors. Domain errors use our own SQLSTATEs (class AX); docs/error_codes.md lists them and
-- src/errors.ts maps them to HTTP statuses in one place.
-- ---------------------------------------------------------------------------------------------
create function internal.raise(p_sqlstate text, p_message text, p_reason text default null)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = p_sqlstate, message = p_message, detail = coalesce(p_reason, '');
end
$$;
grant execute on function internal.raise(text, text, text) to axiom_definer, axiom_auth;

-- Hand a function to the role that must own it (axiom_auth, axiom_verifier, axiom_definer). The new
-- owner needs CREATE on the function's schema for the change only; it is taken back at once, so no
-- runtime role can create anything at rest.
create procedure internal.set_function_owner(p_function regprocedure, p_owner name)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_schema name;
begin
  select n.nspname into v_schema from pg_proc p join pg_namespace n on n.oid = p.pronamespace where p.oid = p_function;
  execute format('grant create on schema %I to %I', v_schema, p_owner);
  execute format('alter function %s owner to %I', p_function, p_owner);
  execute format('revoke create on schema %I from %I', v_schema, p_owner);
end
$$;

-- Refuse any change to an append-only table (shared by every audit table and partition).
create function internal.tg__append_only() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using
    errcode = 'AX403',
    message = pg_catalog.format('%s.%s is append-only: %s is refused', tg_table_schema, tg_table_name, tg_op),
    detail = 'append_only';
end
$$;

-- Refuse DELETE and TRUNCATE on tables whose rows are history (versions, grants, sessions).
create function internal.tg__no_delete() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using
    errcode = 'AX403',
    message = pg_catalog.format('%s.%s keeps its history: %s is refused', tg_table_schema, tg_table_name, tg_op),
    detail = 'history_is_kept';
end
$$;
