-- 080: identity resolution, the same checks at a fraction of the cost (issue 2, benchmark targets).
--
-- Every statement that touches a tenant table evaluates its RLS policy's
-- (select internal.current_org_id()) once; an audited write runs ~17 such statements, and each of
-- them validated the session token from scratch. Two changes, same answers:
--
-- 1. The lookup. It compared sessions.token_hash with sha256(convert_to(setting)) inside the query,
--    so whenever the planner chose a sequential scan (a small sessions table) it hashed the token once
--    per session row; and current_org_id called session_identity (a second SECURITY DEFINER call and
--    a materialized RETURN QUERY). Now the token is hashed once into a variable and each function runs
--    one indexed query of its own.
--
-- 2. A proof of validation for the rest of the transaction. After internal.begin_call has validated
--    the session, it records in the setting axiom.identity
--      "<session_id>:<principal_id>:<organization_id>:<xid>:<mac>"
--    where mac = HMAC-SHA256(context_key, 'identity:' || session || ':' || principal || ':' ||
--    organization || ':' || xid || ':' || token). context_key is the installation's key of the
--    pre-authentication context (readable by axiom_definer and axiom_auth only), xid is the current
--    transaction and token is the setting axiom.session_token. current_org_id and
--    current_principal_id accept it instead of a new lookup only if the MAC verifies for the current
--    transaction and the current token; anything else (empty, forged, another transaction, another
--    token, a MAC under a guessed key) falls back to the full lookup. So a caller who can run
--    set_config still cannot make the database believe anything it did not validate itself in this
--    transaction, and a value read by the application after a call is useless in the next one.
--    Within one transaction a session revoked after begin_call keeps its organization (the calls
--    that revoke their own session switch to the organization context at once, as before).

-- ---------------------------------------------------------------------------------------------
-- The proof (owned by axiom_owner; callable by axiom_definer and axiom_auth, never by axiom_user).
-- ---------------------------------------------------------------------------------------------
-- Record that this transaction validated the session behind axiom.session_token.
create function internal.remember_identity(p_session uuid, p_principal uuid, p_org uuid)
returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_xid text := pg_catalog.pg_current_xact_id()::text;
  v_key bytea;
begin
  select i.context_key into v_key from internal.installation i;
  perform pg_catalog.set_config('axiom.identity',
    p_session::text || ':' || p_principal::text || ':' || p_org::text || ':' || v_xid || ':' ||
    pg_catalog.encode(ext.hmac(pg_catalog.convert_to(
      'identity:' || p_session::text || ':' || p_principal::text || ':' || p_org::text || ':' || v_xid || ':' ||
      pg_catalog.current_setting('axiom.session_token', true), 'UTF8'), v_key, 'sha256'), 'hex'),
    true);
end
$$;

-- The validated (session, principal, organization) of this transaction, or NULLs. Cheap; falls back
-- to nothing, never to trust.
create function internal.remembered_identity(out session_id uuid, out principal_id uuid, out organization_id uuid)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_token text := nullif(pg_catalog.current_setting('axiom.session_token', true), '');
  v_parts text[] := pg_catalog.string_to_array(nullif(pg_catalog.current_setting('axiom.identity', true), ''), ':');
  v_key bytea;
begin
  if v_token is null or pg_catalog.cardinality(v_parts) is distinct from 5
     or v_parts[4] is distinct from pg_catalog.pg_current_xact_id_if_assigned()::text then
    return;
  end if;
  select i.context_key into v_key from internal.installation i;
  -- The parts are only cast after the MAC has verified them (they are then what we wrote).
  if v_parts[5] = pg_catalog.encode(ext.hmac(pg_catalog.convert_to(
       'identity:' || v_parts[1] || ':' || v_parts[2] || ':' || v_parts[3] || ':' || v_parts[4] || ':' || v_token,
       'UTF8'), v_key, 'sha256'), 'hex') then
    session_id := v_parts[1]::uuid;
    principal_id := v_parts[2]::uuid;
    organization_id := v_parts[3]::uuid;
  end if;
