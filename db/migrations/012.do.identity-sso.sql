-- 012: single sign-on (OpenID Connect and SAML 2.0) for the growth tier and above.
--
-- The identity provider's answer (an ID token or a signed SAML assertion) is verified by the
-- application (openid-client, @node-saml/node-saml): PostgreSQL cannot check a JWS or an XML
-- signature. The database does what it can: it refuses SSO for starter organizations, keeps the
-- in-flight requests (state, nonce, PKCE verifier; single use, short-lived), refuses replayed SAML
-- assertions, provisions just in time only for verified e-mail domains with the organization's default
-- grants, and accepts an SSO sign-in only from a caller holding the installation's service secret
-- (the worker secret), not from anyone who merely has axiom_user's database password.

-- E-mail domains the organization has verified (administrator attestation, audited).
create table core.organization_domains (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  domain text not null check (domain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'),
  verified_by uuid not null,
  verified_at timestamptz not null default now(),
  -- Lifecycle.
  removed_at timestamptz,
  foreign key (organization_id, verified_by) references core.principals (organization_id, id)
);
create unique index organization_domains_active on core.organization_domains (organization_id, domain)
  where removed_at is null;

create table core.sso_providers (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  kind text not null check (kind in ('oidc', 'saml')),
  name text not null check (length(btrim(name)) between 1 and 100),
  -- OpenID Connect
  issuer text check (issuer ~ '^https?://'),
  client_id text check (length(client_id) between 1 and 500),
  -- The client secret sealed with the organization's public key by the application (never plaintext).
  client_secret_sealed bytea check (length(client_secret_sealed) <= 16384),
  -- SAML
  idp_entity_id text check (length(idp_entity_id) between 1 and 1000),
  idp_sso_url text check (idp_sso_url ~ '^https?://'),
  idp_certificate text check (idp_certificate like '-----BEGIN CERTIFICATE-----%'),
  sp_entity_id text check (length(sp_entity_id) between 1 and 1000),
  -- Grants given to a person provisioned just in time: [{domain, level, facility_id|null}].
  default_grants jsonb not null default '[]' check (jsonb_typeof(default_grants) = 'array'),
  created_by uuid not null,
  created_at timestamptz not null default now(),
  -- Lifecycle.
  disabled_at timestamptz,
  foreign key (organization_id, created_by) references core.principals (organization_id, id),
  check ((kind = 'oidc') = (issuer is not null and client_id is not null)),
  check ((kind = 'saml') = (idp_entity_id is not null and idp_sso_url is not null and idp_certificate is not null
                            and sp_entity_id is not null))
);
create index sso_providers_org on core.sso_providers (organization_id);

-- The SSO plan rule lives in the database.
create function internal.tg_sso_providers__plan()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if (select o.plan_tier from core.organizations o where o.id = new.organization_id) = 'starter' then
    perform internal.raise('AX403', 'single sign-on is available on the growth tier and above', 'plan_tier');
  end if;
  return new;
end
$$;
create trigger _100_plan before insert on core.sso_providers
  for each row execute function internal.tg_sso_providers__plan();

-- In-flight SSO requests: login, or re-authentication for an e-signature. Single use, 10 minutes.
create table core.sso_requests (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  provider_id uuid not null references core.sso_providers (id),
  purpose text not null check (purpose in ('login', 'reauth')),
  state_hash bytea not null unique check (length(state_hash) = 32),
  nonce text not null check (length(nonce) between 16 and 200),
  code_verifier text check (length(code_verifier) between 43 and 128),
  -- reauth only: who must come back, and for which signature challenge.
  principal_id uuid,
  signature_challenge_id uuid,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- Lifecycle.
  consumed_at timestamptz
);

-- Who a person is at an identity provider.
create table core.external_identities (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null,
  provider_id uuid not null references core.sso_providers (id),
  subject text not null check (length(subject) between 1 and 500),
  created_at timestamptz not null default now(),
  -- Lifecycle.
  last_login_at timestamptz,
  unique (provider_id, subject),
  foreign key (organization_id, principal_id) references core.principals (organization_id, id)
);

-- SAML replay protection: every assertion id is accepted once (kept until it expires).
create table core.saml_assertions_seen (
  organization_id uuid not null references core.organizations (id),
  provider_id uuid not null references core.sso_providers (id),
  assertion_id text not null check (length(assertion_id) between 1 and 500),
  not_on_or_after timestamptz not null,
  seen_at timestamptz not null default now(),
  primary key (provider_id, assertion_id)
);

do $rls$
declare
  v_table text;
begin
  foreach v_table in array array['organization_domains', 'sso_providers', 'sso_requests', 'external_identities',
                                 'saml_assertions_seen'] loop
    execute format('alter table core.%I enable row level security', v_table);
    execute format('alter table core.%I force row level security', v_table);
    execute format($p$create policy tenant on core.%I
      using (organization_id = (select internal.current_org_id()))
      with check (organization_id = (select internal.current_org_id()))$p$, v_table);
    execute format('create trigger _900_no_delete before delete on core.%I for each row execute function internal.tg__no_delete()', v_table);
    execute format('create trigger _901_no_truncate before truncate on core.%I for each statement execute function internal.tg__no_delete()', v_table);
  end loop;
end
$rls$;

grant select on core.organization_domains, core.sso_providers, core.sso_requests, core.external_identities,
  core.saml_assertions_seen to axiom_definer;
grant select on core.organization_domains, core.sso_providers, core.external_identities to axiom_reporting;
grant insert (organization_id, domain, verified_by) on core.organization_domains to axiom_definer;
grant update (removed_at) on core.organization_domains to axiom_definer;
grant insert (id, organization_id, kind, name, issuer, client_id, client_secret_sealed, idp_entity_id, idp_sso_url,
  idp_certificate, sp_entity_id, default_grants, created_by) on core.sso_providers to axiom_definer;
grant update (disabled_at) on core.sso_providers to axiom_definer;
grant insert (organization_id, provider_id, purpose, state_hash, nonce, code_verifier, principal_id,
  signature_challenge_id, expires_at) on core.sso_requests to axiom_definer;
grant update (consumed_at) on core.sso_requests to axiom_definer;
grant insert (organization_id, principal_id, provider_id, subject) on core.external_identities to axiom_definer;
grant update (last_login_at) on core.external_identities to axiom_definer;
grant insert (organization_id, provider_id, assertion_id, not_on_or_after) on core.saml_assertions_seen to axiom_definer;

-- Unauthenticated lookups by provider id (the callback knows only the provider and the state).
grant select on core.sso_providers, core.sso_requests to axiom_auth;
create function internal.auth_find_provider(p_provider uuid)
returns table (organization_id uuid, kind text, disabled boolean)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return query select p.organization_id, p.kind, p.disabled_at is not null from core.sso_providers p where p.id = p_provider;
end
$$;
call internal.set_function_owner('internal.auth_find_provider(uuid)', 'axiom_auth');
grant execute on function internal.auth_find_provider(uuid) to axiom_definer;

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('sso.provider_configured', 'A single sign-on provider was configured', '{CC6.1,CC8.1}', '{A.5.16,A.8.5}', '{11.10(d)}'),
  ('sso.provider_disabled', 'A single sign-on provider was disabled', '{CC6.1,CC8.1}', '{A.5.16}', '{11.10(d)}'),
  ('sso.domain_verified', 'An e-mail domain was verified for just-in-time provisioning', '{CC6.2}', '{A.5.16}', '{11.100(b)}'),
  ('sso.domain_removed', 'A verified e-mail domain was removed', '{CC6.2}', '{A.5.16}', '{11.100(b)}'),
  ('sso.login_failed', 'A single sign-on attempt was refused', '{CC6.1,CC7.2}', '{A.8.5}', '{11.300(d)}'),
  ('principal.provisioned', 'A person was provisioned just in time by single sign-on', '{CC6.2}', '{A.5.16}', '{11.100(a)}');

create function internal.sso_provider_json(p core.sso_providers)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', p.id, 'kind', p.kind, 'name', p.name, 'issuer', p.issuer, 'client_id', p.client_id,
  'has_client_secret', p.client_secret_sealed is not null, 'idp_entity_id', p.idp_entity_id,
  'idp_sso_url', p.idp_sso_url, 'idp_certificate', p.idp_certificate, 'sp_entity_id', p.sp_entity_id,
  'default_grants', p.default_grants, 'created_at', p.created_at, 'disabled_at', p.disabled_at);
