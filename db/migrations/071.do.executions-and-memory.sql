-- 071: executions of approved plans, their progress and per-action audit events, rollbacks on
-- request (themselves plans to approve), operational memory and the trust ladder (issue 7;
-- DESIGN.md invariants 15, 16, 19).
--
-- api.execution_start decides whether a plan may run: its newest version approved by enough people
-- whose approvals are neither revoked nor older than the facility's approval_expiry_hours, the
-- facility's autonomy tier at execute_with_approval or above, the connection active with the execution
-- role of the plan's class. Without approvals only auto_apply allows it: a low-risk plan outside
-- production whose every action type has at least auto_apply_after consecutive successes in this
-- organization's memory; a high-risk plan never. The job (src/execution/job.ts) runs the executor as
-- the agent and stores each progress record, with the audit event of the transition, through
-- api.execution_progress (one transaction each), and ends with api.execution_finish, which writes the
-- outcomes the memory is computed from. Memory is append-only rows per organization (RLS): nothing of
-- one organization's history reaches another's confidence.

create table core.executions (
  id uuid primary key,
  organization_id uuid not null references core.organizations (id),
  facility_id uuid not null,
  connection_id uuid not null,
  plan_id uuid not null,
  plan_record_id uuid not null,
  plan_record_hash bytea not null check (length(plan_record_hash) = 32),
  change_request_id uuid not null,
  action_class core.domain not null check (action_class in ('security', 'cost', 'drift')),
  kind text not null check (kind in ('apply', 'rollback')),
  rollback_of uuid,
  auto_applied boolean not null,
  -- The approvals (decision ids) counted when it started.
  approvals uuid[] not null default '{}',
  created_by uuid not null,
  created_at timestamptz not null default now(),
  -- Lifecycle columns.
  status text not null default 'queued'
    check (status in ('queued', 'running', 'rolling_back', 'succeeded', 'failed', 'rolled_back', 'rollback_incomplete')),
  progress jsonb check (progress is null or (jsonb_typeof(progress) = 'object' and pg_column_size(progress) <= 1048576)),
  started_at timestamptz,
  finished_at timestamptz,
  unique (organization_id, id),
  -- A plan runs once (a rollback is a plan of its own).
  unique (organization_id, plan_id),
  check ((kind = 'rollback') = (rollback_of is not null)),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id),
  foreign key (organization_id, created_by) references core.principals (organization_id, id),
  foreign key (organization_id, change_request_id) references core.change_requests (organization_id, id),
  foreign key (organization_id, rollback_of) references core.executions (organization_id, id)
);
comment on table core.executions is
  'Executions of approved plans: the plan version and approvals they ran under, status and the executor''s progress record.';
create index executions_by_facility on core.executions (organization_id, facility_id, created_at desc);

-- Outcomes per action, written when an execution finishes: the operational memory. Append-only.
create table core.execution_outcomes (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  execution_id uuid not null,
  step_index integer not null check (step_index between 0 and 99),
  action_id text not null references internal.action_types (action_id),
  outcome text not null check (outcome in ('succeeded', 'failed', 'rolled_back')),
  recorded_at timestamptz not null default clock_timestamp(),
  unique (execution_id, step_index),
  foreign key (organization_id, execution_id) references core.executions (organization_id, id)
);
comment on table core.execution_outcomes is
  'Operational memory: the outcome of every executed action, per organization (never shared). Append-only.';
create index execution_outcomes_by_action on core.execution_outcomes (organization_id, action_id, recorded_at desc);

do $rls$
declare
  v text;
begin
  foreach v in array array['executions', 'execution_outcomes'] loop
    execute format('alter table core.%I enable row level security', v);
    execute format('alter table core.%I force row level security', v);
    execute format($p$create policy tenant on core.%I
      using (organization_id = (select internal.current_org_id()))
      with check (organization_id = (select internal.current_org_id()))$p$, v);
  end loop;
end
$rls$;

create trigger _900_no_delete before delete on core.executions
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.executions
  for each statement execute function internal.tg__no_delete();
create trigger _100_lifecycle_only before update on core.executions
  for each row execute function internal.tg__lifecycle_columns_only('status', 'progress', 'started_at', 'finished_at');
