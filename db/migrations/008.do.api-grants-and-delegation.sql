-- 008: api functions for grants and delegations (DESIGN.md invariants 9 and 10).
-- The rules themselves are enforced by internal.tg_grants__rules on every insert; these functions add
-- the authorization of the caller and the audit events, and check the same rules first only where a
-- clearer message helps.

create function internal.grant_json(g core.grants)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', g.id, 'principal_id', g.principal_id, 'domain', g.domain, 'facility_id', g.facility_id, 'level', g.level,
  'granted_by', g.granted_by, 'reason', g.reason, 'valid_from', g.valid_from, 'valid_until', g.valid_until,
  'delegation_type', g.delegation_type, 'source_grant_id', g.source_grant_id, 'created_at', g.created_at,
  'revoked_at', g.revoked_at, 'revoked_by', g.revoked_by, 'revoke_reason', g.revoke_reason,
  'in_force', internal.grant_in_force(g));
grant execute on function internal.grant_json(core.grants) to axiom_definer;

-- Requires: configuration:review at the grant's facility (organization-wide for an organization-wide
-- grant). Never to oneself.
create function api.grant_create(
  p_caller jsonb,
  p_principal_id uuid,
  p_domain text,
  p_facility_id uuid,
  p_level text,
  p_reason text,
  p_valid_until timestamptz default null
)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_grant core.grants;
  v_domain core.domain;
  v_level core.access_level;
