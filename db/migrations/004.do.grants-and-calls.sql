-- 004: grants, delegation (DESIGN.md invariants 9 and 10) and the frame every api function runs in.

-- ---------------------------------------------------------------------------------------------
-- Grants. facility_id NULL means organization-wide. A delegation is a grant with a source grant.
-- ---------------------------------------------------------------------------------------------
create table core.grants (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null,
  domain core.domain not null,
  facility_id uuid,
  level core.access_level not null,
  granted_by uuid not null,
  reason text not null check (length(btrim(reason)) between 3 and 1000),
  valid_from timestamptz not null default now(),
  valid_until timestamptz,
  delegation_type text check (delegation_type in ('horizontal', 'vertical')),
  source_grant_id uuid,
  created_at timestamptz not null default now(),
  -- Lifecycle columns: a grant is revoked, never deleted or edited.
  revoked_at timestamptz,
  revoked_by uuid,
  revoke_reason text check (revoke_reason is null or length(btrim(revoke_reason)) between 3 and 1000),
  unique (organization_id, id),
  foreign key (organization_id, principal_id) references core.principals (organization_id, id),
  foreign key (organization_id, granted_by) references core.principals (organization_id, id),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id),
  foreign key (organization_id, source_grant_id) references core.grants (organization_id, id),
  -- Nobody grants or delegates to themselves (invariant 10).
  constraint grants_not_to_self check (granted_by <> principal_id),
  constraint grants_delegation_shape check ((delegation_type is null) = (source_grant_id is null)),
  constraint grants_delegation_expires check (source_grant_id is null or valid_until is not null),
  constraint grants_valid_window check (valid_until is null or valid_until > valid_from),
  check ((revoked_at is null) = (revoked_by is null))
);
comment on table core.grants is
  'Who may do what: (principal, domain, facility, level). Delegations carry source_grant_id and die with it.';
create index grants_lookup on core.grants (organization_id, principal_id, domain);
create index grants_source on core.grants (source_grant_id) where source_grant_id is not null;

alter table core.grants enable row level security;
alter table core.grants force row level security;
create policy tenant on core.grants
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

grant select on core.grants to axiom_definer, axiom_reporting;
grant insert (id, organization_id, principal_id, domain, facility_id, level, granted_by, reason, valid_from,
  valid_until, delegation_type, source_grant_id) on core.grants to axiom_definer;
grant update (revoked_at, revoked_by, revoke_reason) on core.grants to axiom_definer;

-- 1 for read .. 4 for review.
create function internal.level_rank(p core.access_level)
returns integer
language sql stable parallel safe
return pg_catalog.array_position(pg_catalog.enum_range(null::core.access_level), p);

-- Is this grant in force now? A delegation is in force only while its source is.
create function internal.grant_in_force(g core.grants)
returns boolean
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return g.revoked_at is null
     and g.valid_from <= now()
     and (g.valid_until is null or g.valid_until > now())
     and (g.source_grant_id is null or exists (
           select 1 from core.grants s
            join core.principals sp on sp.id = s.principal_id
            where s.id = g.source_grant_id
              and s.revoked_at is null
              and s.valid_from <= now()
              and (s.valid_until is null or s.valid_until > now())
              and sp.disabled_at is null));
end
$$;

-- Every rule of invariants 9 and 10 that can be checked on the row, as the last line of defence:
-- the api functions call the same rules first, this trigger holds even if a function forgets.
create function internal.tg_grants__rules()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_delegate core.principals;
  v_granter core.principals;
  v_source core.grants;
  v_max_days integer;
