-- Bootstrap, per database: run with a superuser connection inside the Axiom database, after
-- db/bootstrap.sql and before the migrations. Idempotent.
--
-- pgcrypto is a trusted extension, but its functions are always owned by the bootstrap superuser,
-- so only a superuser can take EXECUTE away from PUBLIC and hand it out by name. That happens here.

create schema if not exists ext authorization axiom_owner;
comment on schema ext is 'Extensions. axiom_user has no USAGE here.';
create extension if not exists pgcrypto with schema ext;

revoke execute on all functions in schema ext from public;
grant execute on function
  ext.digest(bytea, text), ext.hmac(bytea, bytea, text), ext.gen_random_bytes(integer), ext.crypt(text, text),
  ext.gen_salt(text, integer), ext.pgp_pub_encrypt_bytea(bytea, bytea, text), ext.dearmor(text),
  ext.pgp_sym_encrypt_bytea(bytea, text, text)
  to axiom_definer;
grant execute on function ext.hmac(bytea, bytea, text), ext.crypt(text, text) to axiom_auth;
-- The owner uses gen_random_bytes for the installation row's defaults.
grant execute on function ext.gen_random_bytes(integer) to axiom_owner;

revoke all on schema public from public;

-- The job queue (graphile-worker, issue 5) lives in its own schema owned by axiom_worker, which runs
-- the queue's own migrations there and holds no privilege on core, audit or internal. The schema and
-- the queue's migration ledger are created here (CREATE SCHEMA needs CREATE on the database, which no
-- runtime role has); graphile-worker creates everything else inside it.
create schema if not exists graphile_worker authorization axiom_worker;
revoke all on schema graphile_worker from public;
set role axiom_worker;
create table if not exists graphile_worker.migrations (
  id int primary key,
  ts timestamptz default now() not null
);
alter table graphile_worker.migrations add column if not exists breaking boolean not null default false;
reset role;
