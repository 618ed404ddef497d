-- 018: single sign-on links an existing account only for a verified domain.
--
-- 012 provisioned a new person just in time only when the e-mail's domain was verified, but linked an
-- existing account to the provider's subject on a matching e-mail address whatever its domain. Any
-- identity provider account asserting that address (a consumer mailbox, say) could then sign in as the
-- existing person. Linking now needs the same verified domain as provisioning; a subject already linked
-- keeps signing in.

create or replace function api.session_login_sso(p_service_secret text, p_provider_id uuid, p_identity jsonb, p_client jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider core.sso_providers;
  v_org uuid;
  v_email text;
  v_domain text;
  v_principal core.principals;
  v_ext core.external_identities;
  v_grant jsonb;
  v_session jsonb;
  v_detail text;
  v_org_row core.organizations;
  v_fail text;
begin
  perform internal.require_service_secret(p_service_secret);
  select p.organization_id into v_org from internal.auth_find_provider(p_provider_id) p;
  if v_org is null then
    perform internal.raise('AX404', 'provider not found', 'provider_not_found');
  end if;
  perform internal.enter_org_context(v_org);
  select * into v_provider from core.sso_providers p where p.id = p_provider_id;
  select * into v_org_row from core.organizations o where o.id = v_org;
  if p_identity is null or jsonb_typeof(p_identity) <> 'object' or jsonb_typeof(p_identity -> 'subject') <> 'string'
     or length(p_identity ->> 'subject') not between 1 and 500 then
    perform internal.raise('AX400', 'the identity needs a subject', 'invalid_identity');
  end if;

  -- Failures below are recorded and answered, not raised, so the record survives.
  if v_provider.disabled_at is not null then
    v_fail := 'provider_disabled';
  elsif v_org_row.plan_tier = 'starter' then
    v_fail := 'plan_tier';
  end if;
  if v_fail is null and v_provider.kind = 'saml' then
    if p_identity ->> 'assertion_id' is null or p_identity ->> 'not_on_or_after' is null then
      v_fail := 'assertion_incomplete';
    elsif exists (select 1 from core.saml_assertions_seen s
                   where s.provider_id = p_provider_id and s.assertion_id = p_identity ->> 'assertion_id') then
      v_fail := 'assertion_replayed';
    else
      insert into core.saml_assertions_seen (organization_id, provider_id, assertion_id, not_on_or_after)
      values (v_org, p_provider_id, left(p_identity ->> 'assertion_id', 500), (p_identity ->> 'not_on_or_after')::timestamptz);
    end if;
  end if;

  if v_fail is null then
    select * into v_ext from core.external_identities e
     where e.provider_id = p_provider_id and e.subject = p_identity ->> 'subject';
    if v_ext.id is not null then
      select * into v_principal from core.principals p where p.id = v_ext.principal_id;
    else
      v_email := lower(p_identity ->> 'email');
      if v_email is null or v_email !~ '^[^@\s]{1,64}@[^@\s]{1,255}$' or coalesce((p_identity ->> 'email_verified')::boolean, false) = false then
        v_fail := 'email_unverified';
      else
        v_domain := split_part(v_email, '@', 2);
        select * into v_principal from core.principals p where p.email = v_email;
        -- Provisioning a person and linking an existing account both need the domain verified.
        if not exists (select 1 from core.organization_domains d where d.domain = v_domain and d.removed_at is null) then
          v_fail := 'domain_not_verified';
        elsif v_principal.id is null then
          insert into core.principals (organization_id, kind, email, display_name, created_by)
          values (v_org, 'human', v_email, left(coalesce(nullif(btrim(p_identity ->> 'name'), ''), v_email), 200),
                  v_provider.created_by)
          returning * into v_principal;
          perform internal.append_audit_event(v_org, 'principal.provisioned', null, v_provider.created_by,
            'configuration', null, 'core.principals', v_principal.id,
            p_details => jsonb_build_object('provider_id', p_provider_id, 'email', v_email));
          for v_grant in select * from jsonb_array_elements(v_provider.default_grants) loop
            insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
            values (v_org, v_principal.id, (v_grant ->> 'domain')::core.domain, (v_grant ->> 'facility_id')::uuid,
                    (v_grant ->> 'level')::core.access_level, v_provider.created_by,
                    'default grant of single sign-on provider ' || v_provider.name);
          end loop;
        end if;
        if v_fail is null then
          insert into core.external_identities (organization_id, principal_id, provider_id, subject)
          values (v_org, v_principal.id, p_provider_id, p_identity ->> 'subject')
          returning * into v_ext;
        end if;
      end if;
    end if;
  end if;
  if v_fail is null and (v_principal.disabled_at is not null or v_principal.kind <> 'human') then
    v_fail := 'principal_disabled';
  end if;

  if v_fail is not null then
    perform internal.append_audit_event(v_org, 'sso.login_failed', null, v_principal.id,
      p_reason => v_fail, p_details => jsonb_build_object('provider_id', p_provider_id, 'kind', v_provider.kind));
    perform internal.leave_org_context();
    return internal.error_envelope(case v_fail when 'plan_tier' then 'AX403' when 'assertion_replayed' then 'AX409'
                                                 else 'AX401' end,
      'single sign-on was refused', v_fail);
  end if;

  update core.external_identities e set last_login_at = now() where e.id = v_ext.id;
  v_session := internal.open_session(v_org, v_principal.id, 'web', v_provider.kind,
    make_interval(hours => v_org_row.session_max_hours), make_interval(mins => v_org_row.session_idle_minutes), p_client);
  perform internal.append_session_event(v_org, (v_session ->> 'session_id')::uuid, v_principal.id, 'session.login_sso',
    'ok', 'session', (v_session ->> 'session_id')::uuid);
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data',
    v_session || jsonb_build_object('organization_id', v_org, 'principal_id', v_principal.id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_login_sso(text, uuid, jsonb, jsonb) is
  'Requires: the service secret (the server has verified the identity provider''s answer).';

call internal.finalize_api();
