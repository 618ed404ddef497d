-- 002: the installation, organizations (tenants), facilities, principals, credentials and sessions,
-- plus the identity functions every RLS policy uses.
--
-- Identity forwarding (DESIGN.md invariants 4 and 5): the application passes a session token to an
-- api function; the function stores it transaction-locally in the setting axiom.session_token; the
-- policies call internal.current_org_id(), which hashes that setting and looks the session up. A
-- setting that is empty, unknown, expired or revoked resolves to NULL, and NULL matches no row.

-- ---------------------------------------------------------------------------------------------
-- Installation: one row. Holds the hash of the operator's bootstrap secret (used to create
-- organizations and to verify every chain), the worker secret's hash, the context key, and
-- installation-wide settings.
-- ---------------------------------------------------------------------------------------------
create table internal.installation (
  singleton boolean primary key default true check (singleton),
  bootstrap_secret_hash bytea not null check (length(bootstrap_secret_hash) = 32),
  worker_secret_hash bytea check (length(worker_secret_hash) = 32),
  -- Key of the pre-authentication context (internal.enter_org_context). Never leaves the database:
  -- readable by the function owner and axiom_auth only.
  context_key bytea not null default ext.gen_random_bytes(32) check (length(context_key) = 32),
  bcrypt_cost integer not null default 12 check (bcrypt_cost between 4 and 15),
  created_at timestamptz not null default now()
);
comment on table internal.installation is
  'Installation-wide secrets (hashed) and settings. Written by `axiom db migrate` as axiom_owner.';
grant select on internal.installation to axiom_definer, axiom_auth;

-- ---------------------------------------------------------------------------------------------
-- Organizations
-- ---------------------------------------------------------------------------------------------
create table core.organizations (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name text not null check (length(name) between 1 and 200),
  plan_tier core.plan_tier not null,
  -- Longest delegation a grant holder may hand out, in days (DESIGN.md invariant 9: "bounded by policy").
  max_delegation_days integer not null default 14 check (max_delegation_days between 1 and 90),
  created_at timestamptz not null default now(),
  -- Lifecycle column: the only column that ever changes (retention, issue 8).
  legal_hold boolean not null default false
);
comment on table core.organizations is 'Tenants. Every tenant row carries organization_id.';

-- Each organization has an OpenPGP key pair: the database encrypts audit before/after states with the
-- public key (pgcrypto), and only the application, holding the key-encryption key, can unwrap the
-- private key. The database can write sealed states but never read them back.
create table core.organization_keys (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  public_key bytea not null check (length(public_key) between 100 and 16384),
  wrapped_private_key bytea not null check (length(wrapped_private_key) between 100 and 65536),
  kek_id text not null check (length(kek_id) between 1 and 512),
  created_at timestamptz not null default now(),
  -- Lifecycle: retired when rotated; a re-wrap under a new KEK inserts a new row and retires this one.
  retired_at timestamptz
);
create unique index organization_keys_one_active on core.organization_keys (organization_id)
  where retired_at is null;

-- ---------------------------------------------------------------------------------------------
-- Facilities: a site of operations (a cloud environment) inside an organization.
-- ---------------------------------------------------------------------------------------------
create table core.facilities (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  slug text not null check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  environment_tier core.environment_tier not null,
  created_at timestamptz not null default now(),
  created_by uuid not null,
  retired_at timestamptz,
  unique (organization_id, slug),
  unique (organization_id, id)
);
create index facilities_org on core.facilities (organization_id);

-- ---------------------------------------------------------------------------------------------
-- Principals: people and service principals (the agent is one per organization).
-- A principal belongs to one organization; a person in several organizations has one principal each.
-- ---------------------------------------------------------------------------------------------
create table core.principals (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  kind core.principal_kind not null,
  is_agent boolean not null default false,
  email text not null check (email = lower(email) and email ~ '^[^@\s]{1,64}@[^@\s]{1,255}$'),
  display_name text not null check (length(display_name) between 1 and 200),
  created_at timestamptz not null default now(),
  created_by uuid,
  -- Lifecycle: a principal is never deleted (Part 11 §11.100(a): signatures are never reassigned).
  disabled_at timestamptz,
  disabled_by uuid,
  unique (organization_id, email),
  unique (organization_id, id),
  check (not is_agent or kind = 'service')
);
create unique index principals_one_agent on core.principals (organization_id) where is_agent;
create index principals_org on core.principals (organization_id);