end
$$;

grant execute on function internal.remember_identity(uuid, uuid, uuid), internal.remembered_identity()
  to axiom_definer;
grant execute on function internal.remembered_identity() to axiom_auth;

-- ---------------------------------------------------------------------------------------------
-- Identity (owned by axiom_auth; CREATE OR REPLACE keeps the owner and the grants).
-- ---------------------------------------------------------------------------------------------
create or replace function internal.session_identity()
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
  v_hash bytea;
begin
  if v_token is null then
    return;
  end if;
  v_hash := pg_catalog.sha256(pg_catalog.convert_to(v_token, 'UTF8'));
  return query
    select s.id, s.principal_id, s.organization_id, p.is_agent, s.kind, s.scope
      from core.sessions s
      join core.principals p on p.id = s.principal_id
     where s.token_hash = v_hash
       and s.revoked_at is null
       and s.expires_at > pg_catalog.now()
       and s.last_seen_at + s.idle_timeout > pg_catalog.now()
       and p.disabled_at is null;
end
$$;

create or replace function internal.current_org_id()
returns uuid
language plpgsql stable security definer parallel restricted
set search_path = pg_catalog, pg_temp
as $$
declare
  v_token text := nullif(pg_catalog.current_setting('axiom.session_token', true), '');
  v_parts text[];
  v_key bytea;
  v_hash bytea;
  v uuid;
begin
  if v_token is not null then
    -- Validated earlier in this transaction (internal.remembered_identity, written out: this runs once
    -- per statement per table).
    v_parts := pg_catalog.string_to_array(nullif(pg_catalog.current_setting('axiom.identity', true), ''), ':');
    if pg_catalog.cardinality(v_parts) = 5 and v_parts[4] = pg_catalog.pg_current_xact_id_if_assigned()::text then
      select i.context_key into v_key from internal.installation i;
      if v_parts[5] = pg_catalog.encode(ext.hmac(pg_catalog.convert_to(
           'identity:' || v_parts[1] || ':' || v_parts[2] || ':' || v_parts[3] || ':' || v_parts[4] || ':' || v_token,
           'UTF8'), v_key, 'sha256'), 'hex') then
        return v_parts[3]::uuid;
      end if;
    end if;
    -- The conditions of internal.session_identity, written out: one cached plan, one index probe.
    v_hash := pg_catalog.sha256(pg_catalog.convert_to(v_token, 'UTF8'));
    select s.organization_id into v
      from core.sessions s
      join core.principals p on p.id = s.principal_id
     where s.token_hash = v_hash
       and s.revoked_at is null
       and s.expires_at > pg_catalog.now()
       and s.last_seen_at + s.idle_timeout > pg_catalog.now()
       and p.disabled_at is null;
    if v is not null then
      return v;
    end if;
  end if;
  return internal.context_org_id();
end
$$;

create or replace function internal.current_principal_id()
returns uuid
language plpgsql stable security definer parallel restricted
set search_path = pg_catalog, pg_temp
as $$
declare
  v_token text := nullif(pg_catalog.current_setting('axiom.session_token', true), '');
  v_hash bytea;
  v uuid;
begin
  if v_token is null then
    return null;
  end if;
  select r.principal_id into v from internal.remembered_identity() r;
  if v is not null then
    return v;
  end if;
  v_hash := pg_catalog.sha256(pg_catalog.convert_to(v_token, 'UTF8'));
  select s.principal_id into v
    from core.sessions s
    join core.principals p on p.id = s.principal_id
   where s.token_hash = v_hash
     and s.revoked_at is null
     and s.expires_at > pg_catalog.now()
     and s.last_seen_at + s.idle_timeout > pg_catalog.now()
     and p.disabled_at is null;
  return v;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The call frame: validate once, remember it for the transaction.
-- ---------------------------------------------------------------------------------------------
create or replace function internal.begin_call(p_caller jsonb, p_operation text)
returns internal.caller
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v internal.caller;
  v_ip text;
  v_seen_setting text;
  v_seen text[];
  v_now bigint := pg_catalog.floor(extract(epoch from pg_catalog.now()))::bigint;
