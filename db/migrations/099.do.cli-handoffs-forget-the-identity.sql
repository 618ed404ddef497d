-- 099: a CLI sign-in's handoff forgets the identity it carried once it is spent or expired.
--
-- 098 kept the identity the provider vouched for (subject, e-mail, name; for SAML the assertion id) in
-- core.sso_cli_handoffs after the code was exchanged, and in handoffs that expired unused, for good.
-- It is needed only until the exchange: the row stays (that a sign-in was handed off to the CLI,
-- when, whether its code was spent), the identity becomes '{}' (who signed in is in the session and
-- the audit trail). Spent handoffs are emptied by the
-- exchange that spends them; expired ones by the next exchange in their organization.

grant update (identity) on core.sso_cli_handoffs to axiom_definer;

-- The expired handoffs still holding an identity, found without reading the spent ones.
create index sso_cli_handoffs_unscrubbed on core.sso_cli_handoffs (organization_id, expires_at)
  where identity <> '{}'::jsonb;

-- As in 098, but the handoff is locked, read, then spent and emptied in place, and the
-- organization's expired handoffs are emptied first.
create or replace function api.session_login_sso_cli(p_service_secret text, p_code text, p_code_verifier text,
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
  -- Handoffs of the organization that expired unused keep no identity either.
  update core.sso_cli_handoffs h set identity = '{}'::jsonb
   where h.organization_id = v_provider.organization_id and h.expires_at <= now()
     and h.identity <> '{}'::jsonb;
  select * into v_handoff from core.sso_cli_handoffs h
   where h.code_hash = internal.token_hash(p_code) and h.provider_id = v_provider_id
     and h.consumed_at is null and h.expires_at > now()
   for update;
  if v_handoff.id is not null then
    -- Spent by this attempt, right or wrong; the identity travels on in v_handoff only.
    update core.sso_cli_handoffs h set consumed_at = now(), identity = '{}'::jsonb where h.id = v_handoff.id;
  end if;
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
