-- 011: identity settings, password policy (common-password denylist, history, aging), lockout alerts,
-- and "sign out everywhere".

-- ---------------------------------------------------------------------------------------------
-- Per-organization identity settings (changed by an administrator, audited).
-- ---------------------------------------------------------------------------------------------
alter table core.organizations
  add column password_min_length integer not null default 12 check (password_min_length between 12 and 128),
  add column password_history integer not null default 5 check (password_history between 0 and 24),
  add column password_max_age_days integer check (password_max_age_days between 30 and 730),
  add column lockout_threshold integer not null default 5 check (lockout_threshold between 3 and 20),
  add column lockout_minutes integer not null default 15 check (lockout_minutes between 1 and 1440),
  add column session_idle_minutes integer not null default 30 check (session_idle_minutes between 5 and 720),
  add column session_max_hours integer not null default 12 check (session_max_hours between 1 and 168),
  -- Part 11 §11.200(a)(1): within one continuous session, signings after the first need only the
  -- password. A session counts as continuous while its signatures are this close together.
  add column signing_continuity_minutes integer not null default 30 check (signing_continuity_minutes between 1 and 480);

grant update (password_min_length, password_history, password_max_age_days, lockout_threshold, lockout_minutes,
  session_idle_minutes, session_max_hours, signing_continuity_minutes) on core.organizations to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Common passwords: sha256 of the lowercased password. Loaded by `axiom db migrate` (as the owner)
-- from the zxcvbn-ts common-password dictionary; the database refuses any password on it.
-- ---------------------------------------------------------------------------------------------
create table internal.password_denylist (
  sha256 bytea primary key check (length(sha256) = 32)
);
comment on table internal.password_denylist is 'sha256(lower(password)) of common passwords (no tenant data).';
grant select on internal.password_denylist to axiom_definer;

-- Previous password hashes, for "no reuse of the last N". Append-only.
create table core.password_history (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null,
  password_hash text not null,
  retired_at timestamptz not null default now(),
  foreign key (organization_id, principal_id) references core.principals (organization_id, id)
);
create index password_history_principal on core.password_history (principal_id, retired_at desc);
alter table core.password_history enable row level security;
alter table core.password_history force row level security;
create policy tenant on core.password_history
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));
grant select on core.password_history to axiom_definer;
grant insert (organization_id, principal_id, password_hash) on core.password_history to axiom_definer;
create trigger _900_append_only before update or delete on core.password_history
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on core.password_history
  for each statement execute function internal.tg__append_only();

-- ---------------------------------------------------------------------------------------------
-- Alerts: what security and management must see at once (11.300(d)): locked accounts, and later
-- tamper detection and failed executions. Append-only; acknowledgement is a separate row.
-- ---------------------------------------------------------------------------------------------
create table core.alerts (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  kind text not null check (kind ~ '^[a-z_]+(\.[a-z_]+)+$'),
  severity text not null check (severity in ('info', 'warning', 'critical')),
  subject_id uuid,
  message text not null check (length(message) between 1 and 2000),
  created_at timestamptz not null default now()
);
create index alerts_org_time on core.alerts (organization_id, created_at desc);
alter table core.alerts enable row level security;
alter table core.alerts force row level security;
create policy tenant on core.alerts
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));
grant select on core.alerts to axiom_definer, axiom_reporting;
grant insert (organization_id, kind, severity, subject_id, message) on core.alerts to axiom_definer;
create trigger _900_append_only before update or delete on core.alerts
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on core.alerts
  for each statement execute function internal.tg__append_only();

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('auth.account_locked', 'An account was locked after repeated failed sign-ins', '{CC6.1,CC7.2,CC7.3}', '{A.8.5,A.8.16}', '{11.300(d)}'),
  ('password.changed', 'A password was changed', '{CC6.1,CC6.2}', '{A.5.17}', '{11.300(b)}'),
  ('organization.settings_changed', 'Identity settings of the organization were changed', '{CC6.1,CC8.1}', '{A.5.17,A.8.5}', '{11.10(d)}'),
  ('session.revoked_all', 'A person signed out everywhere', '{CC6.1}', '{A.8.5}', '{11.10(d)}');