create trigger _900_append_only before update or delete on core.execution_outcomes
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on core.execution_outcomes
  for each statement execute function internal.tg__append_only();

-- A finished execution stays finished.
create function internal.tg_executions__status()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if old.status in ('succeeded', 'failed', 'rolled_back', 'rollback_incomplete') then
    perform internal.raise('AX409', pg_catalog.format('the execution is %s', old.status), 'execution_finished');
  end if;
  return new;
end
$$;
create trigger _110_status before update on core.executions
  for each row execute function internal.tg_executions__status();

grant select on core.executions, core.execution_outcomes to axiom_definer, axiom_reporting;
grant insert (id, organization_id, facility_id, connection_id, plan_id, plan_record_id, plan_record_hash,
  change_request_id, action_class, kind, rollback_of, auto_applied, approvals, created_by, status, progress)
  on core.executions to axiom_definer;
grant update (status, progress, started_at, finished_at) on core.executions to axiom_definer;
grant insert (organization_id, execution_id, step_index, action_id, outcome) on core.execution_outcomes to axiom_definer;

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('execution.started', 'An approved plan (or a low-risk plan under auto-apply) was queued for execution', '{CC8.1,CC7.4}', '{A.8.32}', '{11.10(f)}'),
  ('execution.finished', 'An execution finished: succeeded, failed (rolled back), rolled back or rollback incomplete', '{CC8.1,CC7.4,CC7.5}', '{A.8.32,A.5.26}', '{11.10(e)}'),
  ('execution.rollback_requested', 'A rollback of a finished execution was requested (a plan to approve)', '{CC8.1,CC7.5}', '{A.8.32}', '{11.10(f)}'),
  ('execution.action_applied', 'An action was applied and verified (before-state, after-state, rollback strategy)', '{CC8.1,CC7.4}', '{A.8.32,A.8.9}', '{11.10(e)}'),
  ('execution.action_failed', 'An action failed; the execution rolls back', '{CC7.4,CC8.1}', '{A.8.32,A.5.26}', '{11.10(e)}'),
  ('execution.action_rolled_back', 'An action was undone and the rollback verified', '{CC7.5,CC8.1}', '{A.8.32,A.5.26}', '{11.10(e)}'),
  ('execution.action_rollback_failed', 'Undoing an action failed', '{CC7.4,CC7.5}', '{A.5.26,A.8.16}', '{11.10(e)}'),
  ('execution.action_irreversible', 'An action could not be undone (irreversible)', '{CC7.4,CC7.5}', '{A.5.26,A.8.32}', '{11.10(e)}');

-- ---------------------------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------------------------
create function internal.require_execution(p_id uuid)
returns core.executions
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.executions;
begin
  select * into v from core.executions e where e.id = p_id;
  if not found then
    perform internal.raise('AX404', 'execution not found', 'execution_not_found');
  end if;
  return v;
end
$$;

-- Consecutive successes of an action type in this organization's memory (since its last non-success).
create function internal.action_streak(p_action text)
returns integer
language sql stable
return (select count(*)::integer from core.execution_outcomes o
         where o.action_id = p_action and o.outcome = 'succeeded'
           and o.recorded_at > coalesce((select max(x.recorded_at) from core.execution_outcomes x
                                          where x.action_id = p_action and x.outcome <> 'succeeded'), '-infinity'));

-- The Wilson score lower bound (95%) of the success rate: the agent's confidence in an action type.
create function internal.wilson_lower(p_successes integer, p_total integer)
returns numeric
language sql immutable parallel safe
return case when p_total = 0 then 0 else round(((p_successes::numeric / p_total + 1.9208 / p_total
  - 1.96 * sqrt((p_successes::numeric / p_total) * (1 - p_successes::numeric / p_total) / p_total + 0.9604 / (p_total::numeric * p_total)))
  / (1 + 3.8416 / p_total))::numeric, 4) end;

create function internal.execution_json(e core.executions)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan core.records;
  v_orig core.executions;
