-- E-signatures, continued: OpenID re-authentication is answered without a session.
--
-- The identity provider's redirect back to Axiom arrives without the session cookie (it is
-- SameSite=Strict), so the factor can no longer take a caller: the server proves it verified a fresh
-- ID token with the service secret, and the database checks that the re-authentication request was
-- started by the challenge's signer. The challenge as it stands can be read by its signer.

drop function api.signature_factor_oidc(jsonb, text, uuid, uuid, text, timestamptz);

-- Requires: the service secret (the server verified a fresh ID token from the organization's provider,
-- asked with prompt=login and max_age=0, answering a re-authentication request the signer started in
-- their session: the request names the signer and the challenge). The subject must be the signer's
-- identity at that provider and auth_time no older than the challenge. No session is needed here: the
-- provider's redirect back arrives without the (SameSite=Strict) session cookie.
create function api.signature_factor_oidc(p_service_secret text, p_challenge_id uuid, p_principal_id uuid,
                                          p_provider_id uuid, p_subject text, p_auth_time timestamptz)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_detail text;
  v_provider record;
  v_ch core.signature_challenges;
  v_caller internal.caller;
begin
  perform internal.require_service_secret(p_service_secret);
  select * into v_provider from internal.auth_find_provider(p_provider_id);
  if v_provider.organization_id is null then
    perform internal.raise('AX404', 'provider not found', 'provider_not_found');
  end if;
  perform internal.enter_org_context(v_provider.organization_id);
  select * into v_ch from core.signature_challenges c where c.id = p_challenge_id;
  if v_ch.id is null or v_ch.principal_id is distinct from p_principal_id then
    perform internal.raise('AX404', 'signature challenge not found', 'challenge_not_found');
  end if;
  if v_ch.consumed_at is not null then
    perform internal.raise('AX409', 'the challenge was already used by a signature', 'challenge_used');
  end if;
  if v_ch.expires_at <= now() then
    perform internal.raise('AX410', 'the challenge expired; ask for a new one', 'challenge_expired');
  end if;
  v_caller.session_id := v_ch.session_id;
  v_caller.principal_id := v_ch.principal_id;
  v_caller.organization_id := v_ch.organization_id;
  v_caller.operation := 'esignature.factor_oidc';
  if not exists (select 1 from core.external_identities e
                  where e.provider_id = p_provider_id and e.subject = p_subject and e.principal_id = v_ch.principal_id) then
    perform internal.append_audit_event(v_ch.organization_id, 'esignature.failed', v_ch.session_id,
      v_ch.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'the provider identity is not the signer');
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the identity provider signed in someone else', 'identity_mismatch');
  end if;
  if p_auth_time is null or p_auth_time < v_ch.created_at - interval '5 seconds' or p_auth_time > now() + interval '1 minute' then
    perform internal.append_audit_event(v_ch.organization_id, 'esignature.failed', v_ch.session_id,
      v_ch.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'stale auth_time', p_details => jsonb_build_object('auth_time', p_auth_time));
    perform internal.leave_org_context();
    return internal.error_envelope('AX401', 'the sign-in at the identity provider was not fresh', 'stale_auth_time');
  end if;
  v_ch := internal.satisfy_factor(v_caller, v_ch, 'oidc_reauth', true);
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', internal.signature_challenge_json(v_ch));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_factor_oidc(text, uuid, uuid, uuid, text, timestamptz) is
  'Requires: the service secret (answering a re-authentication request started by the signer).';

-- Requires: the challenge's signer. The challenge as it stands (which factors are still needed).
create function api.signature_challenge_get(p_caller jsonb, p_challenge_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.challenge_get');
  select * into v_ch from core.signature_challenges c where c.id = p_challenge_id and c.principal_id = v_caller.principal_id;
  if v_ch.id is null then
    perform internal.raise('AX404', 'signature challenge not found', 'challenge_not_found');
  end if;
  return internal.succeed(v_caller, internal.signature_challenge_json(v_ch), 'signature_challenge', v_ch.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_challenge_get(jsonb, uuid) is 'Requires: the challenge''s signer.';

call internal.finalize_api();