-- Password credentials: the hash never leaves the database (verified here with pgcrypto's bcrypt).
create table core.password_credentials (
  principal_id uuid primary key references core.principals (id),
  organization_id uuid not null references core.organizations (id),
  password_hash text not null,
  set_at timestamptz not null default now(),
  -- Lifecycle columns.
  failed_attempts integer not null default 0,
  locked_until timestamptz,
  last_failed_at timestamptz
);

-- ---------------------------------------------------------------------------------------------
-- Sessions and API tokens. The token itself is never stored: token_hash = sha256(token).
-- ---------------------------------------------------------------------------------------------
create table core.sessions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null references core.principals (id),
  kind text not null check (kind in ('web', 'api_token', 'agent')),
  name text check (name is null or length(name) between 1 and 100),
  token_hash bytea not null unique check (length(token_hash) = 32),
  -- API tokens only: a list of {domain, facility_id|null, level} the token is limited to.
  -- The effective permission is the intersection with the creator's grants, never more.
  scope jsonb,
  auth_method text not null check (auth_method in ('password', 'oidc', 'saml', 'api_token', 'agent', 'bootstrap')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  idle_timeout interval not null,
  client_ip inet,
  user_agent text check (user_agent is null or length(user_agent) <= 512),
  -- Lifecycle columns.
  last_seen_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_by uuid,
  revoke_reason text,
  check (expires_at > created_at),
  check (idle_timeout > interval '0'),
  check ((kind = 'api_token') = (name is not null))
);
create index sessions_org on core.sessions (organization_id);
create index sessions_principal on core.sessions (principal_id);

-- ---------------------------------------------------------------------------------------------
-- Identity resolution, owned by axiom_auth (BYPASSRLS, SELECT on these tables only; db/bootstrap.sql).
-- ---------------------------------------------------------------------------------------------
grant select on core.sessions, core.principals, core.organizations to axiom_auth;

-- These are PL/pgSQL rather than SQL: a SECURITY DEFINER SQL function is never inlined and would be
-- re-planned on every statement that evaluates an RLS policy; PL/pgSQL keeps its plans for the session.

-- The validated identity behind the transaction's session token, or no row.
create function internal.session_identity()
returns table (
  session_id uuid,
  principal_id uuid,
  organization_id uuid,
  is_agent boolean,
  session_kind text,
  scope jsonb
)
language plpgsql stable security definer parallel restricted
set search_path = pg_catalog, pg_temp
as $$
declare
  v_token text := nullif(pg_catalog.current_setting('axiom.session_token', true), '');
begin
  if v_token is null then
    return;
  end if;
  return query
    select s.id, s.principal_id, s.organization_id, p.is_agent, s.kind, s.scope
      from core.sessions s
      join core.principals p on p.id = s.principal_id
     where s.token_hash = pg_catalog.sha256(pg_catalog.convert_to(v_token, 'UTF8'))
       and s.revoked_at is null
       and s.expires_at > pg_catalog.now()
       and s.last_seen_at + s.idle_timeout > pg_catalog.now()
       and p.disabled_at is null;
end
$$;
comment on function internal.session_identity() is
  'Resolves setting axiom.session_token to (session, principal, organization). Empty or invalid -> no row.';

-- The pre-authentication context. Some calls must act inside one organization before any session
-- exists: creating the organization (proof: the installation bootstrap secret), a sign-in attempt
-- (proof: the principal is looked up, its failure recorded) and opening the agent's session (proof:
-- the worker secret). After checking its proof, the api function calls internal.enter_org_context(org),
-- which stores "org:xid:mac" in setting axiom.context, where mac = HMAC-SHA256(context_key, org:xid)
-- and xid is the current transaction. The key is readable only by axiom_definer and axiom_auth, so a
-- caller who can run set_config cannot forge a context, and a context dies with its transaction.
create function internal.context_org_id()
returns uuid
language plpgsql stable security definer parallel restricted
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parts text[] := pg_catalog.string_to_array(nullif(pg_catalog.current_setting('axiom.context', true), ''), ':');
  v_key bytea;
begin
  if pg_catalog.cardinality(v_parts) is distinct from 3
     or v_parts[1] !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
     or v_parts[2] is distinct from pg_catalog.pg_current_xact_id_if_assigned()::text then
    return null;
  end if;
  select i.context_key into v_key from internal.installation i;
  if v_parts[3] = pg_catalog.encode(
       ext.hmac(pg_catalog.convert_to(v_parts[1] || ':' || v_parts[2], 'UTF8'), v_key, 'sha256'), 'hex') then
    return v_parts[1]::uuid;
  end if;
  return null;
