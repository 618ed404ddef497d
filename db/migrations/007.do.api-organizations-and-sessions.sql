-- 007: api functions for organizations, facilities, principals, sign-in and sessions.
--
-- Conventions (db/CONVENTIONS.md): every api function is SECURITY DEFINER, owned by axiom_definer,
-- with search_path pinned to pg_catalog, pg_temp; its comment says which grant it requires; it
-- returns {"ok": true, "data": ...} or {"ok": false, "error": {...}} and never leaves partial writes.

-- ---------------------------------------------------------------------------------------------
-- Pre-authentication lookups (owned by axiom_auth: they must read before any identity exists).
-- ---------------------------------------------------------------------------------------------
grant select on core.password_credentials to axiom_auth;

create function internal.auth_find_principal(p_org_slug text, p_email text)
returns table (organization_id uuid, principal_id uuid, kind core.principal_kind, is_agent boolean, disabled boolean)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return query
    select o.id, p.id, p.kind, p.is_agent, p.disabled_at is not null
      from core.organizations o
      join core.principals p on p.organization_id = o.id
     where o.slug = p_org_slug and p.email = pg_catalog.lower(p_email);
end
$$;

create function internal.auth_find_organization(p_org_slug text)
returns uuid
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select o.id from core.organizations o where o.slug = p_org_slug);
end
$$;

-- True when the password matches. The hash is compared here and never returned.
create function internal.auth_check_password(p_principal uuid, p_password text)
returns boolean
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_hash text;
begin
  select c.password_hash into v_hash from core.password_credentials c where c.principal_id = p_principal;
  if v_hash is null then
    -- Same work as a real check, so that timing does not tell which accounts have passwords.
    perform ext.crypt(coalesce(p_password, ''), '$2a$12$C6UzMDM.H6dfI/f/IKcEeO5h0Q3HhJrvNvPmWbqyZGSM2zc8RWh9e');
    return false;
  end if;
  return ext.crypt(coalesce(p_password, ''), v_hash) = v_hash;
end
$$;

call internal.set_function_owner('internal.auth_find_organization(text)', 'axiom_auth');
call internal.set_function_owner('internal.auth_find_principal(text, text)', 'axiom_auth');
call internal.set_function_owner('internal.auth_check_password(uuid, text)', 'axiom_auth');
grant execute on function internal.auth_find_organization(text), internal.auth_find_principal(text, text),
  internal.auth_check_password(uuid, text) to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------------------------
-- A bearer token: a prefix naming its kind and 256 random bits, base64url without padding.
create function internal.new_token(p_prefix text)
returns text
language sql volatile
return p_prefix || pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(ext.gen_random_bytes(32), 'base64'), '+/', '-_'), '=');

create function internal.token_hash(p_token text)
returns bytea
language sql stable
return pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8'));

-- Password rules enforced in the database (the identity issue adds breached-list and history checks).
create function internal.hash_password(p_password text)
returns text
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_cost integer;
begin
  if p_password is null or length(p_password) < 12 or length(p_password) > 256 then
    perform internal.raise('AX400', 'a password has 12 to 256 characters', 'weak_password');
  end if;
  select i.bcrypt_cost into v_cost from internal.installation i;
  return ext.crypt(p_password, ext.gen_salt('bf', coalesce(v_cost, 12)));
end
$$;

create function internal.principal_json(p core.principals)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', p.id, 'email', p.email, 'display_name', p.display_name, 'kind', p.kind, 'is_agent', p.is_agent,
  'created_at', p.created_at, 'disabled_at', p.disabled_at);

create function internal.facility_json(f core.facilities)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', f.id, 'slug', f.slug, 'name', f.name, 'environment_tier', f.environment_tier, 'created_at', f.created_at,
  'retired_at', f.retired_at);