-- ---------------------------------------------------------------------------------------------
-- Password rules, enforced here: length (organization minimum), not a common password, not the
-- e-mail address, not one of the last N (compared with bcrypt, so the history stays hashed).
-- ---------------------------------------------------------------------------------------------
create or replace function internal.hash_password(p_password text)
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
  -- The password itself, and the password without the digits and symbols people append ("Summer2024!").
  if exists (select 1 from internal.password_denylist d
              where d.sha256 in (pg_catalog.sha256(pg_catalog.convert_to(lower(p_password), 'UTF8')),
                                 pg_catalog.sha256(pg_catalog.convert_to(
                                   regexp_replace(lower(p_password), '[0-9[:punct:][:space:]]+$', ''), 'UTF8')))) then
    perform internal.raise('AX400', 'this password is on the list of common passwords', 'common_password');
  end if;
  select i.bcrypt_cost into v_cost from internal.installation i;
  return ext.crypt(p_password, ext.gen_salt('bf', coalesce(v_cost, 12)));
end
$$;

-- The full policy for a principal's new password (organization length, e-mail, history).
create function internal.check_password_policy(p_principal core.principals, p_password text)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_org core.organizations;
  v_hash text;
begin
  select * into v_org from core.organizations o where o.id = p_principal.organization_id;
  if p_password is null or length(p_password) < v_org.password_min_length then
    perform internal.raise('AX400', format('a password has at least %s characters', v_org.password_min_length),
      'weak_password');
  end if;
  if position(lower(split_part(p_principal.email, '@', 1)) in lower(p_password)) > 0 then
    perform internal.raise('AX400', 'a password must not contain the e-mail address', 'weak_password');
  end if;
  for v_hash in
    select h from (
      select c.password_hash as h, c.set_at as at from core.password_credentials c where c.principal_id = p_principal.id
      union all
      select h.password_hash, h.retired_at from core.password_history h where h.principal_id = p_principal.id
    ) x order by x.at desc limit greatest(v_org.password_history, 1)
  loop
    if ext.crypt(p_password, v_hash) = v_hash then
      perform internal.raise('AX400',
        format('a password must differ from the last %s', greatest(v_org.password_history, 1)), 'password_reused');
    end if;
  end loop;
end
$$;

-- Set a principal's password (policy checked); keeps the previous hash in the history.
create function internal.set_password(p_principal core.principals, p_password text)
returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_old text;
begin
  perform internal.check_password_policy(p_principal, p_password);
  select c.password_hash into v_old from core.password_credentials c where c.principal_id = p_principal.id;
  if v_old is null then
    insert into core.password_credentials (principal_id, organization_id, password_hash)
    values (p_principal.id, p_principal.organization_id, internal.hash_password(p_password));
  else
    insert into core.password_history (organization_id, principal_id, password_hash)
    values (p_principal.organization_id, p_principal.id, v_old);
    update core.password_credentials c
       set password_hash = internal.hash_password(p_password), set_at = now(), failed_attempts = 0, locked_until = null
     where c.principal_id = p_principal.id;
  end if;
end
$$;

grant execute on function internal.check_password_policy(core.principals, text),
  internal.set_password(core.principals, text) to axiom_definer;

-- One failed sign-in (or e-signature password) attempt: count it, lock at the threshold with an audit
-- event and an alert. Runs inside the organization (session or context).
create function internal.record_failed_password(p_principal core.principals, p_session_id uuid, p_reason text)
returns boolean
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_org core.organizations;
  v_cred core.password_credentials;
  v_locked boolean;
begin
  select * into v_org from core.organizations o where o.id = p_principal.organization_id;
  update core.password_credentials c
     set failed_attempts = c.failed_attempts + 1,
         last_failed_at = now(),
         locked_until = case when c.failed_attempts + 1 >= v_org.lockout_threshold
                             then now() + make_interval(mins => v_org.lockout_minutes) else c.locked_until end
   where c.principal_id = p_principal.id
  returning * into v_cred;
  v_locked := v_cred.locked_until is not null and v_cred.locked_until > now();
  perform internal.append_audit_event(p_principal.organization_id, 'auth.login_failed', p_session_id, p_principal.id,
    p_reason => p_reason,
    p_details => jsonb_build_object('failed_attempts', v_cred.failed_attempts, 'locked', v_locked));
  if v_locked and v_cred.failed_attempts = v_org.lockout_threshold then
    perform internal.append_audit_event(p_principal.organization_id, 'auth.account_locked', p_session_id, p_principal.id,
      p_target_table => 'core.principals', p_target_id => p_principal.id,
      p_reason => format('%s failed attempts', v_cred.failed_attempts),
      p_details => jsonb_build_object('locked_until', v_cred.locked_until));
    insert into core.alerts (organization_id, kind, severity, subject_id, message)
    values (p_principal.organization_id, 'auth.account_locked', 'warning', p_principal.id,
            format('%s was locked after %s failed attempts', p_principal.email, v_cred.failed_attempts));
  end if;
  return v_locked;
