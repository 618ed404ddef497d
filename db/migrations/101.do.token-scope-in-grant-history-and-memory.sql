-- 101: two functions a scoped API token could read more through than its scope allows.
--
-- A token is its owner's grants intersected with the token's scope, on every use: internal.require
-- applies both. Two functions tested the owner's grants alone in one place:
--   - api.grant_history let audit:read organization-wide stand in for configuration:read with
--     has_grant only, so a token scoped to, say, security:read of a person holding audit:read read
--     any grant's history;
--   - api.memory_get let an organization-wide read grant in security, cost or drift admit the caller,
--     and listed the executions the owner may read, both without the scope, so a token scoped to
--     audit:read of a person holding security:read read operational memory and recent executions.
-- Both now also ask internal.scope_allows wherever they ask has_grant. Otherwise as in 008 and 071.

-- Requires: audit:read organization-wide, or configuration:read organization-wide (within a token's
-- scope). The audit trail of a grant: its own events and those of every delegation made from it.
create or replace function api.grant_history(p_caller jsonb, p_grant_id uuid)
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
  if not (internal.has_grant(v_caller.principal_id, 'read', 'audit', null)
          and internal.scope_allows(v_caller.scope, 'read', 'audit', null)) then
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

-- Requires: read in security, cost or drift (at some facility or organization-wide, within a token's
-- scope); the executions listed are those the caller may read.
create or replace function api.memory_get(p_caller jsonb, p_action_id text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'memory.get');
  if not exists (select 1 from (values ('security'::core.domain), ('cost'), ('drift')) d(domain)
                  where (internal.has_grant(v_caller.principal_id, 'read', d.domain, null)
                         and internal.scope_allows(v_caller.scope, 'read', d.domain, null))
                     or exists (select 1 from core.facilities f
                                 where internal.has_grant(v_caller.principal_id, 'read', d.domain, f.id)
                                   and internal.scope_allows(v_caller.scope, 'read', d.domain, f.id))) then
    perform internal.raise('AX403', 'memory.get requires read in security, cost or drift', 'missing_grant');
  end if;
  if p_action_id is not null and not exists (select 1 from internal.action_types a where a.action_id = p_action_id) then
    perform internal.raise('AX400', 'unknown action type', 'invalid_action');
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'action_id', a.action_id, 'action_class', a.action_class, 'reversibility', a.reversibility,
           'base_risk', a.base_risk, 'succeeded', m.succeeded, 'failed', m.failed, 'rolled_back', m.rolled_back,
           'consecutive_successes', internal.action_streak(a.action_id),
           'confidence', internal.wilson_lower(m.succeeded, m.succeeded + m.failed + m.rolled_back),
           'last_outcome_at', m.last_at) order by a.action_id), '[]'::jsonb)
    into v_result
    from internal.action_types a
    cross join lateral (
      select count(*) filter (where o.outcome = 'succeeded')::integer as succeeded,
             count(*) filter (where o.outcome = 'failed')::integer as failed,
             count(*) filter (where o.outcome = 'rolled_back')::integer as rolled_back,
             max(o.recorded_at) as last_at
        from core.execution_outcomes o where o.action_id = a.action_id) m
   where p_action_id is null or a.action_id = p_action_id;
  return internal.succeed(v_caller, jsonb_build_object('actions', v_result,
    'executions', coalesce((select jsonb_agg(x order by x ->> 'created_at' desc) from (
        select jsonb_build_object('id', e.id, 'plan_id', e.plan_id, 'kind', e.kind, 'status', e.status,
                 'auto_applied', e.auto_applied, 'created_at', e.created_at, 'finished_at', e.finished_at) x
          from core.executions e
         where internal.has_grant(v_caller.principal_id, 'read', e.action_class, e.facility_id)
           and internal.scope_allows(v_caller.scope, 'read', e.action_class, e.facility_id)
         order by e.created_at desc limit 50) y), '[]'::jsonb)));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.memory_get(jsonb, text) is
  'Requires: read in security, cost or drift (at some facility or organization-wide).';

call internal.finalize_api();