grant execute on function internal.sso_provider_json(core.sso_providers) to axiom_definer;

create function internal.require_service_secret(p_secret text)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_secret is null or length(p_secret) > 256 or not exists (
       select 1 from internal.installation i where i.worker_secret_hash = internal.token_hash(p_secret)) then
    perform internal.raise('AX401', 'the service secret is wrong', 'bad_service_secret');
  end if;
end
$$;
grant execute on function internal.require_service_secret(text) to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Administration (configuration:review organization-wide)
-- ---------------------------------------------------------------------------------------------
-- Requires: configuration:review organization-wide.
create function api.domain_verify(p_caller jsonb, p_domain text, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_row core.organization_domains;
  v_domain text;
begin
  v_caller := internal.begin_call(p_caller, 'sso.domain_verify');
  perform internal.require(v_caller, 'review', 'configuration', null);
  v_domain := lower(internal.text_arg(p_domain, 'domain', 3, 253));
  if v_domain !~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$' then
    perform internal.raise('AX400', 'domain must be a DNS name', 'invalid_domain_name');
  end if;
  if exists (select 1 from core.organization_domains d where d.domain = v_domain and d.removed_at is null) then
    perform internal.raise('AX409', 'the domain is already verified', 'duplicate_domain');
  end if;
  insert into core.organization_domains (organization_id, domain, verified_by)
  values (v_caller.organization_id, v_domain, v_caller.principal_id) returning * into v_row;
  perform internal.append_audit_event(v_caller.organization_id, 'sso.domain_verified', v_caller.session_id,
    v_caller.principal_id, 'configuration', null, 'core.organization_domains', v_row.id,
    p_reason => internal.text_arg(p_reason, 'reason', 3, 1000), p_details => jsonb_build_object('domain', v_domain));
  return internal.succeed(v_caller, jsonb_build_object('id', v_row.id, 'domain', v_domain, 'verified_at', v_row.verified_at),
    'domain', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.domain_verify(jsonb, text, text) is 'Requires: configuration:review organization-wide.';

-- Requires: configuration:read organization-wide.
create function api.domain_list(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'sso.domain_list');
  perform internal.require(v_caller, 'read', 'configuration', null);
  select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'domain', d.domain, 'verified_at', d.verified_at,
           'verified_by', d.verified_by) order by d.domain), '[]'::jsonb)
    into v_result from core.organization_domains d where d.removed_at is null;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.domain_list(jsonb) is 'Requires: configuration:read organization-wide.';

