-- 098: single sign-on for the CLI (`axiom login --sso`), as native apps do it (RFC 8252).
--
-- The CLI listens on a loopback port, makes a random verifier and opens the sign-in start URL with
-- the port and the verifier's SHA-256 (the challenge). The in-flight request keeps both. When the
-- identity provider's answer checks out, the server does not open a session in the browser: it
-- records the verified identity as a handoff, under a random single-use code that lives two minutes,
-- and sends the browser to http://127.0.0.1:<port>/callback with the code. The CLI then exchanges the
-- code with its verifier for a session. The code alone is worth nothing (a page that learns it has
-- no verifier), and the server only ever redirects to the loopback address (no open redirect).
-- Who signs in is decided by api.session_login_sso, exactly as for a browser sign-in.

alter table core.sso_requests
  add column cli_port integer check (cli_port between 1024 and 65535),
  add column cli_challenge bytea check (length(cli_challenge) = 32),
  add constraint sso_requests_cli_check
    check ((cli_port is null) = (cli_challenge is null) and (cli_port is null or purpose = 'login'));
grant insert (cli_port, cli_challenge) on core.sso_requests to axiom_definer;

create table core.sso_cli_handoffs (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  provider_id uuid not null references core.sso_providers (id),
  -- One handoff per sign-in request.
  request_id uuid not null unique references core.sso_requests (id),
  code_hash bytea not null unique check (length(code_hash) = 32),
  challenge bytea not null check (length(challenge) = 32),
  -- What the identity provider vouched for (subject, e-mail, name; for SAML the assertion id).
  identity jsonb not null check (jsonb_typeof(identity) = 'object' and pg_column_size(identity) <= 8192),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- Lifecycle.
  consumed_at timestamptz
);

alter table core.sso_cli_handoffs enable row level security;
alter table core.sso_cli_handoffs force row level security;
create policy tenant on core.sso_cli_handoffs
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));
create trigger _900_no_delete before delete on core.sso_cli_handoffs
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.sso_cli_handoffs
  for each statement execute function internal.tg__no_delete();

grant select on core.sso_cli_handoffs to axiom_definer;
grant insert (organization_id, provider_id, request_id, code_hash, challenge, identity, expires_at)
  on core.sso_cli_handoffs to axiom_definer;
grant update (consumed_at) on core.sso_cli_handoffs to axiom_definer;

-- A base64url SHA-256 (43 characters, no padding) as its 32 bytes; null when it is not one.
create function internal.base64url_sha256(p_text text)
returns bytea
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_text is null or p_text !~ '^[A-Za-z0-9_-]+$' or length(p_text) <> 43 then
    return null;
  end if;
  return decode(translate(p_text, '-_', '+/') || '=', 'base64');
end
$$;
grant execute on function internal.base64url_sha256(text) to axiom_definer;

-- Requires: the service secret. Records an in-flight request (the state is stored hashed). A sign-in
-- for the CLI also names its loopback port and the SHA-256 of its verifier (base64url).
create or replace function api.sso_request_begin(p_service_secret text, p_provider_id uuid, p_request jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider record;
  v_id uuid;
  v_detail text;
  v_port integer;
  v_challenge bytea;
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
  if p_request ? 'cli_port' or p_request ? 'cli_challenge' then
    if jsonb_typeof(p_request -> 'cli_port') is distinct from 'number'
       or (p_request ->> 'cli_port') !~ '^[0-9]{4,5}$'
       or (p_request ->> 'cli_port')::integer not between 1024 and 65535 then
      perform internal.raise('AX400', 'cli_port is a port number from 1024 to 65535', 'invalid_cli_port');
    end if;
    v_port := (p_request ->> 'cli_port')::integer;
    v_challenge := internal.base64url_sha256(p_request ->> 'cli_challenge');
    if v_challenge is null then
      perform internal.raise('AX400', 'cli_challenge is the base64url SHA-256 of the CLI''s verifier (43 characters)',
        'invalid_cli_challenge');
    end if;
    if p_request ->> 'purpose' <> 'login' then
      perform internal.raise('AX400', 'only a sign-in can hand off to the CLI', 'invalid_request');
    end if;
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  insert into core.sso_requests (organization_id, provider_id, purpose, state_hash, nonce, code_verifier, principal_id,
                                 signature_challenge_id, expires_at, cli_port, cli_challenge)
  values (v_provider.organization_id, p_provider_id, p_request ->> 'purpose', internal.token_hash(p_request ->> 'state'),
          p_request ->> 'nonce', p_request ->> 'code_verifier', (p_request ->> 'principal_id')::uuid,
          (p_request ->> 'signature_challenge_id')::uuid, now() + interval '10 minutes', v_port, v_challenge)
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
-- Unchanged from 012 but for cli_port: the loopback port of a sign-in for the CLI, else null.
create or replace function api.sso_request_consume(p_service_secret text, p_provider_id uuid, p_state text)
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
    'organization_id', v_row.organization_id, 'cli_port', v_row.cli_port,
    'provider', internal.sso_provider_json(v_provider_row) || jsonb_build_object(
      'organization_id', v_row.organization_id,
      'client_secret_sealed', encode(v_provider_row.client_secret_sealed, 'base64'))));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_request_consume(text, uuid, text) is 'Requires: the service secret.';

