-- 019: a password someone else set must be replaced by its owner before it opens a session
-- (21 CFR Part 11 §11.200(a)(3): misuse needs the collaboration of two people; an administrator must
-- not know a password that signs).
--
-- A trigger marks a password as "must change" whenever it is written by a session that is not its
-- owner's (an administrator creating a person with an initial password); a password the owner writes
-- (their session, or signing in with the current password and a new one) is their own. Signing in with
-- a must-change password is refused ('password_change_required') until the person chooses a new one
-- (POST /api/v1/auth/login with new_password, `axiom login` asks for it).

alter table core.password_credentials add column must_change boolean not null default false;

create function internal.tg_password_credentials__must_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_writer uuid := internal.current_principal_id();
begin
  new.must_change := v_writer is not null and v_writer <> new.principal_id;
  return new;
end
$$;
create trigger _100_must_change before insert or update of password_hash on core.password_credentials
  for each row execute function internal.tg_password_credentials__must_change();

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
  -- §11.200(a)(3): a password someone else set (an administrator, for a new person) is replaced by
  -- the person before it opens a session.
  if v_cred.must_change then
    perform internal.append_audit_event(v_who.organization_id, 'auth.login_failed', null, v_who.principal_id,
      p_reason => 'initial password not changed yet', p_details => jsonb_build_object('method', 'password'));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401',
      'the password was set by an administrator; choose your own to sign in', 'password_change_required');
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

call internal.finalize_api();
