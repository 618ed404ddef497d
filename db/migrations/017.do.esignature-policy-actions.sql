-- 017: signing-policy rules can name the action being signed.
--
-- A signing-policy rule names its action as lowercase letters and underscores (014's content rule,
-- '^(\*|[a-z_]{2,40})$'), but challenges were issued for actions with a dot ('change_request.approve',
-- 'record.responsibility'), so a rule could only ever match an action as '*'. Actions are now spelled
-- the way rules can name them: change_request_approve, change_request_reject, change_request_<meaning>,
-- record_<meaning>. (Challenges already issued keep their old spelling; they expire in 5 minutes.)

create or replace function api.signature_challenge_create(p_caller jsonb, p_target jsonb, p_meaning text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
  v_rec core.records;
  v_org core.organizations;
  v_session core.sessions;
  v_risk text;
  v_action text;
  v_identify boolean;
  v_row core.signature_challenges;
  v_target_id uuid;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.challenge');
  if v_caller.is_agent then
    perform internal.raise('AX403', 'the agent never signs', 'agent_cannot_sign');
  end if;
  if v_caller.session_kind <> 'web' then
    perform internal.raise('AX403', 'signatures are made by a person in a signed-in session, not with an API token',
      'token_cannot_sign');
  end if;
  if p_meaning is null or p_meaning not in ('authored', 'reviewed', 'approved', 'rejected', 'responsibility') then
    perform internal.raise('AX400', 'meaning is authored, reviewed, approved, rejected or responsibility', 'invalid_meaning');
  end if;
  if p_target is null or jsonb_typeof(p_target) <> 'object'
     or (p_target ->> 'id') !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    perform internal.raise('AX400', 'target is {type, id}', 'invalid_target');
  end if;
  v_target_id := (p_target ->> 'id')::uuid;
  if p_target ->> 'type' = 'change_request' then
    v_cr := internal.require_change_request(v_target_id);
    if p_meaning in ('approved', 'rejected') then
      perform internal.require(v_caller, 'review', v_cr.domain, v_cr.facility_id);
      if v_cr.author_id = v_caller.principal_id then
        perform internal.raise('AX403', 'the author of a change cannot approve or reject it', 'self_approval');
      end if;
    else
      perform internal.require(v_caller, 'read', v_cr.domain, v_cr.facility_id);
    end if;
    select * into v_rec from core.records r where r.kind = v_cr.target_kind and r.record_id = v_cr.proposed_record_id;
    v_risk := internal.change_request_risk_tier(v_cr);
    v_action := 'change_request_' || case p_meaning when 'approved' then 'approve' when 'rejected' then 'reject' else p_meaning end;
  elsif p_target ->> 'type' = 'record' then
    select * into v_rec from core.records r where r.record_id = v_target_id and r.kind = (internal.controlled_table(p_target ->> 'kind')).kind;
    if v_rec.record_id is null then
      perform internal.raise('AX404', 'record not found', 'record_not_found');
    end if;
    perform internal.require(v_caller, 'read', v_rec.domain, v_rec.facility_id);
    v_risk := 'low';
    v_action := 'record_' || p_meaning;
  else
    perform internal.raise('AX400', 'target type is change_request or record', 'invalid_target');
  end if;

  select * into v_org from core.organizations o where o.id = v_caller.organization_id;
  select * into v_session from core.sessions s where s.id = v_caller.session_id;
  v_identify := v_session.last_signed_at is null
             or v_session.last_signed_at < now() - make_interval(mins => v_org.signing_continuity_minutes);
  insert into core.signature_challenges (organization_id, principal_id, session_id, target_type, target_id, record_kind,
                                         record_id, record_hash, meaning, domain, facility_id, action, risk_tier,
                                         required_factors, identification_required, webauthn_challenge, expires_at)
  values (v_caller.organization_id, v_caller.principal_id, v_caller.session_id, p_target ->> 'type', v_target_id,
          v_rec.kind, v_rec.record_id, v_rec.record_hash, p_meaning, v_rec.domain, v_rec.facility_id, v_action, v_risk,
          internal.required_factors(v_rec.domain, v_action, v_risk), v_identify, internal.new_challenge(),
          now() + interval '5 minutes')
  returning * into v_row;
  perform internal.append_audit_event(v_caller.organization_id, 'esignature.challenged', v_caller.session_id,
    v_caller.principal_id, v_row.domain, v_row.facility_id, 'core.signature_challenges', v_row.id, v_row.record_id,
    v_row.record_hash, array[v_target_id],
    p_details => jsonb_build_object('meaning', p_meaning, 'risk_tier', v_risk, 'required_factors', v_row.required_factors));
  return internal.succeed(v_caller, internal.signature_challenge_json(v_row)
    || jsonb_build_object('printed_name', (select p.display_name from core.principals p where p.id = v_caller.principal_id)),
    'signature_challenge', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_challenge_create(jsonb, jsonb, text) is
  'Requires: a signed-in person; review in the domain (approve/reject, not the author) or read (other meanings).';

call internal.finalize_api();
