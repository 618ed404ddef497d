-- 092: an execution refused because its approvals expired leaves an authz.denied audit event, like
-- every other refusal of the trust ladder (issue 7: "each refused with a clear error and an audit
-- event"). internal.fail_call as in 016, with that one condition added.

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
    -- A refusal is audited: a missing grant or broken rule (AX403), and an execution refused because
    -- its approvals expired (AX410 approval_expired), a rule of the trust ladder like the others.
    if p_sqlstate = 'AX403' or (p_sqlstate = 'AX410' and p_reason = 'approval_expired') then
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