end
$$;

-- The organization every RLS policy compares with. NULL (no row visible) unless a valid credential is set.
create function internal.current_org_id()
returns uuid
language plpgsql stable security definer parallel restricted
set search_path = pg_catalog, pg_temp
as $$
declare
  v uuid;
begin
  select i.organization_id into v from internal.session_identity() i;
  return coalesce(v, internal.context_org_id());
end
$$;

create function internal.current_principal_id()
returns uuid
language plpgsql stable security definer parallel restricted
set search_path = pg_catalog, pg_temp
as $$
declare
  v uuid;
begin
  select i.principal_id into v from internal.session_identity() i;
  return v;
end
$$;

call internal.set_function_owner('internal.session_identity()', 'axiom_auth');
call internal.set_function_owner('internal.context_org_id()', 'axiom_auth');
call internal.set_function_owner('internal.current_org_id()', 'axiom_auth');
call internal.set_function_owner('internal.current_principal_id()', 'axiom_auth');
grant execute on function internal.session_identity(), internal.context_org_id(), internal.current_org_id(),
  internal.current_principal_id() to axiom_definer, axiom_reporting, axiom_verifier;

-- ---------------------------------------------------------------------------------------------
-- Row-level security: enabled and forced, one policy per table, written before any grant.
-- ---------------------------------------------------------------------------------------------
alter table core.organizations enable row level security;
alter table core.organizations force row level security;
create policy tenant on core.organizations
  using (id = (select internal.current_org_id()))
  with check (id = (select internal.current_org_id()));

alter table core.organization_keys enable row level security;
alter table core.organization_keys force row level security;
create policy tenant on core.organization_keys
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

alter table core.facilities enable row level security;
alter table core.facilities force row level security;
create policy tenant on core.facilities
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

alter table core.principals enable row level security;
alter table core.principals force row level security;
create policy tenant on core.principals
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

alter table core.password_credentials enable row level security;
alter table core.password_credentials force row level security;
create policy tenant on core.password_credentials
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

alter table core.sessions enable row level security;
alter table core.sessions force row level security;
create policy tenant on core.sessions
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

-- ---------------------------------------------------------------------------------------------
-- Privileges of the function owner: only what the api functions need, columns named for writes.
-- ---------------------------------------------------------------------------------------------
grant select on core.organizations, core.organization_keys, core.facilities, core.principals,
  core.password_credentials, core.sessions to axiom_definer;
grant insert (id, slug, name, plan_tier, max_delegation_days) on core.organizations to axiom_definer;
grant update (legal_hold) on core.organizations to axiom_definer;
grant insert (organization_id, public_key, wrapped_private_key, kek_id) on core.organization_keys to axiom_definer;
grant update (retired_at) on core.organization_keys to axiom_definer;
grant insert (id, organization_id, slug, name, environment_tier, created_by) on core.facilities to axiom_definer;
grant update (retired_at) on core.facilities to axiom_definer;
grant insert (id, organization_id, kind, is_agent, email, display_name, created_by) on core.principals to axiom_definer;
grant update (disabled_at, disabled_by) on core.principals to axiom_definer;
grant insert (principal_id, organization_id, password_hash) on core.password_credentials to axiom_definer;
grant update (password_hash, set_at, failed_attempts, locked_until, last_failed_at) on core.password_credentials to axiom_definer;
grant insert (id, organization_id, principal_id, kind, name, token_hash, scope, auth_method, expires_at,
  idle_timeout, client_ip, user_agent) on core.sessions to axiom_definer;
grant update (last_seen_at, revoked_at, revoked_by, revoke_reason) on core.sessions to axiom_definer;

grant select on core.organizations, core.organization_keys, core.facilities, core.principals,
  core.sessions to axiom_reporting;

-- History is kept: nothing here is ever deleted.
create trigger _900_no_delete before delete on core.organizations
  for each row execute function internal.tg__no_delete();
create trigger _900_no_delete before delete on core.organization_keys
  for each row execute function internal.tg__no_delete();
create trigger _900_no_delete before delete on core.facilities
  for each row execute function internal.tg__no_delete();
create trigger _900_no_delete before delete on core.principals
  for each row execute function internal.tg__no_delete();
create trigger _900_no_delete before delete on core.sessions
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.organizations
  for each statement execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.organization_keys
  for each statement execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.facilities
  for each statement execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.principals
  for each statement execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.sessions
  for each statement execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.password_credentials
  for each statement execute function internal.tg__no_delete();