begin
  perform set_config('axiom.context', '', true);
  perform set_config('axiom.identity', '', true);
  perform set_config('axiom.session_token', internal.caller_token(p_caller), true);
  select i.session_id, i.principal_id, i.organization_id, i.is_agent, i.session_kind, i.scope
    into v.session_id, v.principal_id, v.organization_id, v.is_agent, v.session_kind, v.scope
    from internal.session_identity() i;
  if v.session_id is null then
    perform set_config('axiom.session_token', '', true);
    perform internal.raise('AX401', 'the session is missing, expired or revoked', 'no_session');
  end if;
  perform internal.remember_identity(v.session_id, v.principal_id, v.organization_id);
  v.operation := p_operation;
  v_ip := p_caller ->> 'ip';
  -- (A bounded repetition like {2,45} makes PostgreSQL's regex engine build a large automaton on every
  -- match; a plain class plus a length test accepts exactly the same strings.)
  if v_ip ~ '^[0-9a-fA-F:.]+$' and length(v_ip) between 2 and 45 then
    begin
      v.client_ip := v_ip::inet;
    exception when others then
      v.client_ip := null;
    end;
  end if;
  if jsonb_typeof(p_caller -> 'request_id') = 'string' and length(p_caller ->> 'request_id') <= 100 then
    v.request_id := p_caller ->> 'request_id';
  end if;
  -- Idle timeout: remember activity, at most every 30 seconds per session. The connection remembers
  -- (in one of 64 session settings) when it last did so for a session and skips the UPDATE within 30
  -- seconds of that: most calls then write nothing to core.sessions. A value set by hand can only make
  -- the session look idle sooner (fewer refreshes), never keep it alive longer.
  v_seen_setting := 'axiom.seen_' || (pg_catalog.hashtext(v.session_id::text) & 63)::text;
  v_seen := pg_catalog.string_to_array(pg_catalog.current_setting(v_seen_setting, true), ':');
  if v_seen[1] is distinct from v.session_id::text or v_seen[2] !~ '^[0-9]{1,12}$'
     or v_seen[2]::bigint <= v_now - 30 then
    update core.sessions s set last_seen_at = now()
     where s.id = v.session_id and s.last_seen_at < now() - interval '30 seconds';
    perform pg_catalog.set_config(v_seen_setting, v.session_id::text || ':' || v_now::text, false);
  end if;
  return v;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The grant check: the same answer, one table scan in the common case. A statement's RLS policy is
-- evaluated once per table it names; the delegation path names three (the grant, its source, the
-- source's holder). Most grants are not delegations, so look for one of those first.
-- ---------------------------------------------------------------------------------------------
create or replace function internal.has_grant(p_principal uuid, p_level core.access_level, p_domain core.domain, p_facility uuid)
returns boolean
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if exists (
    select 1
      from core.grants g
     where g.principal_id = p_principal
       and g.domain = p_domain
       and g.level >= p_level
       and (g.facility_id is null or g.facility_id = p_facility)
       and g.revoked_at is null
       and g.valid_from <= now()
       and (g.valid_until is null or g.valid_until > now())
       and g.source_grant_id is null) then
    return true;
  end if;
  -- The same conditions as internal.grant_in_force, written out so that this is one cached plan.
  return exists (
    select 1
      from core.grants g
      join core.grants s on s.id = g.source_grant_id
      join core.principals sp on sp.id = s.principal_id
     where g.principal_id = p_principal
       and g.domain = p_domain
       and g.level >= p_level
       and (g.facility_id is null or g.facility_id = p_facility)
       and g.revoked_at is null
       and g.valid_from <= now()
       and (g.valid_until is null or g.valid_until > now())
       and s.revoked_at is null and s.valid_from <= now() and (s.valid_until is null or s.valid_until > now())
       and sp.disabled_at is null);
end
$$;