-- Requires: the service secret (the server verified the identity provider's answer to this request).
-- For a consumed sign-in request made for the CLI: records the verified identity and returns the
-- single-use code (shown once, stored hashed, valid two minutes) that the browser carries to the
-- CLI's loopback port. The code starts with the provider id, so the exchange can find its organization.
create function api.sso_cli_handoff_create(p_service_secret text, p_provider_id uuid, p_request_id uuid,
                                           p_identity jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider record;
  v_request core.sso_requests;
  v_code text;
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  select * into v_provider from internal.auth_find_provider(p_provider_id);
  if v_provider.organization_id is null then
    perform internal.raise('AX404', 'provider not found', 'provider_not_found');
  end if;
  if p_identity is null or jsonb_typeof(p_identity) <> 'object' or jsonb_typeof(p_identity -> 'subject') <> 'string' then
    perform internal.raise('AX400', 'the identity needs a subject', 'invalid_identity');
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  -- Consumed just now by this server (sso_request_consume), for the CLI, and not handed off before.
  select * into v_request from core.sso_requests r
   where r.id = p_request_id and r.provider_id = p_provider_id and r.cli_port is not null
     and r.consumed_at is not null and r.consumed_at > now() - interval '10 minutes'
     and not exists (select 1 from core.sso_cli_handoffs h where h.request_id = r.id);
  if v_request.id is null then
    perform internal.raise('AX401', 'the sign-in request is not a pending sign-in for the CLI', 'state_mismatch');
  end if;
  v_code := p_provider_id::text || '.' || internal.new_token('axc_');
  insert into core.sso_cli_handoffs (organization_id, provider_id, request_id, code_hash, challenge, identity, expires_at)
  values (v_request.organization_id, p_provider_id, v_request.id, internal.token_hash(v_code), v_request.cli_challenge,
          p_identity, now() + interval '2 minutes');
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', jsonb_build_object('code', v_code, 'cli_port', v_request.cli_port));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_cli_handoff_create(text, uuid, uuid, jsonb) is
  'Requires: the service secret (the server has verified the identity provider''s answer).';

-- Requires: the service secret, the handoff code and the verifier whose SHA-256 the CLI sent at the
-- start. The code is spent on the first attempt, right or wrong; a wrong or late one is recorded
-- (sso.login_failed). Then the sign-in is decided exactly as a browser's (api.session_login_sso).
create function api.session_login_sso_cli(p_service_secret text, p_code text, p_code_verifier text,
                                          p_client jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider_id uuid;
  v_provider record;
  v_handoff core.sso_cli_handoffs;
  v_fail text;
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  if p_code is null or p_code !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.axc_[A-Za-z0-9_-]{43}$' then
    perform internal.raise('AX401', 'the sign-in code is unknown, used or expired', 'cli_code_invalid');
  end if;
  if p_code_verifier is null or length(p_code_verifier) not between 43 and 128 then
    perform internal.raise('AX400', 'the verifier has 43 to 128 characters', 'invalid_verifier');
  end if;
  v_provider_id := split_part(p_code, '.', 1)::uuid;
  select * into v_provider from internal.auth_find_provider(v_provider_id);
  if v_provider.organization_id is null then
    perform internal.raise('AX401', 'the sign-in code is unknown, used or expired', 'cli_code_invalid');
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  update core.sso_cli_handoffs h set consumed_at = now()
   where h.code_hash = internal.token_hash(p_code) and h.provider_id = v_provider_id
     and h.consumed_at is null and h.expires_at > now()
  returning * into v_handoff;
  if v_handoff.id is null then
    v_fail := 'cli_code_invalid';
  elsif pg_catalog.sha256(pg_catalog.convert_to(p_code_verifier, 'UTF8')) <> v_handoff.challenge then
    v_fail := 'cli_verifier_mismatch';
  end if;
  if v_fail is not null then
    -- Answered, not raised: the record and the spent code survive.
    perform internal.append_audit_event(v_provider.organization_id, 'sso.login_failed', null, null,
      p_reason => v_fail, p_details => jsonb_build_object('provider_id', v_provider_id, 'client', 'cli'));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the sign-in code is unknown, used or expired, or the verifier is wrong',
      v_fail);
  end if;
  perform internal.leave_org_context();
  return api.session_login_sso(p_service_secret, v_handoff.provider_id, v_handoff.identity, p_client);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_login_sso_cli(text, text, text, jsonb) is
  'Requires: the service secret, the single-use handoff code and the CLI''s verifier.';

call internal.finalize_api();
