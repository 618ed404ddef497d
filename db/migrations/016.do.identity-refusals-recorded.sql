-- 016: every refused identity attempt leaves a trace (11.300(d); issue 4: "the audit trail holding an
-- event for each of these attempts").
--
-- Until now three kinds of refusal left nothing behind:
--   * an identity provider's answer that the server could not verify (OpenID nonce, PKCE, ID token or
--     auth_time; SAML signature, audience, recipient or time) — the server refused it before any
--     database call;
--   * a WebAuthn assertion that did not verify (another challenge, a wrong signature, an authenticator
--     the signer has not enrolled) — likewise;
--   * a call with the token of a session that is no longer valid (a disabled person, a revoked,
--     expired or idle session) — begin_call refused it before an organization was known.
-- The first two are now reported by the server with the service secret and recorded by the database;
-- the third is recorded by fail_call as a denied session event of the dead session.

-- ---------------------------------------------------------------------------------------------
-- Dead sessions: which session (and why) a token that no longer authenticates belonged to.
-- ---------------------------------------------------------------------------------------------
create function internal.auth_dead_session(p_token text)
returns table (session_id uuid, principal_id uuid, organization_id uuid, why text)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_token is null or length(p_token) not between 20 and 256 then
    return;
  end if;
  return query
    select s.id, s.principal_id, s.organization_id,
           case when p.disabled_at is not null then 'principal_disabled'
                when s.revoked_at is not null then 'session_revoked'
                when s.expires_at <= pg_catalog.now() then 'session_expired'
                else 'session_idle' end
      from core.sessions s
      join core.principals p on p.id = s.principal_id
     where s.token_hash = pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8'));
end
$$;
call internal.set_function_owner('internal.auth_dead_session(text)', 'axiom_auth');
grant execute on function internal.auth_dead_session(text) to axiom_definer;

-- fail_call, replaced: as before, plus a denied session event when the caller's token belongs to a
-- session that no longer authenticates (the operation is unknown at that point: 'session.refused').
create or replace function internal.fail_call(
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
  v_dead record;
  v_ip inet;
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
  elsif p_sqlstate = 'AX401' and jsonb_typeof(p_caller_json) = 'object'
        and jsonb_typeof(p_caller_json -> 'token') = 'string' then
    select * into v_dead from internal.auth_dead_session(p_caller_json ->> 'token');
    if v_dead.session_id is not null then
      if (p_caller_json ->> 'ip') ~ '^[0-9a-fA-F:.]{2,45}$' then
        begin
          v_ip := (p_caller_json ->> 'ip')::inet;
        exception when others then
          v_ip := null;
        end;
      end if;
      perform internal.enter_org_context(v_dead.organization_id);
      perform internal.append_session_event(
        v_dead.organization_id, v_dead.session_id, v_dead.principal_id, 'session.refused', 'denied',
        'session', v_dead.session_id, v_dead.why, v_ip,
        case when jsonb_typeof(p_caller_json -> 'request_id') = 'string' and length(p_caller_json ->> 'request_id') <= 100
             then p_caller_json ->> 'request_id' end);
      perform internal.leave_org_context();
    end if;
  end if;
  return internal.error_envelope(p_sqlstate, p_message, p_reason);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Identity-provider answers the server refused.
-- ---------------------------------------------------------------------------------------------
-- Requires: the service secret. Records that the server refused the identity provider's answer to an
-- in-flight request it had consumed (within its 10 minutes): sso.login_failed for a sign-in,
-- esignature.failed for an e-signature re-authentication. Answers with the refusal (AX401, p_reason).
create function api.sso_response_refused(p_service_secret text, p_provider_id uuid, p_request_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_provider record;
  v_request core.sso_requests;
  v_ch core.signature_challenges;
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  if p_reason is null or p_reason !~ '^[a-z_]{3,60}$' then
    perform internal.raise('AX400', 'reason is a short lowercase code', 'invalid_reason');
  end if;
  select * into v_provider from internal.auth_find_provider(p_provider_id);
  if v_provider.organization_id is null then
    perform internal.raise('AX404', 'provider not found', 'provider_not_found');
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  select * into v_request from core.sso_requests r
   where r.id = p_request_id and r.provider_id = p_provider_id
     and r.consumed_at is not null and r.consumed_at > now() - interval '10 minutes';
  if v_request.id is null then
    perform internal.raise('AX404', 'no such consumed sign-in request', 'request_not_found');
  end if;
  if v_request.purpose = 'reauth' and v_request.signature_challenge_id is not null then
    select * into v_ch from core.signature_challenges c where c.id = v_request.signature_challenge_id;
    perform internal.append_audit_event(v_ch.organization_id, 'esignature.failed', v_ch.session_id,
      v_ch.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => p_reason,
      p_details => jsonb_build_object('factor', 'oidc_reauth', 'provider_id', p_provider_id));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the re-authentication at the identity provider was refused', p_reason);
  end if;
  perform internal.append_audit_event(v_provider.organization_id, 'sso.login_failed', null, null,
    p_reason => p_reason,
    p_details => jsonb_build_object('provider_id', p_provider_id, 'kind', v_provider.kind, 'request_id', v_request.id));
  perform internal.leave_org_context();
  return internal.error_envelope('AX401', 'single sign-on was refused', p_reason);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.sso_response_refused(text, uuid, uuid, text) is
  'Requires: the service secret (the server refused the provider''s answer to a request it consumed).';

-- ---------------------------------------------------------------------------------------------
-- WebAuthn assertions the server refused.
-- ---------------------------------------------------------------------------------------------
-- Requires: the challenge's signer, in the session that asked for it, and the service secret (the
-- server could not verify the assertion: another challenge, a bad signature, an unknown
-- authenticator). Records esignature.failed and answers with the refusal (AX401, p_reason).
create function api.signature_factor_webauthn_refused(p_caller jsonb, p_service_secret text, p_challenge_id uuid,
                                                      p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.factor_webauthn');
  perform internal.require_service_secret(p_service_secret);
  if p_reason is null or p_reason !~ '^[a-z_]{3,60}$' then
    perform internal.raise('AX400', 'reason is a short lowercase code', 'invalid_reason');
  end if;
  v_ch := internal.open_challenge(v_caller, p_challenge_id);
  perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
    v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
    v_ch.record_hash, p_reason => p_reason, p_details => jsonb_build_object('factor', 'webauthn'));
  return internal.refuse(v_caller, 'AX401', 'the authenticator''s answer did not verify', p_reason);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_factor_webauthn_refused(jsonb, text, uuid, text) is
  'Requires: the challenge''s signer and the service secret.';

call internal.finalize_api();