-- Requires: configuration:review organization-wide; the organization on the growth tier or above.
-- p_config: {kind, name, issuer?, client_id?, client_secret_sealed? (base64), idp_entity_id?, idp_sso_url?,
--            idp_certificate?, sp_entity_id?, default_grants?}
create function api.sso_provider_configure(p_caller jsonb, p_config jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_row core.sso_providers;
  v_grant jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'sso.provider_configure');
  perform internal.require(v_caller, 'review', 'configuration', null);
  if p_config is null or jsonb_typeof(p_config) <> 'object' then
    perform internal.raise('AX400', 'config is an object', 'invalid_config');
  end if;
  if (select o.plan_tier from core.organizations o where o.id = v_caller.organization_id) = 'starter' then
    perform internal.raise('AX403', 'single sign-on is available on the growth tier and above', 'plan_tier');
  end if;
  if p_config ->> 'kind' not in ('oidc', 'saml') or p_config ->> 'kind' is null then
    perform internal.raise('AX400', 'kind is oidc or saml', 'invalid_config');
  end if;
  if jsonb_typeof(coalesce(p_config -> 'default_grants', '[]')) <> 'array'
     or jsonb_array_length(coalesce(p_config -> 'default_grants', '[]')) > 50 then
    perform internal.raise('AX400', 'default_grants is a list of {domain, level, facility_id}', 'invalid_config');
  end if;
  for v_grant in select * from jsonb_array_elements(coalesce(p_config -> 'default_grants', '[]')) loop
    perform internal.to_domain(v_grant ->> 'domain');
    if internal.to_level(v_grant ->> 'level') > 'operate' then
      perform internal.raise('AX422', 'just-in-time grants go up to operate; review and author are given by a person',
        'default_grant_too_high');
    end if;
    if v_grant ->> 'facility_id' is not null then
      perform internal.require_facility((v_grant ->> 'facility_id')::uuid);
    end if;
  end loop;
  begin
    insert into core.sso_providers (organization_id, kind, name, issuer, client_id, client_secret_sealed, idp_entity_id,
                                    idp_sso_url, idp_certificate, sp_entity_id, default_grants, created_by)
    values (v_caller.organization_id, p_config ->> 'kind', internal.text_arg(p_config ->> 'name', 'name', 1, 100),
            p_config ->> 'issuer', p_config ->> 'client_id', decode(p_config ->> 'client_secret_sealed', 'base64'),
            p_config ->> 'idp_entity_id', p_config ->> 'idp_sso_url', p_config ->> 'idp_certificate',
            p_config ->> 'sp_entity_id', coalesce(p_config -> 'default_grants', '[]'), v_caller.principal_id)
    returning * into v_row;
  exception when check_violation then
    perform internal.raise('AX400', 'the provider configuration is incomplete or malformed', 'invalid_config');
  end;
  perform internal.append_audit_event(v_caller.organization_id, 'sso.provider_configured', v_caller.session_id,
    v_caller.principal_id, 'configuration', null, 'core.sso_providers', v_row.id,
    p_details => internal.sso_provider_json(v_row) - 'idp_certificate');
  return internal.succeed(v_caller, internal.sso_provider_json(v_row), 'sso_provider', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_provider_configure(jsonb, jsonb) is
  'Requires: configuration:review organization-wide; growth tier or above.';

-- Requires: configuration:review organization-wide.
create function api.sso_provider_disable(p_caller jsonb, p_provider_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_row core.sso_providers;
begin
  v_caller := internal.begin_call(p_caller, 'sso.provider_disable');
  perform internal.require(v_caller, 'review', 'configuration', null);
  update core.sso_providers p set disabled_at = now() where p.id = p_provider_id and p.disabled_at is null
  returning * into v_row;
  if v_row.id is null then
    perform internal.raise('AX404', 'provider not found or already disabled', 'provider_not_found');
  end if;
  perform internal.append_audit_event(v_caller.organization_id, 'sso.provider_disabled', v_caller.session_id,
    v_caller.principal_id, 'configuration', null, 'core.sso_providers', v_row.id,
    p_reason => internal.text_arg(p_reason, 'reason', 3, 1000));
  return internal.succeed(v_caller, internal.sso_provider_json(v_row), 'sso_provider', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_provider_disable(jsonb, uuid, text) is 'Requires: configuration:review organization-wide.';

-- Requires: configuration:read organization-wide.
create function api.sso_provider_list(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'sso.provider_list');
  perform internal.require(v_caller, 'read', 'configuration', null);
  select coalesce(jsonb_agg(internal.sso_provider_json(p) order by p.created_at), '[]'::jsonb) into v_result
    from core.sso_providers p;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_provider_list(jsonb) is 'Requires: configuration:read organization-wide.';

-- ---------------------------------------------------------------------------------------------
-- The sign-in flow (service secret: only the Axiom server, which verifies the provider's answer)
-- ---------------------------------------------------------------------------------------------
-- Requires: the service secret. Public information the server needs to start a login with a provider.
create function api.sso_provider_for_login(p_service_secret text, p_org_slug text, p_provider_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_org uuid;
  v_row core.sso_providers;
  v_tier core.plan_tier;
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  v_org := internal.auth_find_organization(lower(p_org_slug));
  if v_org is null then
    perform internal.raise('AX404', 'organization not found', 'organization_not_found');
  end if;
  perform internal.enter_org_context(v_org);
  select o.plan_tier into v_tier from core.organizations o where o.id = v_org;
  if v_tier = 'starter' then
    perform internal.raise('AX403', 'single sign-on is available on the growth tier and above', 'plan_tier');
  end if;
  select * into v_row from core.sso_providers p
   where p.disabled_at is null and (p_provider_id is null or p.id = p_provider_id)
   order by p.created_at limit 1;
  if v_row.id is null then
    perform internal.raise('AX404', 'no single sign-on provider is configured', 'provider_not_found');
  end if;
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', internal.sso_provider_json(v_row)
    || jsonb_build_object('organization_id', v_org, 'client_secret_sealed', encode(v_row.client_secret_sealed, 'base64')));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_provider_for_login(text, text, uuid) is 'Requires: the service secret.';

-- Requires: the service secret. Records an in-flight request (the state is stored hashed).
create function api.sso_request_begin(p_service_secret text, p_provider_id uuid, p_request jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider record;
  v_id uuid;
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  select * into v_provider from internal.auth_find_provider(p_provider_id);
  if v_provider.organization_id is null or v_provider.disabled then
    perform internal.raise('AX404', 'provider not found', 'provider_not_found');
  end if;
  if p_request is null or jsonb_typeof(p_request) <> 'object' or coalesce(p_request ->> 'purpose', '') not in ('login', 'reauth')
     or length(p_request ->> 'state') not between 16 and 200 then
    perform internal.raise('AX400', 'a request has a purpose, a state and a nonce', 'invalid_request');
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  insert into core.sso_requests (organization_id, provider_id, purpose, state_hash, nonce, code_verifier, principal_id,
                                 signature_challenge_id, expires_at)
  values (v_provider.organization_id, p_provider_id, p_request ->> 'purpose', internal.token_hash(p_request ->> 'state'),
          p_request ->> 'nonce', p_request ->> 'code_verifier', (p_request ->> 'principal_id')::uuid,
          (p_request ->> 'signature_challenge_id')::uuid, now() + interval '10 minutes')
  returning id into v_id;
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', jsonb_build_object('id', v_id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_request_begin(text, uuid, jsonb) is 'Requires: the service secret.';

-- Requires: the service secret. Consumes an in-flight request by its state (once, before it expires).
create function api.sso_request_consume(p_service_secret text, p_provider_id uuid, p_state text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider record;
  v_provider_row core.sso_providers;
  v_row core.sso_requests;
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  select * into v_provider from internal.auth_find_provider(p_provider_id);
  if v_provider.organization_id is null then
    perform internal.raise('AX404', 'provider not found', 'provider_not_found');
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  update core.sso_requests r set consumed_at = now()
   where r.provider_id = p_provider_id and r.state_hash = internal.token_hash(coalesce(p_state, ''))
     and r.consumed_at is null and r.expires_at > now()
  returning * into v_row;
  if v_row.id is null then
    perform internal.append_audit_event(v_provider.organization_id, 'sso.login_failed', null, null,
      p_reason => 'unknown, used or expired state', p_details => jsonb_build_object('provider_id', p_provider_id));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the sign-in request is unknown, used or expired', 'state_mismatch');
  end if;
  select * into v_provider_row from core.sso_providers p where p.id = p_provider_id;
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', jsonb_build_object(
    'id', v_row.id, 'purpose', v_row.purpose, 'nonce', v_row.nonce, 'code_verifier', v_row.code_verifier,
    'principal_id', v_row.principal_id, 'signature_challenge_id', v_row.signature_challenge_id,
    'organization_id', v_row.organization_id,
    'provider', internal.sso_provider_json(v_provider_row) || jsonb_build_object(
      'organization_id', v_row.organization_id,
      'client_secret_sealed', encode(v_provider_row.client_secret_sealed, 'base64'))));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_request_consume(text, uuid, text) is 'Requires: the service secret.';

-- Requires: the service secret (the server verified the ID token or the signed assertion).
-- p_identity: {subject, email, email_verified, name, assertion_id?, not_on_or_after?}
-- Finds the person by their provider subject, links an existing account by e-mail, or provisions one
-- just in time when the e-mail's domain is verified, with the provider's default grants only.
create function api.session_login_sso(p_service_secret text, p_provider_id uuid, p_identity jsonb, p_client jsonb default '{}')
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
        if v_principal.id is null then
          if not exists (select 1 from core.organization_domains d where d.domain = v_domain and d.removed_at is null) then
            v_fail := 'domain_not_verified';
          else
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