end
$$;
grant execute on function internal.record_failed_password(core.principals, uuid, text) to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Sign-in, replaced: organization lockout settings, session lifetimes, password aging.
-- ---------------------------------------------------------------------------------------------
create or replace function api.session_login_password(p_org_slug text, p_email text, p_password text, p_client jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_who record;
  v_principal core.principals;
  v_org core.organizations;
  v_cred core.password_credentials;
  v_session jsonb;
  v_detail text;
  v_org_id uuid;
begin
  if p_org_slug is null or p_email is null or p_password is null
     or length(p_org_slug) > 63 or length(p_email) > 320 or length(p_password) > 256 then
    return internal.error_envelope('AX400', 'organization, e-mail and password are required', 'invalid_input');
  end if;

  select * into v_who from internal.auth_find_principal(lower(p_org_slug), p_email);
  if v_who.principal_id is null or v_who.kind <> 'human' then
    perform internal.auth_check_password(null, p_password);
    v_org_id := internal.auth_find_organization(lower(p_org_slug));
    if v_org_id is not null then
      -- Attempts on unknown accounts are recorded too (11.300(d)); the attempted address is not.
      perform internal.enter_org_context(v_org_id);
      perform internal.append_audit_event(v_org_id, 'auth.login_failed', null, null,
        p_reason => 'unknown or non-interactive account', p_details => jsonb_build_object('method', 'password'));
      perform internal.leave_org_context();
    end if;
    return internal.error_envelope('AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;

  perform internal.enter_org_context(v_who.organization_id);
  select * into v_principal from core.principals p where p.id = v_who.principal_id;
  select * into v_org from core.organizations o where o.id = v_who.organization_id;
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
    perform internal.record_failed_password(v_principal, null, 'wrong password');
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;
  if v_org.password_max_age_days is not null
     and v_cred.set_at < now() - make_interval(days => v_org.password_max_age_days) then
    perform internal.append_audit_event(v_who.organization_id, 'auth.login_failed', null, v_who.principal_id,
      p_reason => 'password expired', p_details => jsonb_build_object('method', 'password'));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the password has expired; choose a new one', 'password_expired');
  end if;

  if v_cred.failed_attempts > 0 then
    update core.password_credentials c set failed_attempts = 0 where c.principal_id = v_who.principal_id;
  end if;
  v_session := internal.open_session(v_who.organization_id, v_who.principal_id, 'web', 'password',
    make_interval(hours => v_org.session_max_hours), make_interval(mins => v_org.session_idle_minutes), p_client);
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

-- Requires: valid credentials (the current password). Changes an expired password, then signs in.
create function api.session_login_password_change(p_org_slug text, p_email text, p_password text,
                                                  p_new_password text, p_client jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_who record;
  v_principal core.principals;
  v_detail text;
  v_cred core.password_credentials;
begin
  if p_org_slug is null or p_email is null or p_password is null or p_new_password is null
     or length(p_org_slug) > 63 or length(p_email) > 320 or length(p_password) > 256 or length(p_new_password) > 256 then
    return internal.error_envelope('AX400', 'organization, e-mail, password and new password are required', 'invalid_input');
  end if;
  select * into v_who from internal.auth_find_principal(lower(p_org_slug), p_email);
  if v_who.principal_id is null or v_who.kind <> 'human' or v_who.disabled
     or not internal.auth_check_password(v_who.principal_id, p_password) then
    if v_who.principal_id is not null and not v_who.disabled then
      perform internal.enter_org_context(v_who.organization_id);
      select * into v_principal from core.principals p where p.id = v_who.principal_id;
      perform internal.record_failed_password(v_principal, null, 'wrong password (password change)');
      perform internal.leave_org_context();
    end if;
    return internal.error_envelope('AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;
  perform internal.enter_org_context(v_who.organization_id);
  select * into v_cred from core.password_credentials c where c.principal_id = v_who.principal_id;
  if v_cred.locked_until is not null and v_cred.locked_until > now() then
    perform internal.leave_org_context();
    return internal.error_envelope('AX423', 'the account is locked after repeated failed sign-ins; try again later',
      'account_locked');
  end if;
  select * into v_principal from core.principals p where p.id = v_who.principal_id;
  perform internal.set_password(v_principal, p_new_password);
  perform internal.append_audit_event(v_who.organization_id, 'password.changed', null, v_who.principal_id,
    p_target_table => 'core.principals', p_target_id => v_who.principal_id, p_reason => 'changed at sign-in');
  perform internal.leave_org_context();
  return api.session_login_password(p_org_slug, p_email, p_new_password, p_client);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_login_password_change(text, text, text, text, jsonb) is
  'Requires: valid credentials (the current password).';

-- Requires: a signed-in person; the current password.
create function api.password_change(p_caller jsonb, p_current text, p_new text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_principal core.principals;
begin
  v_caller := internal.begin_call(p_caller, 'password.change');
  if v_caller.session_kind <> 'web' then
    perform internal.raise('AX403', 'passwords are changed in a signed-in session', 'token_cannot_change_password');
  end if;
  select * into v_principal from core.principals p where p.id = v_caller.principal_id;
  if p_current is null or length(p_current) > 256 or not internal.auth_check_password(v_principal.id, p_current) then
    perform internal.raise('AX401', 'the current password is wrong', 'invalid_credentials');
  end if;
  perform internal.set_password(v_principal, p_new);
  perform internal.append_audit_event(v_caller.organization_id, 'password.changed', v_caller.session_id,
    v_caller.principal_id, p_target_table => 'core.principals', p_target_id => v_caller.principal_id);
  return internal.succeed(v_caller, jsonb_build_object('changed', true), 'principal', v_caller.principal_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.password_change(jsonb, text, text) is 'Requires: a signed-in person and their current password.';

-- Requires: a valid session. Revokes every web session of the caller (API tokens stay; revoke those one by one).
create function api.session_revoke_all(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_count integer;
begin
  v_caller := internal.begin_call(p_caller, 'session.revoke_all');
  update core.sessions s set revoked_at = now(), revoked_by = v_caller.principal_id, revoke_reason = 'signed out everywhere'
   where s.principal_id = v_caller.principal_id and s.kind = 'web' and s.revoked_at is null;
  get diagnostics v_count = row_count;
  perform internal.enter_org_context(v_caller.organization_id);
  perform internal.append_audit_event(v_caller.organization_id, 'session.revoked_all', v_caller.session_id,
    v_caller.principal_id, p_target_table => 'core.principals', p_target_id => v_caller.principal_id,
    p_details => jsonb_build_object('sessions', v_count));
  return internal.succeed(v_caller, jsonb_build_object('revoked', v_count), 'principal', v_caller.principal_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_revoke_all(jsonb) is 'Requires: a valid session (own web sessions only).';

-- Requires: configuration:review organization-wide.
create function api.organization_settings_update(p_caller jsonb, p_settings jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_before core.organizations;
  v_after core.organizations;
  v_key text;
begin
  v_caller := internal.begin_call(p_caller, 'organization.settings_update');
  perform internal.require(v_caller, 'review', 'configuration', null);
  if p_settings is null or jsonb_typeof(p_settings) <> 'object' then
    perform internal.raise('AX400', 'settings is an object', 'invalid_settings');
  end if;
  for v_key in select jsonb_object_keys(p_settings) loop
    if v_key not in ('password_min_length', 'password_history', 'password_max_age_days', 'lockout_threshold',
                     'lockout_minutes', 'session_idle_minutes', 'session_max_hours', 'signing_continuity_minutes',
                     'max_delegation_days') then
      perform internal.raise('AX400', format('unknown setting %s', left(v_key, 60)), 'invalid_settings');
    end if;
    if jsonb_typeof(p_settings -> v_key) not in ('number', 'null')
       or (jsonb_typeof(p_settings -> v_key) = 'null' and v_key <> 'password_max_age_days') then
      perform internal.raise('AX400', format('%s is a whole number', v_key), 'invalid_settings');
    end if;
  end loop;
  select * into v_before from core.organizations o where o.id = v_caller.organization_id;
  update core.organizations o set
    password_min_length = coalesce((p_settings ->> 'password_min_length')::integer, o.password_min_length),
    password_history = coalesce((p_settings ->> 'password_history')::integer, o.password_history),
    password_max_age_days = case when p_settings ? 'password_max_age_days'
                                 then (p_settings ->> 'password_max_age_days')::integer else o.password_max_age_days end,
    lockout_threshold = coalesce((p_settings ->> 'lockout_threshold')::integer, o.lockout_threshold),
    lockout_minutes = coalesce((p_settings ->> 'lockout_minutes')::integer, o.lockout_minutes),
    session_idle_minutes = coalesce((p_settings ->> 'session_idle_minutes')::integer, o.session_idle_minutes),
    session_max_hours = coalesce((p_settings ->> 'session_max_hours')::integer, o.session_max_hours),
    signing_continuity_minutes = coalesce((p_settings ->> 'signing_continuity_minutes')::integer, o.signing_continuity_minutes),
    max_delegation_days = coalesce((p_settings ->> 'max_delegation_days')::integer, o.max_delegation_days)
   where o.id = v_caller.organization_id
  returning * into v_after;
  perform internal.append_audit_event(v_caller.organization_id, 'organization.settings_changed', v_caller.session_id,
    v_caller.principal_id, 'configuration', null, 'core.organizations', v_caller.organization_id,
    p_details => p_settings, p_state => jsonb_build_object('before', to_jsonb(v_before), 'after', to_jsonb(v_after)));
  return internal.succeed(v_caller, internal.organization_settings_json(v_after), 'organization', v_caller.organization_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.organization_settings_update(jsonb, jsonb) is 'Requires: configuration:review organization-wide.';

create function internal.organization_settings_json(o core.organizations)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', o.id, 'slug', o.slug, 'name', o.name, 'plan_tier', o.plan_tier, 'legal_hold', o.legal_hold,
  'password_min_length', o.password_min_length, 'password_history', o.password_history,
  'password_max_age_days', o.password_max_age_days, 'lockout_threshold', o.lockout_threshold,
  'lockout_minutes', o.lockout_minutes, 'session_idle_minutes', o.session_idle_minutes,
  'session_max_hours', o.session_max_hours, 'signing_continuity_minutes', o.signing_continuity_minutes,
  'max_delegation_days', o.max_delegation_days);
grant execute on function internal.organization_settings_json(core.organizations) to axiom_definer;
grant update (max_delegation_days) on core.organizations to axiom_definer;

-- Requires: a valid session (every member sees the organization's identity settings).
create function api.organization_get(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_org core.organizations;
begin
  v_caller := internal.begin_call(p_caller, 'organization.get');
  select * into v_org from core.organizations o where o.id = v_caller.organization_id;
  return internal.succeed(v_caller, internal.organization_settings_json(v_org), 'organization', v_org.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.organization_get(jsonb) is 'Requires: a valid session.';

-- Requires: audit:read organization-wide (security and management see alerts).
create function api.alert_list(p_caller jsonb, p_limit integer default 100)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_limit integer;
begin
  v_caller := internal.begin_call(p_caller, 'alert.list');
  perform internal.require(v_caller, 'read', 'audit', null);
  v_limit := internal.limit_arg(p_limit, 500);
  select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'kind', a.kind, 'severity', a.severity,
           'subject_id', a.subject_id, 'message', a.message, 'created_at', a.created_at) order by a.created_at desc), '[]'::jsonb)
    into v_result
    from (select * from core.alerts a order by a.created_at desc limit v_limit) a;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.alert_list(jsonb, integer) is 'Requires: audit:read organization-wide.';

-- principal_create now applies the organization's password policy.
create or replace function api.principal_create(p_caller jsonb, p_email text, p_display_name text, p_password text default null)
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
    perform internal.set_password(v_principal, p_password);
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

call internal.finalize_api();

-- Api functions may call one another (session_login_password_change signs in through
-- session_login_password); axiom_definer owns them all.
grant usage on schema api to axiom_definer;