begin
  select * into v_plan from core.records r where r.kind = 'plan' and r.record_id = e.plan_record_id;
  if e.rollback_of is not null then
    select * into v_orig from core.executions x where x.id = e.rollback_of;
  end if;
  return jsonb_build_object(
    'id', e.id, 'facility_id', e.facility_id, 'connection_id', e.connection_id, 'plan_id', e.plan_id,
    'plan_record_id', e.plan_record_id, 'plan_record_hash', encode(e.plan_record_hash, 'hex'),
    'change_request_id', e.change_request_id, 'action_class', e.action_class, 'kind', e.kind,
    'rollback_of', e.rollback_of, 'auto_applied', e.auto_applied, 'approvals', to_jsonb(e.approvals),
    'created_by', e.created_by, 'created_at', e.created_at, 'status', e.status, 'started_at', e.started_at,
    'finished_at', e.finished_at, 'progress', e.progress,
    'plan', jsonb_build_object('account_id', v_plan.content ->> 'account_id', 'action_class', v_plan.content ->> 'action_class',
      'steps', v_plan.content -> 'steps', 'risk_tier', v_plan.content ->> 'risk_tier',
      'blast_radius', v_plan.content -> 'blast_radius', 'rollback_summary', v_plan.content -> 'rollback_summary'),
    'original', case when v_orig.id is null then null
                     else jsonb_build_object('execution_id', v_orig.id, 'plan_id', v_orig.plan_id, 'status', v_orig.status) end);
end
$$;

grant execute on function internal.require_execution(uuid), internal.action_streak(text),
  internal.wilson_lower(integer, integer), internal.execution_json(core.executions)
  to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- The api