-- Open a session for a principal inside the current organization context; returns the token once.
create function internal.open_session(
  p_org uuid,
  p_principal uuid,
  p_kind text,
  p_auth_method text,
  p_lifetime interval,
  p_idle interval,
  p_client jsonb,
  p_name text default null,
  p_scope jsonb default null
)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_prefix text := case p_kind when 'web' then 'axs_' when 'api_token' then 'axt_' else 'axa_' end;
  v_token text := internal.new_token(v_prefix);
  v_id uuid := gen_random_uuid();
  v_ip inet;
  v_expires timestamptz := now() + p_lifetime;
begin
  if p_client ->> 'ip' ~ '^[0-9a-fA-F:.]{2,45}$' then
    begin
      v_ip := (p_client ->> 'ip')::inet;
    exception when others then
      v_ip := null;
    end;
  end if;
  insert into core.sessions (id, organization_id, principal_id, kind, name, token_hash, scope, auth_method,
                             expires_at, idle_timeout, client_ip, user_agent)
  values (v_id, p_org, p_principal, p_kind, p_name, internal.token_hash(v_token), p_scope, p_auth_method,
          v_expires, p_idle, v_ip, left(p_client ->> 'user_agent', 512));
  perform internal.append_audit_event(p_org, 'session.created', v_id, p_principal,
    p_target_table => 'core.sessions', p_target_id => v_id,
    p_details => jsonb_build_object('kind', p_kind, 'auth_method', p_auth_method, 'expires_at', v_expires,
                                    'name', p_name, 'scope', p_scope));
  return jsonb_build_object('token', v_token, 'session_id', v_id, 'expires_at', v_expires,
                            'idle_timeout_seconds', extract(epoch from p_idle)::integer);
end
$$;

-- Facility defaults: the first, effective version of its configuration, and the agent's grants.
create function internal.seed_facility_defaults(p_facility core.facilities, p_actor uuid)
returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_agent uuid;
  v_domain core.domain;
begin
  perform set_config('axiom.seeding_defaults', 'on', true);
  insert into core.records (kind, id, organization_id, facility_id, domain, item_key, content, created_by,
                            change_reason, lifecycle_state)
  values ('facility_configuration', gen_random_uuid(), p_facility.organization_id, p_facility.id, 'configuration', 'facility',
          jsonb_build_object(
            'autonomy_tier', 'recommend',
            'blast_radius_cap', case when p_facility.environment_tier = 'production' then 2 else 5 end,
            'approval_expiry_hours', 24,
            'auto_apply_after_successes', 25,
            'regions', jsonb_build_array('us-east-1')),
          p_actor, 'defaults written when the facility was created', 'effective');
  perform set_config('axiom.seeding_defaults', 'off', true);

  select p.id into v_agent from core.principals p
   where p.organization_id = p_facility.organization_id and p.is_agent;
  if v_agent is not null then
    foreach v_domain in array array['cost', 'security', 'drift']::core.domain[] loop
      insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
      values (p_facility.organization_id, v_agent, v_domain, p_facility.id, 'author', p_actor,
              'the agent scans and authors plans in every facility it serves');
    end loop;
    insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
    values (p_facility.organization_id, v_agent, 'configuration', p_facility.id, 'read', p_actor,
            'the agent reads the facility configuration it works under');
  end if;
end
$$;

grant execute on function internal.new_token(text), internal.token_hash(text), internal.hash_password(text),
  internal.principal_json(core.principals), internal.facility_json(core.facilities),
  internal.open_session(uuid, uuid, text, text, interval, interval, jsonb, text, jsonb),
  internal.seed_facility_defaults(core.facilities, uuid)
  to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- api.organization_bootstrap