begin
  if new.revoked_at is not null then
    perform internal.raise('AX422', 'a grant cannot be created revoked', 'invalid_state');
  end if;
  select * into v_delegate from core.principals where id = new.principal_id;
  select * into v_granter from core.principals where id = new.granted_by;
  if v_delegate.disabled_at is not null then
    perform internal.raise('AX422', 'grants cannot be given to a disabled principal', 'principal_disabled');
  end if;
  if v_granter.is_agent then
    perform internal.raise('AX403', 'the agent cannot grant or delegate', 'agent_cannot_grant');
  end if;
  if new.source_grant_id is not null and v_delegate.is_agent then
    perform internal.raise('AX403', 'the agent cannot receive a delegation', 'agent_delegation');
  end if;
  -- The agent authors plans and runs scans; it never reviews, approves or changes configuration.
  if v_delegate.is_agent and (new.level = 'review' or (new.domain in ('configuration', 'audit') and new.level > 'read')) then
    perform internal.raise('AX403',
      pg_catalog.format('the agent cannot hold %s in %s', new.level, new.domain), 'agent_level_forbidden');
  end if;

  if new.source_grant_id is null then
    return new;
  end if;

  -- Delegation rules (invariant 9).
  if new.granted_by = new.principal_id then
    perform internal.raise('AX422', 'nobody can delegate to themselves', 'self_delegation');
  end if;
  select * into v_source from core.grants where id = new.source_grant_id;
  if not found then
    perform internal.raise('AX404', 'source grant not found', 'source_not_found');
  end if;
  if v_source.source_grant_id is not null then
    perform internal.raise('AX422', 'a delegated grant cannot be delegated again', 're_delegation');
  end if;
  if v_source.principal_id <> new.granted_by then
    perform internal.raise('AX403', 'only the holder of a grant can delegate it', 'not_source_holder');
  end if;
  if not internal.grant_in_force(v_source) then
    perform internal.raise('AX422', 'the source grant is revoked or expired', 'source_not_in_force');
  end if;
  if v_source.facility_id is null then
    perform internal.raise('AX422', 'organization-wide grants cannot be delegated', 'source_org_wide');
  end if;
  if new.domain <> v_source.domain then
    perform internal.raise('AX422', 'a delegation keeps the domain of its source', 'wrong_domain');
  end if;
  if new.facility_id is distinct from v_source.facility_id then
    perform internal.raise('AX422', 'a delegation applies at the facility of its source grant', 'wrong_facility');
  end if;
  if new.delegation_type = 'horizontal' then
    if new.level <> v_source.level then
      perform internal.raise('AX422', 'a horizontal delegation carries exactly the level of its source', 'wrong_level');
    end if;
    -- The delegate must already hold this level or higher, in this domain, at a different facility,
    -- through a grant of its own (not a delegation).
    if not exists (
      select 1 from core.grants g
       where g.principal_id = new.principal_id
         and g.domain = new.domain
         and g.level >= new.level
         and g.facility_id is not null
         and g.facility_id <> v_source.facility_id
         and g.source_grant_id is null
         and internal.grant_in_force(g)) then
      perform internal.raise('AX422',
        'horizontal delegation needs a delegate who holds the same or a higher level in this domain at another facility',
        'horizontal_requires_peer');
    end if;
  else
    if internal.level_rank(new.level) <> internal.level_rank(v_source.level) - 1 then
      perform internal.raise('AX422', 'a vertical delegation is exactly one level below its source', 'wrong_level');
    end if;
  end if;
  select o.max_delegation_days into v_max_days from core.organizations o where o.id = new.organization_id;
  if new.valid_until > pg_catalog.now() + pg_catalog.make_interval(days => v_max_days) then
    perform internal.raise('AX422',
      pg_catalog.format('a delegation may last at most %s days', v_max_days), 'expiry_beyond_policy');
  end if;
  if v_source.valid_until is not null and new.valid_until > v_source.valid_until then
    perform internal.raise('AX422', 'a delegation cannot outlive its source grant', 'outlives_source');
  end if;
  return new;
end
$$;

create function internal.tg_grants__lifecycle_only()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if (to_jsonb(new) - array['revoked_at', 'revoked_by', 'revoke_reason'])
     is distinct from (to_jsonb(old) - array['revoked_at', 'revoked_by', 'revoke_reason']) then
    perform internal.raise('AX403', 'a grant cannot be edited; revoke it and create another', 'immutable_columns');
  end if;
  if old.revoked_at is not null then
    perform internal.raise('AX409', 'the grant is already revoked', 'already_revoked');
  end if;
  return new;