-- ---------------------------------------------------------------------------------------------
-- Requires: operate in the plan's domain at its facility (the agent holds author there). See the
-- header for the rules; every refusal names its reason.
create function api.execution_start(p_caller jsonb, p_plan_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_head core.records;
  v_cr core.change_requests;
  v_settings jsonb;
  v_tier text;
  v_risk text;
  v_required integer;
  v_since timestamptz;
  v_valid integer;
  v_given integer;
  v_approvals uuid[] := '{}';
  v_auto boolean := false;
  v_action text;
  v_streak integer;
  v_conn core.records;
  v_orig core.executions;
  v_kind text := 'apply';
  v_exec core.executions;
begin
  v_caller := internal.begin_call(p_caller, 'execution.start');
  v_head := internal.plan_head(p_plan_id);
  perform internal.require(v_caller, 'operate', v_head.domain, v_head.facility_id);
  -- One start at a time per plan.
  select * into v_cr from core.change_requests c where c.id = v_head.change_request_id for update;
  if exists (select 1 from core.executions e where e.plan_id = v_head.id) then
    perform internal.raise('AX409', 'the plan has already run (or is running)', 'already_executed');
  end if;
  v_settings := internal.facility_settings(v_head.facility_id);
  v_tier := v_settings ->> 'autonomy_tier';
  v_risk := v_head.content ->> 'risk_tier';
  v_required := (v_head.content ->> 'required_approvals')::integer;
  if internal.autonomy_rank(v_tier) < internal.autonomy_rank('execute_with_approval') then
    perform internal.raise('AX403', format('this facility''s autonomy tier is %s: plans are not executed here', v_tier),
      'autonomy_tier');
  end if;

  if v_head.lifecycle_state = 'effective' and v_cr.state = 'approved' then
    v_since := now() - make_interval(secs => ((v_settings ->> 'approval_expiry_hours')::numeric * 3600)::double precision);
    v_valid := internal.valid_approvals(v_cr.id, v_since);
    v_given := internal.valid_approvals(v_cr.id);
    if v_valid < v_required then
      if v_given >= v_required then
        perform internal.raise('AX410', format('approvals expire after %s hours: %s of the %s required are still valid; approve again',
          v_settings ->> 'approval_expiry_hours', v_valid, v_required), 'approval_expired');
      end if;
      perform internal.raise('AX409', format('the plan has %s valid approvals of the %s it needs (approvals were revoked)',
        v_given, v_required), 'approvals_missing');
    end if;
    select coalesce(array_agg(d.id order by d.created_at), '{}') into v_approvals
      from core.change_request_decisions d
     where d.change_request_id = v_cr.id and d.decision = 'approved' and d.created_at > v_since
       and not exists (select 1 from core.approval_revocations x where x.decision_id = d.id);
  elsif v_head.lifecycle_state = 'in_review' and v_cr.state = 'in_review' then
    -- Not approved: only the trust ladder's top rung runs it.
    if v_tier <> 'auto_apply' then
      perform internal.raise('AX403', format('the plan is not approved, and this facility''s autonomy tier (%s) needs approvals',
        v_tier), 'approval_required');
    end if;
    if v_risk = 'high' then
      perform internal.raise('AX403', 'a high-risk plan is never applied without approvals', 'auto_apply_high_risk');
    end if;
    if v_risk <> 'low' then
      perform internal.raise('AX403', format('only low-risk plans are applied without approvals; this one is %s', v_risk),
        'auto_apply_not_low_risk');
    end if;
    if v_settings ->> 'environment_tier' = 'production' then
      perform internal.raise('AX403', 'every production change needs approval', 'approval_required_production');
    end if;
    if v_head.content ? 'rollback_of' then
      perform internal.raise('AX403', 'a rollback is applied only once approved', 'approval_required');
    end if;
    for v_action in select distinct s ->> 'actionId' from jsonb_array_elements(v_head.content -> 'steps') s loop
      v_streak := internal.action_streak(v_action);
      if v_streak < (v_settings ->> 'auto_apply_after')::integer then
        perform internal.raise('AX403', format('%s has %s consecutive successes here; auto-apply needs %s',
          v_action, v_streak, v_settings ->> 'auto_apply_after'), 'trust_insufficient');
      end if;
    end loop;
    v_auto := true;
  else
    perform internal.raise('AX409', format('the plan''s newest version is %s, not approved', v_head.lifecycle_state),
      'plan_not_approved');
  end if;

  v_conn := internal.connection_head((v_head.content ->> 'connection_id')::uuid);
  if v_conn.content ->> 'status' is distinct from 'active' then
    perform internal.raise('AX409', format('the connection is %s, not active', v_conn.content ->> 'status'),
      'connection_not_active');
  end if;
  if (internal.active_secret(v_conn.id, v_head.domain::text)).id is null then
    perform internal.raise('AX422', format('the connection has no %s execution role (an opt-in per action class)', v_head.domain),
      'execution_role_missing');
  end if;
  if v_head.content ? 'rollback_of' then
    v_kind := 'rollback';
    select * into v_orig from core.executions e where e.id = (v_head.content ->> 'rollback_of')::uuid for update;
    if v_orig.status not in ('succeeded', 'rollback_incomplete') then
      perform internal.raise('AX409', format('an execution that is %s cannot be rolled back', v_orig.status), 'not_rollbackable');
    end if;
  end if;

  insert into core.executions (id, organization_id, facility_id, connection_id, plan_id, plan_record_id, plan_record_hash,
                               change_request_id, action_class, kind, rollback_of, auto_applied, approvals, created_by,
                               status, progress)
  values (gen_random_uuid(), v_caller.organization_id, v_head.facility_id, v_conn.id, v_head.id, v_head.record_id,
          v_head.record_hash, v_cr.id, v_head.domain, v_kind, v_orig.id, v_auto, v_approvals, v_caller.principal_id,
          'queued', v_orig.progress)
  returning * into v_exec;
  perform internal.append_audit_event(v_caller.organization_id, 'execution.started', v_caller.session_id,
    v_caller.principal_id, v_head.domain, v_head.facility_id, 'core.executions', v_exec.id, v_head.record_id,
    v_head.record_hash, array[v_head.id, v_cr.id] || v_approvals, null,
    jsonb_build_object('kind', v_kind, 'auto_applied', v_auto, 'risk_tier', v_risk, 'approvals', cardinality(v_approvals),
      'required_approvals', v_required, 'autonomy_tier', v_tier, 'rollback_of', v_orig.id));
  return internal.succeed(v_caller, internal.execution_json(v_exec), 'execution', v_exec.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.execution_start(jsonb, uuid) is
  'Requires: operate in the plan''s domain at its facility; an approved plan with unexpired approvals (or auto-apply rules).';

-- Check a progress record the executor produced for this execution.
create function internal.check_progress(e core.executions, p jsonb)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_steps integer;
begin
  select jsonb_array_length(r.content -> 'steps') into v_steps from core.records r
   where r.kind = 'plan' and r.record_id = e.plan_record_id;
  if p is null or jsonb_typeof(p) <> 'object' or pg_column_size(p) > 1048576
     or (p ->> 'version') is distinct from '1'
     or (p ->> 'executionId') is distinct from coalesce(e.rollback_of, e.id)::text
     or coalesce(p ->> 'status', '') not in ('running', 'rolling_back', 'succeeded', 'failed', 'rolled_back', 'rollback_incomplete')
     or jsonb_typeof(p -> 'steps') is distinct from 'array' or jsonb_array_length(p -> 'steps') <> v_steps then
    perform internal.raise('AX400', 'progress is the executor''s record of this execution (version 1, its id, one entry per step)',
      'invalid_progress');
  end if;
end
$$;
grant execute on function internal.check_progress(core.executions, jsonb) to axiom_definer;

-- Requires: the agent, operate in the execution's domain at its facility. Stores the executor's
-- progress record and, in the same transaction, the audit event of the transition (before, after,
-- rollback strategy; the states sealed with the organization's key).
create function api.execution_progress(p_caller jsonb, p_execution_id uuid, p_progress jsonb, p_audit jsonb default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.executions;
  v_step jsonb;
  v_index integer;
  v_status text;
begin
  v_caller := internal.begin_call(p_caller, 'execution.progress');
  v := internal.require_execution(p_execution_id);
  if not v_caller.is_agent then
    perform internal.raise('AX403', 'only the agent records execution progress', 'agent_only');
  end if;
  perform internal.require(v_caller, 'operate', v.action_class, v.facility_id);
  select * into v from core.executions e where e.id = v.id for update;
  if v.status not in ('queued', 'running', 'rolling_back') then
    perform internal.raise('AX409', format('the execution is %s', v.status), 'execution_finished');
  end if;
  perform internal.check_progress(v, p_progress);
  v_status := case when p_progress ->> 'status' in ('running', 'rolling_back') then p_progress ->> 'status'
                   when v.status = 'queued' then 'running' else v.status end;
  update core.executions e set progress = p_progress, status = v_status, started_at = coalesce(e.started_at, now())
   where e.id = v.id returning * into v;
  if p_audit is not null then
    if jsonb_typeof(p_audit) <> 'object'
       or coalesce(p_audit ->> 'type', '') not in ('execution.action_applied', 'execution.action_failed',
            'execution.action_rolled_back', 'execution.action_rollback_failed', 'execution.action_irreversible')
       or jsonb_typeof(p_audit -> 'stepIndex') is distinct from 'number' then
      perform internal.raise('AX400', 'audit is an execution event {type, stepIndex, before, after, rollbackStrategy}', 'invalid_audit');
    end if;
    v_index := (p_audit ->> 'stepIndex')::integer;
    select r.content -> 'steps' -> v_index into v_step from core.records r
     where r.kind = 'plan' and r.record_id = v.plan_record_id;
    if v_step is null or (v_step ->> 'actionId') is distinct from (p_audit ->> 'actionId')
       or (v_step ->> 'resourceArn') is distinct from (p_audit ->> 'resourceArn') then
      perform internal.raise('AX400', 'the audit event names a step the plan does not have', 'invalid_audit');
    end if;
    perform internal.append_audit_event(v_caller.organization_id, p_audit ->> 'type', v_caller.session_id,
      v_caller.principal_id, v.action_class, v.facility_id, 'core.executions', v.id, v.plan_record_id, v.plan_record_hash,
      array[v.plan_id], left(p_audit -> 'error' ->> 'message', 2000),
      jsonb_build_object('step_index', v_index, 'action_id', v_step ->> 'actionId', 'resource_arn', v_step ->> 'resourceArn',
        'reversibility', p_audit -> 'rollbackStrategy' ->> 'reversibility',
        'rollback_strategy', p_audit -> 'rollbackStrategy' ->> 'description',
        'error', case when p_audit ? 'error' then jsonb_build_object('phase', p_audit -> 'error' ->> 'phase',
                   'code', p_audit -> 'error' ->> 'code', 'reason', p_audit -> 'error' ->> 'reason') end),
      jsonb_build_object('before', p_audit -> 'before', 'after', p_audit -> 'after',
        'rollback_strategy', p_audit -> 'rollbackStrategy'));
  end if;
  return internal.succeed(v_caller, jsonb_build_object('id', v.id, 'status', v.status), 'execution', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.execution_progress(jsonb, uuid, jsonb, jsonb) is
  'Requires: the agent, with operate in the execution''s domain at its facility.';

-- Requires: the agent, operate in the execution's domain at its facility. The final status and
-- progress; the outcome of every action goes to the organization's memory (a failure resets the
-- action type's streak: the trust ladder demotes).
create function api.execution_finish(p_caller jsonb, p_execution_id uuid, p_status text, p_progress jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.executions;
  v_step jsonb;
  v_outcome text;
  v_failed integer;
  v_outcomes jsonb := '[]'::jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'execution.finish');
  v := internal.require_execution(p_execution_id);
  if not v_caller.is_agent then
    perform internal.raise('AX403', 'only the agent finishes an execution', 'agent_only');
  end if;
  perform internal.require(v_caller, 'operate', v.action_class, v.facility_id);
  select * into v from core.executions e where e.id = v.id for update;
  if v.status not in ('queued', 'running', 'rolling_back') then
    perform internal.raise('AX409', format('the execution is %s', v.status), 'execution_finished');
  end if;
  if p_status is null or p_status not in ('succeeded', 'failed', 'rolled_back', 'rollback_incomplete')
     or (v.kind = 'apply' and p_status = 'rolled_back') or (v.kind = 'rollback' and p_status in ('succeeded', 'failed')) then
    perform internal.raise('AX400', 'status is succeeded, failed or rollback_incomplete (an execution) or rolled_back (a rollback)',
      'invalid_status');
  end if;
  perform internal.check_progress(v, p_progress);
  if p_progress ->> 'status' is distinct from p_status then
    perform internal.raise('AX400', 'the status is the progress record''s', 'invalid_progress');
  end if;
  update core.executions e set status = p_status, progress = p_progress, finished_at = now(),
         started_at = coalesce(e.started_at, now())
   where e.id = v.id returning * into v;
  v_failed := (p_progress -> 'failure' ->> 'stepIndex')::integer;
  for v_step in select * from jsonb_array_elements(p_progress -> 'steps') loop
    v_outcome := case
      when v.kind = 'apply' and p_status = 'succeeded' and v_step ->> 'state' = 'verified' then 'succeeded'
      when (v_step ->> 'index')::integer = v_failed then 'failed'
      when v_step -> 'rollback' ->> 'status' = 'failed' then 'failed'
      when v_step -> 'rollback' ->> 'status' = 'rolled_back' or v_step ->> 'state' = 'rolled_back' then 'rolled_back'
      else null end;
    if v_outcome is not null then
      insert into core.execution_outcomes (organization_id, execution_id, step_index, action_id, outcome)
      select v.organization_id, v.id, (v_step ->> 'index')::integer, a.action_id, v_outcome
        from internal.action_types a where a.action_id = v_step ->> 'actionId';
      v_outcomes := v_outcomes || jsonb_build_object('step', (v_step ->> 'index')::integer,
        'action_id', v_step ->> 'actionId', 'outcome', v_outcome);
    end if;
  end loop;
  perform internal.append_audit_event(v_caller.organization_id, 'execution.finished', v_caller.session_id,
    v_caller.principal_id, v.action_class, v.facility_id, 'core.executions', v.id, v.plan_record_id, v.plan_record_hash,
    array[v.plan_id], p_progress -> 'failure' ->> 'message',
    jsonb_build_object('status', p_status, 'kind', v.kind, 'outcomes', v_outcomes, 'auto_applied', v.auto_applied));
  return internal.succeed(v_caller, internal.execution_json(v), 'execution', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.execution_finish(jsonb, uuid, text, jsonb) is
  'Requires: the agent, with operate in the execution''s domain at its facility.';

-- Requires: read in the execution's domain at its facility.
create function api.execution_get(p_caller jsonb, p_execution_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.executions;
begin
  v_caller := internal.begin_call(p_caller, 'execution.get');
  v := internal.require_execution(p_execution_id);
  perform internal.require(v_caller, 'read', v.action_class, v.facility_id);
  return internal.succeed(v_caller, internal.execution_json(v), 'execution', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.execution_get(jsonb, uuid) is 'Requires: read in the execution''s domain at its facility.';

-- Requires: a valid session; the executions in the domains and facilities where the caller holds read.
create function api.execution_list(p_caller jsonb, p_facility_id uuid default null, p_plan_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'execution.list');
  select coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'facility_id', e.facility_id, 'plan_id', e.plan_id,
           'kind', e.kind, 'action_class', e.action_class, 'status', e.status, 'auto_applied', e.auto_applied,
           'rollback_of', e.rollback_of, 'created_at', e.created_at, 'started_at', e.started_at,
           'finished_at', e.finished_at) order by e.created_at desc), '[]'::jsonb) into v_result
    from (select * from core.executions e
           where (p_facility_id is null or e.facility_id = p_facility_id)
             and (p_plan_id is null or e.plan_id = p_plan_id)
             and internal.has_grant(v_caller.principal_id, 'read', e.action_class, e.facility_id)
             and internal.scope_allows(v_caller.scope, 'read', e.action_class, e.facility_id)
           order by e.created_at desc limit 500) e;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.execution_list(jsonb, uuid, uuid) is 'Requires: a valid session; filtered by read grants.';

-- Requires: author in the execution's domain at its facility. A rollback of a succeeded execution is
-- a plan of its own (the same steps, rollback_of the execution), submitted for approval; only when
-- every action of it is reversible.
create function api.execution_rollback_request(p_caller jsonb, p_execution_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.executions;
  v_plan core.records;
  v_irreversible text;
  v_content jsonb;
  v_new core.records;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'execution.rollback_request');
  v := internal.require_execution(p_execution_id);
  perform internal.require(v_caller, 'author', v.action_class, v.facility_id);
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  select * into v from core.executions e where e.id = v.id for update;
  if v.kind <> 'apply' or v.status not in ('succeeded', 'rollback_incomplete') then
    perform internal.raise('AX409', format('a %s execution that is %s cannot be rolled back', v.kind, v.status),
      'not_rollbackable');
  end if;
  if exists (select 1 from core.records r where r.kind = 'plan' and r.content ->> 'rollback_of' = v.id::text
                and r.lifecycle_state in ('draft', 'in_review', 'approved', 'effective')
                and not exists (select 1 from core.executions x where x.plan_id = r.id and x.status = 'rollback_incomplete')) then
    perform internal.raise('AX409', 'a rollback of this execution is already requested', 'rollback_exists');
  end if;
  select * into v_plan from core.records r where r.kind = 'plan' and r.record_id = v.plan_record_id;
  select string_agg(distinct a.action_id, ', ') into v_irreversible
    from jsonb_array_elements(v_plan.content -> 'steps') s
    join internal.action_types a on a.action_id = s ->> 'actionId'
   where a.reversibility = 'irreversible';
  if v_irreversible is not null then
    perform internal.raise('AX422', format('%s cannot be undone: only plans of reversible actions are rolled back', v_irreversible),
      'irreversible_action');
  end if;
  v_content := internal.plan_content(v.facility_id, v_plan.content - 'rollback_of', v.id);
  v_new := internal.plan_write(v_caller, gen_random_uuid(), v.facility_id, v.action_class, v_content,
    left('Roll back execution ' || v.id::text, 200), v_reason);
  perform internal.append_audit_event(v_caller.organization_id, 'execution.rollback_requested', v_caller.session_id,
    v_caller.principal_id, v.action_class, v.facility_id, 'core.executions', v.id, v_new.record_id, v_new.record_hash,
    array[v_new.id, v.plan_id], v_reason);
  return internal.succeed(v_caller, internal.plan_json(v_new), 'plan', v_new.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.execution_rollback_request(jsonb, uuid, text) is
  'Requires: author in the execution''s domain at its facility; a succeeded execution of reversible actions.';

-- Requires: read in an execution domain (security, cost or drift) somewhere in the organization.
-- The organization's memory: per action type, outcomes, the current streak of consecutive successes
-- and the confidence (Wilson lower bound of the success rate).
create function api.memory_get(p_caller jsonb, p_action_id text default null)
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
                  where internal.has_grant(v_caller.principal_id, 'read', d.domain, null)
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
         order by e.created_at desc limit 50) y), '[]'::jsonb)));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.memory_get(jsonb, text) is
  'Requires: read in security, cost or drift (at some facility or organization-wide).';

call internal.finalize_api();