-- Requires: the installation bootstrap secret (written by `axiom db migrate`). Creates the
-- organization, its key pair record, a bootstrap service principal that grants the first
-- administrator configuration:review and audit:review organization-wide and is then disabled, the
-- first administrator, and the agent's service principal. Every step is an audit event.
-- ---------------------------------------------------------------------------------------------
create function api.organization_bootstrap(p_bootstrap_secret text, p_org jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_org uuid := gen_random_uuid();
  v_bootstrap uuid := gen_random_uuid();
  v_admin uuid := gen_random_uuid();
  v_agent uuid := gen_random_uuid();
  v_slug text;
  v_name text;
  v_tier core.plan_tier;
  v_admin_email text;
  v_admin_name text;
  v_public bytea;
  v_detail text;
begin
  if p_bootstrap_secret is null or length(p_bootstrap_secret) > 256 or not exists (
       select 1 from internal.installation i
        where i.bootstrap_secret_hash = internal.token_hash(p_bootstrap_secret)) then
    return internal.error_envelope('AX401', 'the installation bootstrap secret is wrong', 'bad_bootstrap_secret');
  end if;
  if p_org is null or jsonb_typeof(p_org) <> 'object' or jsonb_typeof(p_org -> 'admin') <> 'object'
     or jsonb_typeof(p_org -> 'key') <> 'object' then
    return internal.error_envelope('AX400', 'organization, admin and key are required objects', 'invalid_input');
  end if;

  v_slug := lower(internal.text_arg(p_org ->> 'slug', 'slug', 2, 63));
  if v_slug !~ '^[a-z0-9][a-z0-9-]{1,62}$' then
    perform internal.raise('AX400', 'slug: lowercase letters, digits and dashes', 'invalid_slug');
  end if;
  v_name := internal.text_arg(p_org ->> 'name', 'name', 1, 200);
  v_tier := internal.to_plan_tier(p_org ->> 'plan_tier');
  v_admin_email := lower(internal.text_arg(p_org -> 'admin' ->> 'email', 'email', 3, 320));
  v_admin_name := internal.text_arg(p_org -> 'admin' ->> 'display_name', 'display_name', 1, 200);
  begin
    v_public := ext.dearmor(internal.text_arg(p_org -> 'key' ->> 'public_key', 'public_key', 100, 16384));
  exception when others then
    perform internal.raise('AX400', 'public_key must be an armored OpenPGP public key', 'invalid_public_key');
  end;

  perform internal.enter_org_context(v_org);
  insert into core.organizations (id, slug, name, plan_tier) values (v_org, v_slug, v_name, v_tier);
  insert into core.organization_keys (organization_id, public_key, wrapped_private_key, kek_id)
  values (v_org, v_public,
          decode(internal.text_arg(p_org -> 'key' ->> 'wrapped_private_key', 'wrapped_private_key', 100, 65536), 'base64'),
          internal.text_arg(p_org -> 'key' ->> 'kek_id', 'kek_id', 1, 512));

  insert into core.principals (id, organization_id, kind, email, display_name)
  values (v_bootstrap, v_org, 'service', 'bootstrap@' || v_slug || '.axiom.invalid', 'Installation bootstrap');
  insert into core.principals (id, organization_id, kind, email, display_name, created_by)
  values (v_admin, v_org, 'human', v_admin_email, v_admin_name, v_bootstrap);
  insert into core.password_credentials (principal_id, organization_id, password_hash)
  values (v_admin, v_org, internal.hash_password(p_org -> 'admin' ->> 'password'));
  insert into core.principals (id, organization_id, kind, is_agent, email, display_name, created_by)
  values (v_agent, v_org, 'service', true, 'agent@' || v_slug || '.axiom.invalid', 'Axiom agent', v_bootstrap);

  perform internal.append_audit_event(v_org, 'organization.bootstrapped', null, v_bootstrap,
    p_target_table => 'core.organizations', p_target_id => v_org,
    p_related_ids => array[v_admin, v_agent],
    p_details => jsonb_build_object('slug', v_slug, 'plan_tier', v_tier));
  perform internal.append_audit_event(v_org, 'organization.key_created', null, v_bootstrap,
    p_target_table => 'core.organization_keys', p_target_id => v_org,
    p_details => jsonb_build_object('kek_id', p_org -> 'key' ->> 'kek_id'));
  perform internal.append_audit_event(v_org, 'principal.created', null, v_bootstrap,
    p_target_table => 'core.principals', p_target_id => v_admin,
    p_details => jsonb_build_object('kind', 'human', 'role', 'first administrator'));
  perform internal.append_audit_event(v_org, 'principal.created', null, v_bootstrap,
    p_target_table => 'core.principals', p_target_id => v_agent,
    p_details => jsonb_build_object('kind', 'service', 'is_agent', true));

  insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
  values (v_org, v_admin, 'configuration', null, 'review', v_bootstrap, 'first administrator of the organization'),
         (v_org, v_admin, 'audit', null, 'review', v_bootstrap, 'first administrator of the organization');
  perform internal.append_audit_event(v_org, 'grant.created', null, v_bootstrap,
    'configuration', null, 'core.grants', g.id, p_details => jsonb_build_object(
      'principal_id', g.principal_id, 'domain', g.domain, 'level', g.level, 'facility_id', g.facility_id))
    from core.grants g where g.organization_id = v_org order by g.domain;

  update core.principals set disabled_at = now(), disabled_by = v_bootstrap where id = v_bootstrap;
  perform internal.append_audit_event(v_org, 'principal.disabled', null, v_bootstrap,
    p_target_table => 'core.principals', p_target_id => v_bootstrap,
    p_reason => 'the bootstrap principal is disabled once the first administrator exists');
  perform internal.append_session_event(v_org, null, v_bootstrap, 'organization.bootstrap', 'ok',
    'organization', v_org);
  perform internal.leave_org_context();

  return jsonb_build_object('ok', true, 'data', jsonb_build_object(
    'organization_id', v_org, 'slug', v_slug, 'admin_principal_id', v_admin, 'agent_principal_id', v_agent));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.organization_bootstrap(text, jsonb) is 'Requires: the installation bootstrap secret.';

-- ---------------------------------------------------------------------------------------------
-- api.session_login_password
-- Requires: nothing but the credentials. The password is checked inside the database; after 5
-- consecutive failures the account is locked for 15 minutes. Failures are recorded in the
-- organization's audit chain (when the organization exists) and the answer does not say whether the
-- e-mail address exists.
-- ---------------------------------------------------------------------------------------------
create function api.session_login_password(p_org_slug text, p_email text, p_password text, p_client jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_who record;
  v_cred core.password_credentials;
  v_session jsonb;
  v_detail text;
  v_org uuid;
begin
  if p_org_slug is null or p_email is null or p_password is null
     or length(p_org_slug) > 63 or length(p_email) > 320 or length(p_password) > 256 then
    return internal.error_envelope('AX400', 'organization, e-mail and password are required', 'invalid_input');
  end if;

  select * into v_who from internal.auth_find_principal(lower(p_org_slug), p_email);
  if v_who.principal_id is null or v_who.kind <> 'human' then
    perform internal.auth_check_password(null, p_password);
    v_org := internal.auth_find_organization(lower(p_org_slug));
    if v_org is not null then
      -- Attempts on unknown accounts are recorded too (11.300(d)); the attempted address is not.
      perform internal.enter_org_context(v_org);
      perform internal.append_audit_event(v_org, 'auth.login_failed', null, null,
        p_reason => 'unknown or non-interactive account', p_details => jsonb_build_object('method', 'password'));
      perform internal.leave_org_context();
    end if;
    return internal.error_envelope('AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;

  perform internal.enter_org_context(v_who.organization_id);
  select * into v_cred from core.password_credentials c where c.principal_id = v_who.principal_id;

  if v_who.disabled then
    perform internal.append_audit_event(v_who.organization_id, 'auth.login_failed', null, v_who.principal_id,
      p_reason => 'disabled account', p_details => jsonb_build_object('method', 'password'));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;
  if v_cred.locked_until is not null and v_cred.locked_until > now() then
    perform internal.append_audit_event(v_who.organization_id, 'auth.login_failed', null, v_who.principal_id,
      p_reason => 'account locked', p_details => jsonb_build_object('method', 'password', 'locked_until', v_cred.locked_until));
    perform internal.leave_org_context();
    return internal.error_envelope('AX423', 'the account is locked after repeated failed sign-ins; try again later',
      'account_locked');
  end if;

  if not internal.auth_check_password(v_who.principal_id, p_password) then
    update core.password_credentials c
       set failed_attempts = c.failed_attempts + 1,
           last_failed_at = now(),
           locked_until = case when c.failed_attempts + 1 >= 5 then now() + interval '15 minutes' else c.locked_until end
     where c.principal_id = v_who.principal_id
     returning * into v_cred;
    perform internal.append_audit_event(v_who.organization_id, 'auth.login_failed', null, v_who.principal_id,
      p_reason => 'wrong password',
      p_details => jsonb_build_object('method', 'password', 'failed_attempts', v_cred.failed_attempts,
                                      'locked', v_cred.locked_until is not null and v_cred.locked_until > now()));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;

  if v_cred.failed_attempts > 0 then
    update core.password_credentials c set failed_attempts = 0 where c.principal_id = v_who.principal_id;
  end if;
  v_session := internal.open_session(v_who.organization_id, v_who.principal_id, 'web', 'password',
    interval '12 hours', interval '30 minutes', p_client);
  perform internal.append_session_event(v_who.organization_id, (v_session ->> 'session_id')::uuid,
    v_who.principal_id, 'session.login', 'ok', 'session', (v_session ->> 'session_id')::uuid);
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data',
    v_session || jsonb_build_object('organization_id', v_who.organization_id, 'principal_id', v_who.principal_id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_login_password(text, text, text, jsonb) is 'Requires: valid credentials.';

-- ---------------------------------------------------------------------------------------------
-- Sessions
-- ---------------------------------------------------------------------------------------------
-- Requires: a valid session (any principal).
create function api.session_whoami(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'session.whoami');
  select jsonb_build_object(
           'principal', internal.principal_json(p),
           'organization', jsonb_build_object('id', o.id, 'slug', o.slug, 'name', o.name, 'plan_tier', o.plan_tier),
           'session', jsonb_build_object('id', s.id, 'kind', s.kind, 'expires_at', s.expires_at,
                                         'auth_method', s.auth_method, 'scope', s.scope),
           'grants', coalesce((
             select jsonb_agg(jsonb_build_object('id', g.id, 'domain', g.domain, 'facility_id', g.facility_id,
                                                 'level', g.level, 'valid_until', g.valid_until,
                                                 'delegation_type', g.delegation_type)
                              order by g.domain, g.facility_id nulls first, g.level)
               from core.grants g where g.principal_id = p.id and internal.grant_in_force(g)), '[]'::jsonb))
    into v_result
    from core.sessions s
    join core.principals p on p.id = s.principal_id
    join core.organizations o on o.id = s.organization_id
   where s.id = v_caller.session_id;
  return internal.succeed(v_caller, v_result, 'session', v_caller.session_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_whoami(jsonb) is 'Requires: a valid session.';

-- Requires: a valid session; ends it.
create function api.session_logout(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
begin
  v_caller := internal.begin_call(p_caller, 'session.logout');
  update core.sessions s set revoked_at = now(), revoked_by = v_caller.principal_id, revoke_reason = 'signed out'
   where s.id = v_caller.session_id;
  -- The session no longer identifies anyone; finish the call's audit inside the organization.
  perform internal.enter_org_context(v_caller.organization_id);
  perform internal.append_audit_event(v_caller.organization_id, 'session.revoked', v_caller.session_id,
    v_caller.principal_id, p_target_table => 'core.sessions', p_target_id => v_caller.session_id,
    p_reason => 'signed out');
  return internal.succeed(v_caller, jsonb_build_object('revoked', true), 'session', v_caller.session_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_logout(jsonb) is 'Requires: a valid session.';

-- Requires: the session's own principal, or configuration:review organization-wide for anyone else's.
create function api.session_revoke(p_caller jsonb, p_session_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_session core.sessions;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'session.revoke');
  v_reason := internal.text_arg(p_reason, 'reason', 3, 1000);
  select * into v_session from core.sessions s where s.id = p_session_id;
  if not found then
    perform internal.raise('AX404', 'session not found', 'session_not_found');
  end if;
  if v_session.principal_id <> v_caller.principal_id then
    perform internal.require(v_caller, 'review', 'configuration', null);
  end if;
  if v_session.revoked_at is not null then
    perform internal.raise('AX409', 'the session is already revoked', 'already_revoked');
  end if;
  update core.sessions s set revoked_at = now(), revoked_by = v_caller.principal_id, revoke_reason = v_reason
   where s.id = p_session_id;
  if p_session_id = v_caller.session_id then
    perform internal.enter_org_context(v_caller.organization_id);
  end if;
  perform internal.append_audit_event(v_caller.organization_id, 'session.revoked', v_caller.session_id,
    v_caller.principal_id, p_target_table => 'core.sessions', p_target_id => p_session_id, p_reason => v_reason,
    p_related_ids => array[v_session.principal_id]);
  return internal.succeed(v_caller, jsonb_build_object('revoked', true, 'session_id', p_session_id),
    'session', p_session_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_revoke(jsonb, uuid, text) is
  'Requires: own session, or configuration:review organization-wide.';

-- Requires: a valid session of a person (not the agent). The token's scope must be covered by the
-- creator's grants now, and is intersected with them on every use, so a token never holds more.
create function api.api_token_create(p_caller jsonb, p_name text, p_expires_in_days integer, p_scope jsonb default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_name text;
  v_entry jsonb;
  v_scope jsonb := null;
  v_session jsonb;
  v_facility uuid;
begin
  v_caller := internal.begin_call(p_caller, 'api_token.create');
  if v_caller.is_agent or v_caller.session_kind <> 'web' then
    perform internal.raise('AX403', 'API tokens are created by a person in a signed-in session', 'token_from_token');
  end if;
  v_name := internal.text_arg(p_name, 'name', 1, 100);
  if p_expires_in_days is null or p_expires_in_days not between 1 and 365 then
    perform internal.raise('AX400', 'an API token expires within 1 to 365 days', 'invalid_expiry');
  end if;
  if p_scope is not null then
    if jsonb_typeof(p_scope) <> 'array' or jsonb_array_length(p_scope) not between 1 and 50 then
      perform internal.raise('AX400', 'scope is a list of 1 to 50 {domain, level, facility_id?} entries', 'invalid_scope');
    end if;
    v_scope := '[]'::jsonb;
    for v_entry in select * from jsonb_array_elements(p_scope) loop
      if jsonb_typeof(v_entry) <> 'object' then
        perform internal.raise('AX400', 'scope entries are objects', 'invalid_scope');
      end if;
      v_facility := null;
      if v_entry ? 'facility_id' and jsonb_typeof(v_entry -> 'facility_id') <> 'null' then
        if (v_entry ->> 'facility_id') !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
          perform internal.raise('AX400', 'scope facility_id must be a uuid', 'invalid_scope');
        end if;
        v_facility := (internal.require_facility((v_entry ->> 'facility_id')::uuid)).id;
      end if;
      if not internal.has_grant(v_caller.principal_id, internal.to_level(v_entry ->> 'level'),
                                internal.to_domain(v_entry ->> 'domain'), v_facility) then
        perform internal.raise('AX403', 'a token cannot be scoped beyond your own grants', 'scope_exceeds_grants');
      end if;
      v_scope := v_scope || jsonb_build_array(jsonb_build_object(
        'domain', v_entry ->> 'domain', 'level', v_entry ->> 'level', 'facility_id', v_facility));
    end loop;
  end if;
  v_session := internal.open_session(v_caller.organization_id, v_caller.principal_id, 'api_token', 'api_token',
    make_interval(days => p_expires_in_days), make_interval(days => p_expires_in_days), '{}'::jsonb, v_name, v_scope);
  return internal.succeed(v_caller, v_session || jsonb_build_object('name', v_name, 'scope', v_scope),
    'session', (v_session ->> 'session_id')::uuid);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.api_token_create(jsonb, text, integer, jsonb) is
  'Requires: a signed-in person; scope within their grants.';

-- Requires: a valid session; lists the caller's own sessions and tokens (never the token values).
create function api.session_list(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'session.list');
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', s.id, 'kind', s.kind, 'name', s.name, 'auth_method', s.auth_method, 'created_at', s.created_at,
           'expires_at', s.expires_at, 'last_seen_at', s.last_seen_at, 'revoked_at', s.revoked_at,
           'scope', s.scope, 'current', s.id = v_caller.session_id) order by s.created_at desc), '[]'::jsonb)
    into v_result
    from core.sessions s
   where s.principal_id = v_caller.principal_id;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_list(jsonb) is 'Requires: a valid session (own sessions only).';

-- ---------------------------------------------------------------------------------------------
-- Facilities and principals
-- ---------------------------------------------------------------------------------------------
-- Requires: configuration:review organization-wide.
create function api.facility_create(p_caller jsonb, p_slug text, p_name text, p_environment text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_facility core.facilities;
  v_slug text;
begin
  v_caller := internal.begin_call(p_caller, 'facility.create');
  perform internal.require(v_caller, 'review', 'configuration', null);
  v_slug := lower(internal.text_arg(p_slug, 'slug', 1, 63));
  if v_slug !~ '^[a-z0-9][a-z0-9-]{0,62}$' then
    perform internal.raise('AX400', 'slug: lowercase letters, digits and dashes', 'invalid_slug');
  end if;
  if exists (select 1 from core.facilities f where f.slug = v_slug) then
    perform internal.raise('AX409', 'a facility with this slug exists', 'duplicate_slug');
  end if;
  insert into core.facilities (organization_id, slug, name, environment_tier, created_by)
  values (v_caller.organization_id, v_slug, internal.text_arg(p_name, 'name', 1, 200),
          internal.to_environment(p_environment), v_caller.principal_id)
  returning * into v_facility;
  perform internal.append_audit_event(v_caller.organization_id, 'facility.created', v_caller.session_id,
    v_caller.principal_id, 'configuration', v_facility.id, 'core.facilities', v_facility.id,
    p_details => internal.facility_json(v_facility));
  perform internal.seed_facility_defaults(v_facility, v_caller.principal_id);
  perform internal.append_audit_event(v_caller.organization_id, 'grant.created', v_caller.session_id,
    v_caller.principal_id, g.domain, g.facility_id, 'core.grants', g.id,
    p_details => jsonb_build_object('principal_id', g.principal_id, 'domain', g.domain, 'level', g.level,
                                    'facility_id', g.facility_id, 'reason', g.reason))
    from core.grants g where g.facility_id = v_facility.id order by g.domain;
  return internal.succeed(v_caller, internal.facility_json(v_facility), 'facility', v_facility.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.facility_create(jsonb, text, text, text) is 'Requires: configuration:review organization-wide.';

-- Requires: a valid session (every member of the organization sees its facilities' names).
create function api.facility_list(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'facility.list');
  select coalesce(jsonb_agg(internal.facility_json(f) order by f.slug), '[]'::jsonb) into v_result
    from core.facilities f;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.facility_list(jsonb) is 'Requires: a valid session.';

-- Requires: configuration:review organization-wide.
create function api.principal_create(p_caller jsonb, p_email text, p_display_name text, p_password text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_principal core.principals;
  v_email text;
begin
  v_caller := internal.begin_call(p_caller, 'principal.create');
  perform internal.require(v_caller, 'review', 'configuration', null);
  v_email := lower(internal.text_arg(p_email, 'email', 3, 320));
  if v_email !~ '^[^@\s]{1,64}@[^@\s]{1,255}$' then
    perform internal.raise('AX400', 'email must look like name@domain', 'invalid_email');
  end if;
  if exists (select 1 from core.principals p where p.email = v_email) then
    perform internal.raise('AX409', 'a principal with this e-mail address exists', 'duplicate_email');
  end if;
  insert into core.principals (organization_id, kind, email, display_name, created_by)
  values (v_caller.organization_id, 'human', v_email, internal.text_arg(p_display_name, 'display_name', 1, 200),
          v_caller.principal_id)
  returning * into v_principal;
  if p_password is not null then
    insert into core.password_credentials (principal_id, organization_id, password_hash)
    values (v_principal.id, v_caller.organization_id, internal.hash_password(p_password));
  end if;
  perform internal.append_audit_event(v_caller.organization_id, 'principal.created', v_caller.session_id,
    v_caller.principal_id, 'configuration', null, 'core.principals', v_principal.id,
    p_details => internal.principal_json(v_principal) || jsonb_build_object('password_set', p_password is not null));
  return internal.succeed(v_caller, internal.principal_json(v_principal), 'principal', v_principal.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.principal_create(jsonb, text, text, text) is 'Requires: configuration:review organization-wide.';

-- Requires: a valid session (every member sees who else is in the organization).
create function api.principal_list(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'principal.list');
  select coalesce(jsonb_agg(internal.principal_json(p) order by p.email), '[]'::jsonb) into v_result
    from core.principals p;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.principal_list(jsonb) is 'Requires: a valid session.';

-- Requires: configuration:review organization-wide; never oneself.
create function api.principal_disable(p_caller jsonb, p_principal_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_principal core.principals;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'principal.disable');
  perform internal.require(v_caller, 'review', 'configuration', null);
  v_reason := internal.text_arg(p_reason, 'reason', 3, 1000);
  v_principal := internal.require_principal(p_principal_id);
  if v_principal.id = v_caller.principal_id then
    perform internal.raise('AX422', 'nobody disables themselves; ask another administrator', 'self_disable');
  end if;
  if v_principal.disabled_at is not null then
    perform internal.raise('AX409', 'the principal is already disabled', 'already_disabled');
  end if;
  update core.principals p set disabled_at = now(), disabled_by = v_caller.principal_id
   where p.id = p_principal_id returning * into v_principal;
  perform internal.append_audit_event(v_caller.organization_id, 'principal.disabled', v_caller.session_id,
    v_caller.principal_id, 'configuration', null, 'core.principals', v_principal.id, p_reason => v_reason);
  return internal.succeed(v_caller, internal.principal_json(v_principal), 'principal', v_principal.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.principal_disable(jsonb, uuid, text) is 'Requires: configuration:review organization-wide.';

-- ---------------------------------------------------------------------------------------------
-- api.agent_session_open
-- Requires: the installation worker secret. Opens a one-hour session for an organization's agent
-- service principal; workers call the api functions with it, under the agent's own grants.
-- ---------------------------------------------------------------------------------------------
create function api.agent_session_open(p_worker_secret text, p_organization_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_agent core.principals;
  v_session jsonb;
  v_detail text;
begin
  if p_worker_secret is null or length(p_worker_secret) > 256 or not exists (
       select 1 from internal.installation i where i.worker_secret_hash = internal.token_hash(p_worker_secret)) then
    return internal.error_envelope('AX401', 'the worker secret is wrong', 'bad_worker_secret');
  end if;
  perform internal.enter_org_context(p_organization_id);
  select * into v_agent from core.principals p where p.organization_id = p_organization_id and p.is_agent;
  if not found then
    perform internal.raise('AX404', 'organization not found', 'organization_not_found');
  end if;
  if v_agent.disabled_at is not null then
    perform internal.raise('AX403', 'the agent is disabled for this organization', 'agent_disabled');
  end if;
  v_session := internal.open_session(p_organization_id, v_agent.id, 'agent', 'agent', interval '1 hour',
    interval '1 hour', '{}'::jsonb);
  perform internal.append_session_event(p_organization_id, (v_session ->> 'session_id')::uuid, v_agent.id,
    'session.agent_open', 'ok', 'session', (v_session ->> 'session_id')::uuid);
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', v_session || jsonb_build_object('principal_id', v_agent.id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.agent_session_open(text, uuid) is 'Requires: the installation worker secret.';