end
$$;

create trigger _100_rules before insert on core.grants
  for each row execute function internal.tg_grants__rules();
create trigger _100_lifecycle_only before update on core.grants
  for each row execute function internal.tg_grants__lifecycle_only();
create trigger _900_no_delete before delete on core.grants
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.grants
  for each statement execute function internal.tg__no_delete();

-- ---------------------------------------------------------------------------------------------
-- The call frame. Every api function:
--   1. internal.begin_call: validates the caller's session token (AX401 if none), stores it
--      transaction-locally for RLS, returns the caller.
--   2. checks grants with internal.require before it reads or writes.
--   3. internal.succeed: appends the session event and returns {"ok": true, "data": ...}.
--   On any error the function's exception block rolls back everything the call wrote, then
--   internal.fail_call appends the session event (and, for refusals, an authz.denied audit event)
--   and returns {"ok": false, "error": {...}}. So a refused call leaves exactly its audit trail.
-- ---------------------------------------------------------------------------------------------
create type internal.caller as (
  session_id uuid,
  principal_id uuid,
  organization_id uuid,
  is_agent boolean,
  session_kind text,
  scope jsonb,
  operation text,
  client_ip inet,
  request_id text
);

-- Validate the caller object {token, ip?, request_id?} without trusting any of it.
create function internal.caller_token(p_caller jsonb)
returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_caller is null or jsonb_typeof(p_caller) <> 'object' or jsonb_typeof(p_caller -> 'token') <> 'string'
     or length(p_caller ->> 'token') not between 20 and 256 then
    perform internal.raise('AX401', 'a valid session token is required', 'no_session');
  end if;
  return p_caller ->> 'token';
end
$$;

create function internal.begin_call(p_caller jsonb, p_operation text)
returns internal.caller
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v internal.caller;
  v_ip text;
begin
  perform set_config('axiom.context', '', true);
  perform set_config('axiom.session_token', internal.caller_token(p_caller), true);
  select i.session_id, i.principal_id, i.organization_id, i.is_agent, i.session_kind, i.scope
    into v.session_id, v.principal_id, v.organization_id, v.is_agent, v.session_kind, v.scope
    from internal.session_identity() i;
  if v.session_id is null then
    perform set_config('axiom.session_token', '', true);
    perform internal.raise('AX401', 'the session is missing, expired or revoked', 'no_session');
  end if;
  v.operation := p_operation;
  v_ip := p_caller ->> 'ip';
  if v_ip ~ '^[0-9a-fA-F:.]{2,45}$' then
    begin
      v.client_ip := v_ip::inet;
    exception when others then
      v.client_ip := null;
    end;
  end if;
  if jsonb_typeof(p_caller -> 'request_id') = 'string' and length(p_caller ->> 'request_id') <= 100 then
    v.request_id := p_caller ->> 'request_id';
  end if;
  -- Idle timeout: remember activity, at most every 30 seconds per session.
  update core.sessions s set last_seen_at = now()
   where s.id = v.session_id and s.last_seen_at < now() - interval '30 seconds';
  return v;
end
$$;

create function internal.succeed(
  p_caller internal.caller,
  p_data jsonb,
  p_target_type text default null,
  p_target_id uuid default null
)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.append_session_event(
    p_caller.organization_id, p_caller.session_id, p_caller.principal_id, p_caller.operation, 'ok',
    p_target_type, p_target_id, null, p_caller.client_ip, p_caller.request_id);
  return jsonb_build_object('ok', true, 'data', p_data);
end
$$;

create function internal.error_envelope(p_sqlstate text, p_message text, p_reason text)
returns jsonb
language sql stable
as $$
  select jsonb_build_object('ok', false, 'error', jsonb_build_object(
    'sqlstate', p_sqlstate,
    'reason', nullif(p_reason, ''),
    -- Our own errors carry a message written for people; anything else is replaced in the application.
    'message', p_message))