begin
  v_caller := internal.begin_call(p_caller, 'grant.create');
  v_domain := internal.to_domain(p_domain);
  v_level := internal.to_level(p_level);
  if p_facility_id is not null then
    perform internal.require_facility(p_facility_id);
  end if;
  perform internal.require(v_caller, 'review', 'configuration', p_facility_id);
  perform internal.require_principal(p_principal_id);
  if p_principal_id = v_caller.principal_id then
    perform internal.raise('AX403', 'nobody grants to themselves', 'self_grant');
  end if;
  if p_valid_until is not null and p_valid_until <= now() then
    perform internal.raise('AX400', 'valid_until must be in the future', 'invalid_expiry');
  end if;
  insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason, valid_until)
  values (v_caller.organization_id, p_principal_id, v_domain, p_facility_id, v_level, v_caller.principal_id,
          internal.text_arg(p_reason, 'reason', 3, 1000), p_valid_until)
  returning * into v_grant;
  perform internal.append_audit_event(v_caller.organization_id, 'grant.created', v_caller.session_id,
    v_caller.principal_id, v_domain, p_facility_id, 'core.grants', v_grant.id,
    p_related_ids => array[p_principal_id], p_reason => v_grant.reason,
    p_details => jsonb_build_object('principal_id', p_principal_id, 'domain', v_domain, 'level', v_level,
                                    'facility_id', p_facility_id, 'valid_until', p_valid_until));
  return internal.succeed(v_caller, internal.grant_json(v_grant), 'grant', v_grant.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.grant_create(jsonb, uuid, text, uuid, text, text, timestamptz) is
  'Requires: configuration:review at the facility (organization-wide grants: organization-wide).';

-- Requires: configuration:review at the grant's facility, or being the delegator of this delegation.
-- Revoking a grant ends every delegation made from it (they are checked against their source).
create function api.grant_revoke(p_caller jsonb, p_grant_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_grant core.grants;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'grant.revoke');
  v_reason := internal.text_arg(p_reason, 'reason', 3, 1000);
  select * into v_grant from core.grants g where g.id = p_grant_id;
  if not found then
    perform internal.raise('AX404', 'grant not found', 'grant_not_found');
  end if;
  if not (v_grant.source_grant_id is not null and v_grant.granted_by = v_caller.principal_id) then
    perform internal.require(v_caller, 'review', 'configuration', v_grant.facility_id);
  end if;
  if v_grant.revoked_at is not null then
    perform internal.raise('AX409', 'the grant is already revoked', 'already_revoked');
  end if;
  update core.grants g set revoked_at = now(), revoked_by = v_caller.principal_id, revoke_reason = v_reason
   where g.id = p_grant_id returning * into v_grant;
  perform internal.append_audit_event(v_caller.organization_id,
    case when v_grant.source_grant_id is null then 'grant.revoked' else 'delegation.revoked' end,
    v_caller.session_id, v_caller.principal_id, v_grant.domain, v_grant.facility_id, 'core.grants', v_grant.id,
    p_related_ids => case when v_grant.source_grant_id is null then array[v_grant.principal_id]
                          else array[v_grant.principal_id, v_grant.source_grant_id] end,
    p_reason => v_reason,
    p_details => jsonb_build_object('dependent_delegations', (
      select count(*) from core.grants d where d.source_grant_id = v_grant.id and d.revoked_at is null)));
  return internal.succeed(v_caller, internal.grant_json(v_grant), 'grant', v_grant.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.grant_revoke(jsonb, uuid, text) is
  'Requires: configuration:review at the grant''s facility, or being the delegator.';

-- Requires: a valid session for one's own grants; configuration:read organization-wide for another
-- principal's, or for everyone's (p_principal_id NULL with p_all).
create function api.grant_list(p_caller jsonb, p_principal_id uuid default null, p_include_inactive boolean default false)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_who uuid;
begin
  v_caller := internal.begin_call(p_caller, 'grant.list');
  v_who := coalesce(p_principal_id, v_caller.principal_id);
  if v_who <> v_caller.principal_id then
    perform internal.require(v_caller, 'read', 'configuration', null);
    perform internal.require_principal(v_who);
  end if;
  select coalesce(jsonb_agg(internal.grant_json(g) order by g.domain, g.facility_id nulls first, g.created_at), '[]'::jsonb)
    into v_result
    from core.grants g
   where g.principal_id = v_who
     and (coalesce(p_include_inactive, false) or internal.grant_in_force(g));
  return internal.succeed(v_caller, v_result, 'principal', v_who);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.grant_list(jsonb, uuid, boolean) is
  'Requires: own grants: a valid session; another principal''s: configuration:read organization-wide.';

-- Requires: being the holder of the source grant (a person, not the agent). The delegation rules of
-- invariant 9 are checked by the grants trigger; refusals name the rule (detail).
create function api.delegation_create(
  p_caller jsonb,
  p_source_grant_id uuid,
  p_delegate_id uuid,
  p_delegation_type text,
  p_valid_until timestamptz,
  p_reason text
)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_source core.grants;
  v_grant core.grants;
  v_level core.access_level;
begin
  v_caller := internal.begin_call(p_caller, 'delegation.create');
  if v_caller.is_agent then
    perform internal.raise('AX403', 'the agent cannot delegate', 'agent_delegation');
  end if;
  if p_delegation_type is null or p_delegation_type not in ('horizontal', 'vertical') then
    perform internal.raise('AX400', 'delegation type is horizontal or vertical', 'invalid_delegation_type');
  end if;
  if p_valid_until is null then
    perform internal.raise('AX400', 'a delegation needs an expiry', 'missing_expiry');
  end if;
  if p_valid_until <= now() then
    perform internal.raise('AX400', 'the expiry must be in the future', 'invalid_expiry');
  end if;
  if p_reason is null or length(btrim(p_reason)) < 3 then
    perform internal.raise('AX400', 'a delegation needs a reason', 'missing_reason');
  end if;
  select * into v_source from core.grants g where g.id = p_source_grant_id;
  if not found then
    perform internal.raise('AX404', 'source grant not found', 'source_not_found');
  end if;
  if v_source.principal_id <> v_caller.principal_id then
    perform internal.raise('AX403', 'only the holder of a grant can delegate it', 'not_source_holder');
  end if;
  if (internal.require_principal(p_delegate_id)).is_agent then
    perform internal.raise('AX403', 'the agent cannot receive a delegation', 'agent_delegation');
  end if;
  if p_delegate_id = v_caller.principal_id then
    perform internal.raise('AX422', 'nobody can delegate to themselves', 'self_delegation');
  end if;
  v_level := case p_delegation_type
               when 'horizontal' then v_source.level
               else (enum_range(null::core.access_level))[greatest(internal.level_rank(v_source.level) - 1, 1)]
             end;
  if p_delegation_type = 'vertical' and v_source.level = 'read' then
    perform internal.raise('AX422', 'a read grant has no lower level to delegate', 'wrong_level');
  end if;
  insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason,
                           valid_until, delegation_type, source_grant_id)
  values (v_caller.organization_id, p_delegate_id, v_source.domain, v_source.facility_id, v_level,
          v_caller.principal_id, internal.text_arg(p_reason, 'reason', 3, 1000), p_valid_until,
          p_delegation_type, v_source.id)
  returning * into v_grant;
  -- The delegation is recorded against its source grant too: one audit trail for both.
  perform internal.append_audit_event(v_caller.organization_id, 'delegation.created', v_caller.session_id,
    v_caller.principal_id, v_grant.domain, v_grant.facility_id, 'core.grants', v_grant.id,
    p_related_ids => array[v_source.id, p_delegate_id], p_reason => v_grant.reason,
    p_details => jsonb_build_object('delegation_type', p_delegation_type, 'level', v_level,
                                    'source_grant_id', v_source.id, 'valid_until', p_valid_until));
  return internal.succeed(v_caller, internal.grant_json(v_grant), 'grant', v_grant.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.delegation_create(jsonb, uuid, uuid, text, timestamptz, text) is
  'Requires: holding the source grant (rules of DESIGN.md invariant 9).';

-- Requires: audit:read organization-wide, or configuration:read organization-wide.
-- The audit trail of a grant: its own events and those of every delegation made from it.
create function api.grant_history(p_caller jsonb, p_grant_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_grant core.grants;
begin
  v_caller := internal.begin_call(p_caller, 'grant.history');
  if not internal.has_grant(v_caller.principal_id, 'read', 'audit', null) then
    perform internal.require(v_caller, 'read', 'configuration', null);
  end if;
  select * into v_grant from core.grants g where g.id = p_grant_id;
  if not found then
    perform internal.raise('AX404', 'grant not found', 'grant_not_found');
  end if;
  select jsonb_build_object(
           'grant', internal.grant_json(v_grant),
           'delegations', coalesce((select jsonb_agg(internal.grant_json(d) order by d.created_at)
                                      from core.grants d where d.source_grant_id = v_grant.id), '[]'::jsonb),
           'events', coalesce(jsonb_agg(jsonb_build_object(
             'lane', e.lane, 'seq', e.seq, 'occurred_at', e.occurred_at, 'event_type', e.event_type, 'actor_id', e.actor_id,
             'target_id', e.target_id, 'reason', e.reason, 'details', e.details) order by e.occurred_at, e.id), '[]'::jsonb))
    into v_result
    from audit.audit_events e
   where e.organization_id = v_caller.organization_id
     and (e.target_id = v_grant.id or v_grant.id = any (e.related_ids)
          or e.target_id in (select d.id from core.grants d where d.source_grant_id = v_grant.id));
  return internal.succeed(v_caller, v_result, 'grant', v_grant.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.grant_history(jsonb, uuid) is
  'Requires: audit:read or configuration:read organization-wide.';