$$;

create function internal.fail_call(
  p_caller_json jsonb,
  p_caller internal.caller,
  p_sqlstate text,
  p_message text,
  p_reason text
)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_outcome text := case when p_sqlstate in ('AX401', 'AX403', 'AX422', 'AX423') then 'denied' else 'error' end;
  v_code text := coalesce(nullif(p_reason, ''), p_sqlstate);
begin
  if p_caller.session_id is not null then
    -- The failed block's set_config was rolled back with it: restore the identity for the audit rows.
    perform set_config('axiom.session_token', p_caller_json ->> 'token', true);
    if p_sqlstate = 'AX403' then
      perform internal.append_audit_event(
        p_caller.organization_id, 'authz.denied', p_caller.session_id, p_caller.principal_id,
        p_reason => left(p_message, 2000),
        p_details => jsonb_build_object('operation', p_caller.operation, 'code', v_code));
    end if;
    perform internal.append_session_event(
      p_caller.organization_id, p_caller.session_id, p_caller.principal_id, p_caller.operation, v_outcome,
      null, null, left(v_code, 100), p_caller.client_ip, p_caller.request_id);
  end if;
  return internal.error_envelope(p_sqlstate, p_message, p_reason);
end
$$;

-- Enter an organization without a session, after the calling function has checked its own proof
-- (see internal.context_org_id). Forces a transaction id so the context is bound to this transaction.
create function internal.enter_org_context(p_org uuid)
returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_xid text := pg_current_xact_id()::text;
  v_key bytea;
begin
  select i.context_key into v_key from internal.installation i;
  perform set_config('axiom.session_token', '', true);
  perform set_config('axiom.context',
    p_org::text || ':' || v_xid || ':' ||
    encode(ext.hmac(convert_to(p_org::text || ':' || v_xid, 'UTF8'), v_key, 'sha256'), 'hex'), true);
end
$$;

create function internal.leave_org_context()
returns void
language sql volatile
as $$
  select set_config('axiom.context', '', true)::text is null
$$;

-- ---------------------------------------------------------------------------------------------
-- Authorization: the single check every api function uses.
-- ---------------------------------------------------------------------------------------------
-- Does this principal hold p_level or higher in p_domain at p_facility? p_facility NULL asks for an
-- organization-wide grant; a facility question is also answered by an organization-wide grant.
create function internal.has_grant(p_principal uuid, p_level core.access_level, p_domain core.domain, p_facility uuid)
returns boolean
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  -- The same conditions as internal.grant_in_force, written out so that this is one cached plan.
  return exists (
    select 1
      from core.grants g
      left join core.grants s on s.id = g.source_grant_id
      left join core.principals sp on sp.id = s.principal_id
     where g.principal_id = p_principal
       and g.domain = p_domain
       and g.level >= p_level
       and (g.facility_id is null or g.facility_id = p_facility)
       and g.revoked_at is null
       and g.valid_from <= now()
       and (g.valid_until is null or g.valid_until > now())
       and (g.source_grant_id is null
            or (s.revoked_at is null and s.valid_from <= now() and (s.valid_until is null or s.valid_until > now())
                and sp.disabled_at is null)));
end
$$;

-- Does an API token's scope allow this? No scope = the creator's grants; a scope only narrows.
create function internal.scope_allows(p_scope jsonb, p_level core.access_level, p_domain core.domain, p_facility uuid)
returns boolean
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_scope is null then
    return true;
  end if;
  return exists (
    select 1 from jsonb_array_elements(p_scope) e
     where e ->> 'domain' = p_domain::text
       and (e ->> 'level')::core.access_level >= p_level
       and (e ->> 'facility_id' is null or (p_facility is not null and e ->> 'facility_id' = p_facility::text)));
end
$$;

create function internal.require(
  p_caller internal.caller,
  p_level core.access_level,
  p_domain core.domain,
  p_facility uuid default null
)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if not internal.has_grant(p_caller.principal_id, p_level, p_domain, p_facility)
     or not internal.scope_allows(p_caller.scope, p_level, p_domain, p_facility) then
    perform internal.raise('AX403',
      pg_catalog.format('%s requires %s in %s %s', p_caller.operation, p_level, p_domain,
        case when p_facility is null then 'organization-wide' else 'at facility ' || p_facility::text end),
      'missing_grant');
  end if;
end
$$;

-- Lookups that answer "not found" for another organization's identifiers (RLS hides them).
create function internal.require_facility(p_facility uuid)
returns core.facilities
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.facilities;
begin
  select * into v from core.facilities f where f.id = p_facility;
  if not found then
    perform internal.raise('AX404', 'facility not found', 'facility_not_found');
  end if;
  return v;
end
$$;

create function internal.require_principal(p_principal uuid)
returns core.principals
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.principals;
begin
  select * into v from core.principals p where p.id = p_principal;
  if not found then
    perform internal.raise('AX404', 'principal not found', 'principal_not_found');
  end if;
  return v;
end
$$;

-- Text arguments that must be one of an enum's values: a clear AX400 instead of a cast error.
create function internal.to_domain(p text) returns core.domain
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
  if p is null or not (p = any (enum_range(null::core.domain)::text[])) then
    perform internal.raise('AX400', format('unknown domain %s', coalesce(quote_literal(left(p, 40)), 'null')), 'invalid_domain');
  end if;
  return p::core.domain;
end $$;

create function internal.to_level(p text) returns core.access_level
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
  if p is null or not (p = any (enum_range(null::core.access_level)::text[])) then
    perform internal.raise('AX400', format('unknown access level %s', coalesce(quote_literal(left(p, 40)), 'null')), 'invalid_level');
  end if;
  return p::core.access_level;
end $$;

create function internal.to_environment(p text) returns core.environment_tier
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
  if p is null or not (p = any (enum_range(null::core.environment_tier)::text[])) then
    perform internal.raise('AX400', format('unknown environment tier %s', coalesce(quote_literal(left(p, 40)), 'null')), 'invalid_environment');
  end if;
  return p::core.environment_tier;
end $$;

create function internal.to_plan_tier(p text) returns core.plan_tier
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
  if p is null or not (p = any (enum_range(null::core.plan_tier)::text[])) then
    perform internal.raise('AX400', format('unknown plan tier %s', coalesce(quote_literal(left(p, 40)), 'null')), 'invalid_plan_tier');
  end if;
  return p::core.plan_tier;
end $$;

-- A required, trimmed, bounded text argument.
create function internal.text_arg(p text, p_name text, p_min integer, p_max integer)
returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p is null or length(btrim(p)) < p_min or length(p) > p_max then
    perform internal.raise('AX400',
      format('%s must be between %s and %s characters', p_name, p_min, p_max), 'invalid_' || p_name);
  end if;
  if p ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' then
    perform internal.raise('AX400', format('%s contains control characters', p_name), 'invalid_' || p_name);
  end if;
  return btrim(p);
end
$$;

grant execute on function internal.level_rank(core.access_level), internal.grant_in_force(core.grants), internal.caller_token(jsonb),
  internal.begin_call(jsonb, text), internal.succeed(internal.caller, jsonb, text, uuid),
  internal.error_envelope(text, text, text), internal.fail_call(jsonb, internal.caller, text, text, text),
  internal.enter_org_context(uuid), internal.leave_org_context(),
  internal.has_grant(uuid, core.access_level, core.domain, uuid),
  internal.scope_allows(jsonb, core.access_level, core.domain, uuid),
  internal.require(internal.caller, core.access_level, core.domain, uuid),
  internal.require_facility(uuid), internal.require_principal(uuid),
  internal.to_domain(text), internal.to_level(text), internal.to_environment(text), internal.to_plan_tier(text),
  internal.text_arg(text, text, integer, integer)
  to axiom_definer;
grant usage on type internal.caller to axiom_definer;
