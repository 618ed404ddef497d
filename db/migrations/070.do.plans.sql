-- 070: remediation plans as controlled records, the action types the database knows, the facility's
-- trust settings, and approvals that expire and can be revoked (issue 7; DESIGN.md invariants 10, 16).
--
-- A plan is a version of kind 'plan' (core.plans, a partition of core.records): the facility, the
-- connection, the action class (its domain), the steps the executor runs, the findings it answers,
-- its blast radius and its rollback summary. The database validates the content and computes what
-- decides who must sign — the risk tier, the blast-radius class and the number of distinct approvers —
-- from its own table of action types; whatever the application claims about them is replaced. A plan
-- is proposed and submitted as a change request in one call; approving it is change_request_approve
-- (an e-signature over the proposed version's record hash). A new version of a plan withdraws the open
-- change request, so approvals of the previous version never count for the new one.

call internal.add_record_kind('plan', 'core.plans', true, null,
  'Remediation plans: facility, connection, action class, steps, findings, blast radius, risk tier, rollback summary.');

-- ---------------------------------------------------------------------------------------------
-- The action types (src/execution/catalog.ts ACTIONS; test/plans/db-plans.test.ts compares them).
-- ---------------------------------------------------------------------------------------------
create table internal.action_types (
  action_id text primary key check (action_id ~ '^[a-z0-9]+\.[a-z0-9_]+$'),
  action_class core.domain not null check (action_class in ('security', 'cost', 'drift')),
  reversibility text not null
    check (reversibility in ('reversible', 'reversible_with_new_identity', 'partially_reversible', 'irreversible')),
  base_risk text not null check (base_risk in ('low', 'medium', 'high'))
);
comment on table internal.action_types is
  'Executable remediation actions: class (execution role), reversibility and the risk of the action alone.';
grant select on internal.action_types to axiom_definer, axiom_reporting;

insert into internal.action_types (action_id, action_class, reversibility, base_risk) values
  ('s3.put_account_public_access_block', 'security', 'reversible', 'low'),
  ('s3.put_bucket_public_access_block', 'security', 'reversible', 'low'),
  ('s3.enable_default_encryption', 'security', 'reversible', 'low'),
  ('s3.enable_versioning', 'security', 'partially_reversible', 'medium'),
  ('s3.enable_access_logging', 'security', 'reversible', 'low'),
  ('ec2.revoke_security_group_rule', 'security', 'reversible_with_new_identity', 'low'),
  ('ec2.require_imdsv2', 'security', 'reversible', 'low'),
  ('ec2.enable_ebs_default_encryption', 'security', 'reversible', 'low'),
  ('ec2.disable_snapshot_public', 'security', 'reversible', 'low'),
  ('ec2.disable_image_public', 'security', 'reversible', 'low'),
  ('ec2.snapshot_and_delete_volume', 'cost', 'reversible_with_new_identity', 'medium'),
  ('ec2.modify_volume_gp3', 'cost', 'partially_reversible', 'medium'),
  ('ec2.release_address', 'cost', 'irreversible', 'high'),
  ('ec2.stop_instance', 'cost', 'reversible', 'medium'),
  ('ec2.delete_snapshot', 'cost', 'irreversible', 'high'),
  ('rds.disable_public_access', 'security', 'reversible', 'low'),
  ('rds.enable_backups', 'security', 'reversible', 'low'),
  ('rds.enable_deletion_protection', 'security', 'reversible', 'low'),
  ('rds.disable_snapshot_public', 'security', 'reversible', 'low'),
  ('cloudtrail.enable_log_validation', 'security', 'reversible', 'low'),
  ('cloudtrail.start_logging', 'security', 'reversible', 'low'),
  ('cloudtrail.enable_multi_region', 'security', 'reversible', 'low'),
  ('iam.deactivate_access_key', 'security', 'reversible', 'low'),
  ('iam.update_password_policy', 'security', 'reversible', 'low'),
  ('kms.enable_key_rotation', 'security', 'reversible', 'low'),
  ('tags.add_required_tags', 'drift', 'reversible', 'low');

-- ---------------------------------------------------------------------------------------------
-- Facility configuration: the trust settings plans and executions obey. The record kind exists
-- (005) and changes only through a change request approved by review in configuration (signed at
-- the high risk tier, 014). The autonomy tier is spelled auto_apply (auto_apply_low_risk, the name
-- 009 accepted, still reads as auto_apply); auto_apply_after is the streak of consecutive successes
-- an action type needs before it may run without approvals.
-- ---------------------------------------------------------------------------------------------
create or replace function internal.validate_content(p_kind text, p_content jsonb)
returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_rule jsonb;
  v_set jsonb;
begin
  if p_content is null or jsonb_typeof(p_content) <> 'object' then
    perform internal.raise('AX400', 'content must be a JSON object', 'invalid_content');
  end if;
  if pg_column_size(p_content) > 262144 then
    perform internal.raise('AX400', 'content is larger than 256 KiB', 'content_too_large');
  end if;
  if p_kind = 'policy' and (jsonb_typeof(p_content -> 'type') is distinct from 'string'
                            or (p_content ->> 'type') !~ '^[a-z_]{2,60}$') then
    perform internal.raise('AX400', 'a policy has a "type" (lowercase letters and underscores)', 'invalid_content');
  end if;
  if p_kind = 'facility_configuration' then
    if p_content ? 'autonomy_tier' and coalesce(p_content ->> 'autonomy_tier', '') not in
         ('scan_only', 'recommend', 'execute_with_approval', 'auto_apply', 'auto_apply_low_risk') then
      perform internal.raise('AX400',
        'autonomy_tier is scan_only, recommend, execute_with_approval or auto_apply', 'invalid_content');
    end if;
    if p_content ? 'blast_radius_cap' and (jsonb_typeof(p_content -> 'blast_radius_cap') <> 'number'
         or (p_content ->> 'blast_radius_cap')::numeric not between 1 and 100
         or (p_content ->> 'blast_radius_cap')::numeric <> trunc((p_content ->> 'blast_radius_cap')::numeric)) then
      perform internal.raise('AX400', 'blast_radius_cap is a whole number from 1 to 100', 'invalid_content');
    end if;
    if p_content ? 'approval_expiry_hours' and (jsonb_typeof(p_content -> 'approval_expiry_hours') <> 'number'
         or (p_content ->> 'approval_expiry_hours')::numeric not between 1 and 168) then
      perform internal.raise('AX400', 'approval_expiry_hours is from 1 to 168', 'invalid_content');
    end if;
    if p_content ? 'auto_apply_after' and (jsonb_typeof(p_content -> 'auto_apply_after') <> 'number'
         or (p_content ->> 'auto_apply_after')::numeric not between 1 and 1000
         or (p_content ->> 'auto_apply_after')::numeric <> trunc((p_content ->> 'auto_apply_after')::numeric)) then
      perform internal.raise('AX400', 'auto_apply_after is a whole number from 1 to 1000', 'invalid_content');
    end if;
  end if;
  if p_kind = 'signing_policy' then
    if jsonb_typeof(p_content -> 'rules') is distinct from 'array' or jsonb_array_length(p_content -> 'rules') not between 1 and 100 then
      perform internal.raise('AX400', 'a signing policy has 1 to 100 rules', 'invalid_content');
    end if;
    for v_rule in select * from jsonb_array_elements(p_content -> 'rules') loop
      if jsonb_typeof(v_rule) <> 'object'
         or coalesce(v_rule ->> 'domain', '') not in ('*', 'cost', 'security', 'drift', 'configuration', 'audit')
         or coalesce(v_rule ->> 'risk_tier', '') not in ('*', 'low', 'medium', 'high')
         or coalesce(v_rule ->> 'action', '') !~ '^(\*|[a-z_]{2,40})$'
         or jsonb_typeof(v_rule -> 'any_of') is distinct from 'array' or jsonb_array_length(v_rule -> 'any_of') = 0 then
        perform internal.raise('AX400',
          'a rule is {domain, action, risk_tier, any_of: [[factor, ...], ...]} (domain, action and risk tier may be "*")',
          'invalid_content');
      end if;
      for v_set in select * from jsonb_array_elements(v_rule -> 'any_of') loop
        if jsonb_typeof(v_set) <> 'array' or jsonb_array_length(v_set) = 0
           or exists (select 1 from jsonb_array_elements_text(v_set) f
                       where f not in (select s.factor from internal.signature_factors s)) then
          perform internal.raise('AX400', 'any_of lists non-empty sets of known factors', 'invalid_content');
        end if;
      end loop;
    end loop;
  end if;
end
$$;

-- New facilities start at execute_with_approval (issue 7's default), cap 5 (production 2).
create or replace function internal.seed_facility_defaults(p_facility core.facilities, p_actor uuid)
returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_agent uuid;
  v_domain core.domain;
begin
  perform set_config('axiom.seeding_defaults', 'on', true);
  insert into core.records (kind, id, organization_id, facility_id, domain, item_key, content, created_by,
                            change_reason, lifecycle_state)
  values ('facility_configuration', gen_random_uuid(), p_facility.organization_id, p_facility.id, 'configuration', 'facility',
          jsonb_build_object(
            'autonomy_tier', 'execute_with_approval',
            'blast_radius_cap', case when p_facility.environment_tier = 'production' then 2 else 5 end,
            'approval_expiry_hours', 24,
            'auto_apply_after', 25,
            'regions', jsonb_build_array('us-east-1')),
          p_actor, 'defaults written when the facility was created', 'effective');
  perform set_config('axiom.seeding_defaults', 'off', true);

  select p.id into v_agent from core.principals p
   where p.organization_id = p_facility.organization_id and p.is_agent;
  if v_agent is not null then
    foreach v_domain in array array['cost', 'security', 'drift']::core.domain[] loop
      insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
      values (p_facility.organization_id, v_agent, v_domain, p_facility.id, 'author', p_actor,
              'the agent scans and authors plans in every facility it serves');
    end loop;
    insert into core.grants (organization_id, principal_id, domain, facility_id, level, granted_by, reason)
    values (p_facility.organization_id, v_agent, 'configuration', p_facility.id, 'read', p_actor,
            'the agent reads the facility configuration it works under');
  end if;
end
$$;

-- The facility's settings in force, with the defaults for what its configuration does not say.
create function internal.facility_settings(p_facility uuid)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  c jsonb;
  v_env text;
begin
  select r.content into c from core.records r
   where r.kind = 'facility_configuration' and r.facility_id = p_facility and r.lifecycle_state = 'effective'
   order by r.version desc limit 1;
  c := coalesce(c, '{}'::jsonb);
  select f.environment_tier::text into v_env from core.facilities f where f.id = p_facility;
  return jsonb_build_object(
    'environment_tier', v_env,
    'blast_radius_cap', coalesce((c ->> 'blast_radius_cap')::integer, 5),
    'autonomy_tier', case coalesce(c ->> 'autonomy_tier', 'execute_with_approval')
                       when 'auto_apply_low_risk' then 'auto_apply'
                       else coalesce(c ->> 'autonomy_tier', 'execute_with_approval') end,
    'approval_expiry_hours', coalesce((c ->> 'approval_expiry_hours')::numeric, 24),
    'auto_apply_after', coalesce((c ->> 'auto_apply_after')::integer, (c ->> 'auto_apply_after_successes')::integer, 25));
end
$$;

create function internal.autonomy_rank(p_tier text)
returns integer
language sql immutable parallel safe
return case p_tier when 'scan_only' then 1 when 'recommend' then 2 when 'execute_with_approval' then 3
                   when 'auto_apply' then 4 when 'auto_apply_low_risk' then 4 else 0 end;

-- The agent never writes facility configuration (its autonomy tier, blast-radius cap, expiry): the
-- grants already keep it below author in configuration; this holds even if a function forgets.
create function internal.tg_records__agent_never_configures()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- Nested, so the lookup runs only for these kinds (findings are written by the agent in bulk).
  if new.kind in ('facility_configuration', 'signing_policy', 'policy') then
    if exists (select 1 from core.principals p where p.id = new.created_by and p.is_agent) then
      perform internal.raise('AX403', 'the agent never changes facility configuration, policies or its own autonomy',
        'agent_cannot_configure');
    end if;
  end if;
  return new;
end
$$;
create trigger _050_agent_never_configures before insert on core.records
  for each row execute function internal.tg_records__agent_never_configures();

-- ---------------------------------------------------------------------------------------------
-- Plan content: validated and completed by the database.
-- ---------------------------------------------------------------------------------------------
create function internal.plan_refuse(p_message text)
returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.raise('AX400', 'plan: ' || p_message, 'invalid_plan');
end
$$;

create function internal.risk_rank(p text)
returns integer
language sql immutable parallel safe
return case p when 'low' then 1 when 'medium' then 2 when 'high' then 3 else 0 end;

-- Validate a proposed plan for a facility; returns the content the database stores: the
-- application's content with account_id taken from the connection, the blast radius completed with
-- every touched resource, and risk_tier, required_approvals, rollback_verified and the blast-radius
-- class computed here. Refuses a plan over the facility's blast-radius cap.
create function internal.plan_content(p_facility uuid, p_content jsonb, p_rollback_of uuid default null)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_conn core.records;
  v_class text;
  v_step jsonb;
  v_i integer := 0;
  v_type internal.action_types;
  v_seen text[] := '{}';
  v_irreversible_seen boolean := false;
  v_risk integer := 1;
  v_resources text[] := '{}';
  v_total integer;
  v_radius text;
  v_settings jsonb := internal.facility_settings(p_facility);
  v_summary jsonb;
  v_verified boolean := true;
  v_finding uuid;
  v_tier text;
  v_key text;
begin
  if p_content is null or jsonb_typeof(p_content) <> 'object' then
    perform internal.plan_refuse('content is a JSON object');
  end if;
  if pg_column_size(p_content) > 262144 then
    perform internal.raise('AX400', 'a plan is at most 256 KiB', 'content_too_large');
  end if;
  for v_key in select jsonb_object_keys(p_content) loop
    if v_key not in ('connection_id', 'account_id', 'action_class', 'steps', 'finding_ids', 'blast_radius',
                     'rollback_summary', 'risk_tier', 'required_approvals', 'rollback_verified', 'summary') then
      perform internal.plan_refuse(format('unknown field %s', left(v_key, 60)));
    end if;
  end loop;
  if jsonb_typeof(p_content -> 'connection_id') is distinct from 'string'
     or (p_content ->> 'connection_id') !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    perform internal.plan_refuse('connection_id is the id of a connection');
  end if;
  v_conn := internal.connection_head((p_content ->> 'connection_id')::uuid);
  if v_conn.facility_id is distinct from p_facility then
    perform internal.raise('AX422', 'the plan''s connection belongs to another facility', 'wrong_facility');
  end if;
  v_class := p_content ->> 'action_class';
  if v_class is null or v_class not in ('security', 'cost', 'drift') then
    perform internal.plan_refuse('action_class is security, cost or drift');
  end if;
  if jsonb_typeof(p_content -> 'steps') is distinct from 'array'
     or jsonb_array_length(p_content -> 'steps') not between 1 and 100 then
    perform internal.plan_refuse('steps is an array of 1 to 100 steps');
  end if;
  v_summary := p_content -> 'rollback_summary';
  if v_summary is not null and (jsonb_typeof(v_summary) <> 'array'
       or jsonb_array_length(v_summary) <> jsonb_array_length(p_content -> 'steps')) then
    perform internal.plan_refuse('rollback_summary has one entry per step');
  end if;

  for v_step in select * from jsonb_array_elements(p_content -> 'steps') loop
    if jsonb_typeof(v_step) <> 'object'
       or exists (select 1 from jsonb_object_keys(v_step) k where k not in ('actionId', 'resourceArn', 'region', 'params', 'approvedState')) then
      perform internal.plan_refuse(format('step %s is {actionId, resourceArn, region?, params, approvedState}', v_i));
    end if;
    select * into v_type from internal.action_types a where a.action_id = v_step ->> 'actionId';
    if v_type.action_id is null then
      perform internal.plan_refuse(format('step %s: unknown action %s', v_i, coalesce(left(v_step ->> 'actionId', 60), 'null')));
    end if;
    if v_type.action_class::text <> v_class then
      perform internal.raise('AX422', format('step %s (%s) belongs to the %s class, not %s: one execution role runs one class',
        v_i, v_type.action_id, v_type.action_class, v_class), 'action_class_mismatch');
    end if;
    if jsonb_typeof(v_step -> 'resourceArn') is distinct from 'string'
       or (v_step ->> 'resourceArn') !~ '^arn:aws[a-z-]*:[a-z0-9-]+:' or length(v_step ->> 'resourceArn') > 2048 then
      perform internal.plan_refuse(format('step %s: resourceArn is an ARN', v_i));
    end if;
    if jsonb_typeof(v_step -> 'params') is distinct from 'object' or not v_step ? 'approvedState' then
      perform internal.plan_refuse(format('step %s: params (an object) and approvedState are required', v_i));
    end if;
    if v_step ? 'region' and (jsonb_typeof(v_step -> 'region') <> 'string'
         or (v_step ->> 'region') !~ '^(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$') then
      perform internal.plan_refuse(format('step %s: region is an AWS region', v_i));
    end if;
    if (v_type.action_id || ' ' || (v_step ->> 'resourceArn')) = any (v_seen) then
      perform internal.plan_refuse(format('step %s repeats %s on %s', v_i, v_type.action_id, v_step ->> 'resourceArn'));
    end if;
    v_seen := v_seen || (v_type.action_id || ' ' || (v_step ->> 'resourceArn'));
    if v_type.reversibility = 'irreversible' then
      v_irreversible_seen := true;
      v_verified := false;
    elsif v_irreversible_seen then
      perform internal.raise('AX422', format('step %s (%s) comes after an irreversible action: irreversible actions go last',
        v_i, v_type.action_id), 'irreversible_not_last');
    end if;
    if v_summary is null or jsonb_typeof(v_summary -> v_i) is distinct from 'string'
       or length(btrim(v_summary ->> v_i)) < 3 then
      v_verified := false;
    end if;
    v_risk := greatest(v_risk, internal.risk_rank(v_type.base_risk));
    v_resources := v_resources || (v_step ->> 'resourceArn');
    v_i := v_i + 1;
  end loop;

  if p_content ? 'finding_ids' then
    if jsonb_typeof(p_content -> 'finding_ids') <> 'array' or jsonb_array_length(p_content -> 'finding_ids') > 100 then
      perform internal.plan_refuse('finding_ids is an array of at most 100 finding ids');
    end if;
    for v_key in select * from jsonb_array_elements_text(p_content -> 'finding_ids') loop
      if v_key !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
        perform internal.plan_refuse('finding_ids are finding ids');
      end if;
      v_finding := v_key::uuid;
      if not exists (select 1 from core.findings f where f.id = v_finding and f.facility_id = p_facility
                        and f.connection_id = v_conn.id) then
        perform internal.raise('AX404', 'a finding of the plan was not found at its connection', 'finding_not_found');
      end if;
    end loop;
  end if;

  -- Blast radius: the resources the application found (touched + dependents), completed with every
  -- touched resource; the class comes from the count, here.
  if p_content ? 'blast_radius' then
    if jsonb_typeof(p_content -> 'blast_radius') <> 'object'
       or jsonb_typeof(p_content -> 'blast_radius' -> 'resources') is distinct from 'array'
       or jsonb_array_length(p_content -> 'blast_radius' -> 'resources') > 10000
       or exists (select 1 from jsonb_array_elements(p_content -> 'blast_radius' -> 'resources') x
                   where jsonb_typeof(x) <> 'string' or length(x #>> '{}') not between 10 and 2048) then
      perform internal.plan_refuse('blast_radius is {resources: [ARN, ...]}');
    end if;
    v_resources := v_resources || array(select jsonb_array_elements_text(p_content -> 'blast_radius' -> 'resources'));
  end if;
  select array_agg(distinct x order by x) into v_resources from unnest(v_resources) x;
  v_total := cardinality(v_resources);
  v_radius := case when v_total <= 5 then 'contained' when v_total <= 20 then 'moderate' else 'broad' end;
  if v_radius = 'moderate' then
    v_risk := greatest(v_risk, 2);
  elsif v_radius = 'broad' then
    v_risk := 3;
  end if;
  v_tier := case v_risk when 1 then 'low' when 2 then 'medium' else 'high' end;

  if v_total > (v_settings ->> 'blast_radius_cap')::integer then
    perform internal.raise('AX422', format('the plan''s blast radius is %s resources; this facility allows at most %s',
      v_total, v_settings ->> 'blast_radius_cap'), 'blast_radius_cap');
  end if;
  -- Medium risk: one approver and a verified rollback path (every step reversible, each with its
  -- rollback described).
  if v_tier = 'medium' and not v_verified then
    perform internal.raise('AX422', 'a medium-risk plan needs a verified rollback path: every step reversible, each with its rollback summary',
      'rollback_unverified');
  end if;

  return (p_content - 'risk_tier' - 'required_approvals' - 'rollback_verified' - 'rollback_of')
    || jsonb_build_object(
         'account_id', v_conn.content ->> 'account_id',
         'finding_ids', coalesce(p_content -> 'finding_ids', '[]'::jsonb),
         'blast_radius', jsonb_build_object('resources', to_jsonb(v_resources), 'total', v_total, 'class', v_radius),
         'risk_tier', v_tier,
         'required_approvals', case when v_tier = 'high' then 2 else 1 end,
         'rollback_verified', v_verified)
    || case when p_rollback_of is null then '{}'::jsonb else jsonb_build_object('rollback_of', p_rollback_of) end;
end
$$;

-- The risk tier a signature on a change request carries: a plan's is its own risk tier.
create or replace function internal.change_request_risk_tier(c core.change_requests)
returns text
language sql stable
return case
  when c.target_kind = 'plan' then coalesce((select r.content ->> 'risk_tier' from core.records r
                                              where r.kind = 'plan' and r.record_id = c.proposed_record_id), 'high')
  when c.target_kind in ('signing_policy', 'facility_configuration') then 'high'
  else 'medium' end;

-- ---------------------------------------------------------------------------------------------
-- Approvals: revocations (append-only) and the approvals that count.
-- ---------------------------------------------------------------------------------------------
create table core.approval_revocations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  change_request_id uuid not null,
  decision_id uuid not null unique references core.change_request_decisions (id),
  principal_id uuid not null,
  reason text not null check (length(btrim(reason)) between 3 and 2000),
  created_at timestamptz not null default now(),
  foreign key (organization_id, change_request_id) references core.change_requests (organization_id, id),
  foreign key (organization_id, principal_id) references core.principals (organization_id, id)
);
comment on table core.approval_revocations is 'Approvals revoked by their approver before execution started. Append-only.';
alter table core.approval_revocations enable row level security;
alter table core.approval_revocations force row level security;
create policy tenant on core.approval_revocations
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));
create trigger _900_append_only before update or delete on core.approval_revocations
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on core.approval_revocations
  for each statement execute function internal.tg__append_only();
grant select on core.approval_revocations to axiom_definer, axiom_reporting;
grant insert (organization_id, change_request_id, decision_id, principal_id, reason) on core.approval_revocations
  to axiom_definer;

-- Approvals of a change request not revoked (and, with p_since, given after it).
create function internal.valid_approvals(p_change_request uuid, p_since timestamptz default null)
returns integer
language sql stable
return (select count(distinct d.principal_id)::integer from core.change_request_decisions d
         where d.change_request_id = p_change_request and d.decision = 'approved'
           and (p_since is null or d.created_at > p_since)
           and not exists (select 1 from core.approval_revocations v where v.decision_id = d.id));

-- change_request_approve, again: the change request is locked first, so two approvers signing at the
-- same moment are counted one after the other (each sees the other's approval), and revoked approvals
-- do not count.
create or replace function api.change_request_approve(p_caller jsonb, p_change_request_id uuid, p_record_hash text,
                                                      p_signature jsonb default null, p_comment text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
  v_signature uuid;
  v_approvals integer;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.approve');
  v_cr := internal.require_change_request(p_change_request_id);
  perform internal.require(v_caller, 'review', v_cr.domain, v_cr.facility_id);
  select * into v_cr from core.change_requests c where c.id = v_cr.id for update;
  if v_cr.author_id = v_caller.principal_id then
    perform internal.raise('AX403', 'the author of a change cannot approve it', 'self_approval');
  end if;
  if v_caller.is_agent then
    perform internal.raise('AX403', 'the agent never approves', 'decider_not_allowed');
  end if;
  if v_cr.state <> 'in_review' then
    perform internal.raise('AX409', format('the change request is %s, not in review', v_cr.state), 'not_in_review');
  end if;
  if internal.hash_arg(p_record_hash) <> v_cr.proposed_record_hash then
    perform internal.raise('AX409', 'the change was modified after you looked at it', 'record_changed');
  end if;
  if exists (select 1 from core.change_request_decisions d where d.change_request_id = v_cr.id
                and d.principal_id = v_caller.principal_id and d.decision = 'approved') then
    perform internal.raise('AX409', 'you already approved this change; approvals are counted per person', 'already_approved');
  end if;
  v_signature := internal.sign_decision(v_caller, v_cr, 'approved', p_signature);
  insert into core.change_request_decisions (organization_id, change_request_id, principal_id, decision, record_hash,
                                             comment, signature_id)
  values (v_caller.organization_id, v_cr.id, v_caller.principal_id, 'approved', v_cr.proposed_record_hash,
          p_comment, v_signature);
  v_approvals := internal.valid_approvals(v_cr.id);
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.approved', v_caller.session_id,
    v_caller.principal_id, v_cr.domain, v_cr.facility_id, 'core.change_requests', v_cr.id,
    v_cr.proposed_record_id, v_cr.proposed_record_hash,
    case when v_signature is null then null else array[v_signature] end, p_comment,
    jsonb_build_object('approvals', v_approvals, 'required_approvals', v_cr.required_approvals));
  if v_approvals >= v_cr.required_approvals then
    update core.change_requests c set state = 'approved', decided_at = now() where c.id = v_cr.id
    returning * into v_cr;
    perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'approved', v_caller.principal_id,
      'change request approved');
    perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'effective', v_caller.principal_id,
      'change request approved');
  end if;
  return internal.succeed(v_caller, internal.change_request_json(v_cr), 'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_approve(jsonb, uuid, text, jsonb, text) is
  'Requires: review in the change''s domain at its facility; not the author; not the agent.';

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('plan.proposed', 'A remediation plan (a version of it) was proposed and submitted for approval', '{CC8.1,CC7.4}', '{A.8.32}', '{11.10(f),11.10(k)}'),
  ('plan.approval_revoked', 'An approver revoked their approval of a plan before it ran', '{CC8.1}', '{A.8.32}', '{11.10(f)}');

grant execute on function internal.facility_settings(uuid), internal.autonomy_rank(text),
  internal.plan_refuse(text), internal.risk_rank(text), internal.plan_content(uuid, jsonb, uuid),
  internal.valid_approvals(uuid, timestamptz)
  to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- The api
-- ---------------------------------------------------------------------------------------------
create function internal.plan_json(r core.records)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_cr core.change_requests;
  v_settings jsonb := internal.facility_settings(r.facility_id);
begin
  select * into v_cr from core.change_requests c where c.id = r.change_request_id;
  return jsonb_build_object(
    'id', r.id, 'record_id', r.record_id, 'version', r.version, 'record_hash', encode(r.record_hash, 'hex'),
    'facility_id', r.facility_id, 'domain', r.domain, 'state', r.lifecycle_state, 'created_at', r.created_at,
    'created_by', r.created_by, 'change_reason', r.change_reason, 'content', r.content,
    'risk_tier', r.content ->> 'risk_tier', 'required_approvals', (r.content ->> 'required_approvals')::integer,
    'change_request', internal.change_request_json(v_cr),
    'approvals', jsonb_build_object(
      'valid', internal.valid_approvals(v_cr.id,
                 now() - make_interval(secs => ((v_settings ->> 'approval_expiry_hours')::numeric * 3600)::double precision)),
      'given', internal.valid_approvals(v_cr.id),
      'expiry_hours', (v_settings ->> 'approval_expiry_hours')::numeric,
      'revoked', coalesce((select jsonb_agg(jsonb_build_object('principal_id', v.principal_id, 'reason', v.reason,
                                             'revoked_at', v.created_at) order by v.created_at)
                             from core.approval_revocations v where v.change_request_id = v_cr.id), '[]'::jsonb)));
end
$$;
grant execute on function internal.plan_json(core.records) to axiom_definer;

-- The newest version of a plan.
create function internal.plan_head(p_plan_id uuid)
returns core.records
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.records;
begin
  select * into v from core.records r where r.kind = 'plan' and r.id = p_plan_id order by r.version desc limit 1;
  if not found then
    perform internal.raise('AX404', 'plan not found', 'plan_not_found');
  end if;
  return v;
end
$$;
grant execute on function internal.plan_head(uuid) to axiom_definer;

-- Write a plan version with its change request, submitted for review; audited.
create function internal.plan_write(p_caller internal.caller, p_item uuid, p_facility uuid, p_domain core.domain,
                                    p_content jsonb, p_title text, p_reason text)
returns core.records
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_cr uuid := gen_random_uuid();
  v_new core.records;
begin
  insert into core.records (kind, id, organization_id, facility_id, domain, item_key, content, created_by,
                            change_reason, change_request_id, lifecycle_state)
  values ('plan', p_item, p_caller.organization_id, p_facility, p_domain, 'plan:' || p_item::text, p_content,
          p_caller.principal_id, p_reason, v_cr, 'draft')
  returning * into v_new;
  insert into core.change_requests (id, organization_id, facility_id, domain, target_kind, target_item_id,
                                    proposed_record_id, proposed_record_hash, title, reason, author_id, required_approvals)
  values (v_cr, p_caller.organization_id, p_facility, p_domain, 'plan', p_item, v_new.record_id, v_new.record_hash,
          p_title, p_reason, p_caller.principal_id, (p_content ->> 'required_approvals')::integer);
  perform internal.append_audit_event(p_caller.organization_id, 'change_request.created', p_caller.session_id,
    p_caller.principal_id, p_domain, p_facility, 'core.change_requests', v_cr, v_new.record_id, v_new.record_hash,
    array[p_item], p_reason, jsonb_build_object('kind', 'plan', 'version', v_new.version, 'title', p_title));
  update core.change_requests c set state = 'in_review', submitted_at = now() where c.id = v_cr;
  perform internal.transition_record('plan', v_new.record_id, 'in_review', p_caller.principal_id, 'submitted for review');
  perform internal.append_audit_event(p_caller.organization_id, 'change_request.submitted', p_caller.session_id,
    p_caller.principal_id, p_domain, p_facility, 'core.change_requests', v_cr, v_new.record_id, v_new.record_hash);
  perform internal.append_audit_event(p_caller.organization_id, 'plan.proposed', p_caller.session_id,
    p_caller.principal_id, p_domain, p_facility, 'core.plans', p_item, v_new.record_id, v_new.record_hash,
    array[v_cr], p_reason,
    jsonb_build_object('version', v_new.version, 'risk_tier', p_content ->> 'risk_tier',
      'required_approvals', p_content -> 'required_approvals', 'blast_radius', p_content -> 'blast_radius' -> 'total',
      'steps', jsonb_array_length(p_content -> 'steps'), 'rollback_of', p_content -> 'rollback_of'));
  select * into v_new from core.records r where r.kind = 'plan' and r.record_id = v_new.record_id;
  return v_new;
end
$$;
grant execute on function internal.plan_write(internal.caller, uuid, uuid, core.domain, jsonb, text, text) to axiom_definer;

-- Requires: author in the plan's action class (its domain) at the facility (the agent holds it).
-- Proposes a plan and submits it for approval in one call.
create function api.plan_propose(p_caller jsonb, p_facility_id uuid, p_content jsonb, p_title text, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_class text;
  v_content jsonb;
  v_plan core.records;
  v_title text;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'plan.propose');
  perform internal.require_facility(p_facility_id);
  v_class := p_content ->> 'action_class';
  if v_class is null or v_class not in ('security', 'cost', 'drift') then
    perform internal.plan_refuse('action_class is security, cost or drift');
  end if;
  perform internal.require(v_caller, 'author', v_class::core.domain, p_facility_id);
  if v_caller.is_agent and internal.facility_settings(p_facility_id) ->> 'autonomy_tier' = 'scan_only' then
    perform internal.raise('AX403', 'this facility is scan-only: the agent does not propose plans here', 'autonomy_tier');
  end if;
  v_title := internal.text_arg(p_title, 'title', 3, 200);
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  v_content := internal.plan_content(p_facility_id, p_content);
  v_plan := internal.plan_write(v_caller, gen_random_uuid(), p_facility_id, v_class::core.domain, v_content,
    v_title, v_reason);
  return internal.succeed(v_caller, internal.plan_json(v_plan), 'plan', v_plan.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.plan_propose(jsonb, uuid, jsonb, text, text) is
  'Requires: author in the plan''s action class (domain) at the facility.';

-- Requires: author in the plan's domain at its facility. A new version of a plan that has not run:
-- its open change request is withdrawn (the approvals given to it never count again) and the new
-- version is submitted with a change request of its own.
create function api.plan_revise(p_caller jsonb, p_plan_id uuid, p_content jsonb, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_head core.records;
  v_open core.change_requests;
  v_content jsonb;
  v_plan core.records;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'plan.revise');
  v_head := internal.plan_head(p_plan_id);
  perform internal.require(v_caller, 'author', v_head.domain, v_head.facility_id);
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  if v_head.content ? 'rollback_of' then
    perform internal.raise('AX422', 'a rollback plan is not revised; request another rollback', 'rollback_plan_fixed');
  end if;
  if exists (select 1 from core.executions e where e.plan_id = v_head.id) then
    perform internal.raise('AX409', 'the plan has run; propose a new plan instead', 'plan_executed');
  end if;
  if p_content ->> 'action_class' is distinct from v_head.domain::text then
    perform internal.raise('AX422', 'a new version keeps the plan''s action class', 'item_identity_changed');
  end if;
  v_content := internal.plan_content(v_head.facility_id, p_content);
  select * into v_open from core.change_requests c
   where c.target_kind = 'plan' and c.target_item_id = v_head.id and c.state in ('draft', 'in_review')
   for update;
  if v_open.id is not null then
    update core.change_requests c set state = 'withdrawn', decided_at = now() where c.id = v_open.id;
    perform internal.transition_record('plan', v_open.proposed_record_id, 'retired', v_caller.principal_id,
      'replaced by a new version');
    perform internal.append_audit_event(v_caller.organization_id, 'change_request.withdrawn', v_caller.session_id,
      v_caller.principal_id, v_open.domain, v_open.facility_id, 'core.change_requests', v_open.id,
      v_open.proposed_record_id, v_open.proposed_record_hash, p_reason => 'replaced by a new version: ' || v_reason);
  end if;
  v_plan := internal.plan_write(v_caller, v_head.id, v_head.facility_id, v_head.domain, v_content,
    left('Plan revised: ' || v_reason, 200), v_reason);
  return internal.succeed(v_caller, internal.plan_json(v_plan), 'plan', v_plan.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.plan_revise(jsonb, uuid, jsonb, text) is
  'Requires: author in the plan''s domain at its facility; the plan has not run.';

-- Requires: read in the plan's domain at its facility. The newest version, its change request, the
-- approvals that count, and the versions.
create function api.plan_get(p_caller jsonb, p_plan_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_head core.records;
begin
  v_caller := internal.begin_call(p_caller, 'plan.get');
  v_head := internal.plan_head(p_plan_id);
  perform internal.require(v_caller, 'read', v_head.domain, v_head.facility_id);
  return internal.succeed(v_caller, internal.plan_json(v_head) || jsonb_build_object(
    'versions', (select jsonb_agg(jsonb_build_object('record_id', r.record_id, 'version', r.version,
                   'state', r.lifecycle_state, 'record_hash', encode(r.record_hash, 'hex'), 'created_at', r.created_at,
                   'change_request_id', r.change_request_id) order by r.version)
                   from core.records r where r.kind = 'plan' and r.id = v_head.id),
    'executions', coalesce((select jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind, 'status', e.status,
                   'started_at', e.started_at, 'finished_at', e.finished_at) order by e.started_at)
                   from core.executions e where e.plan_id = v_head.id), '[]'::jsonb)),
    'plan', v_head.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.plan_get(jsonb, uuid) is 'Requires: read in the plan''s domain at its facility.';

-- Requires: a valid session; the newest version of each plan in the domains and facilities where the
-- caller holds read (others are left out).
create function api.plan_list(p_caller jsonb, p_facility_id uuid default null, p_state text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'plan.list');
  if p_state is not null and p_state not in ('draft', 'in_review', 'approved', 'effective', 'rejected', 'retired', 'superseded') then
    perform internal.raise('AX400', 'state is in_review, effective (approved), rejected or retired', 'invalid_state');
  end if;
  select coalesce(jsonb_agg(internal.plan_json(r) order by r.created_at desc), '[]'::jsonb) into v_result
    from (select distinct on (r.id) r.* from core.records r
           where r.kind = 'plan'
             and (p_facility_id is null or r.facility_id = p_facility_id)
             and internal.has_grant(v_caller.principal_id, 'read', r.domain, r.facility_id)
             and internal.scope_allows(v_caller.scope, 'read', r.domain, r.facility_id)
           order by r.id, r.version desc) r
   where (p_state is null or r.lifecycle_state::text = p_state);
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.plan_list(jsonb, uuid, text) is 'Requires: a valid session; filtered by read grants.';

-- Requires: being an approver of the plan's current version (review in its domain at its facility).
-- Until the plan starts running, an approver takes their approval back.
create function api.plan_approval_revoke(p_caller jsonb, p_plan_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_head core.records;
  v_cr core.change_requests;
  v_decision uuid;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'plan.approval_revoke');
  v_head := internal.plan_head(p_plan_id);
  perform internal.require(v_caller, 'review', v_head.domain, v_head.facility_id);
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  select * into v_cr from core.change_requests c where c.id = v_head.change_request_id for update;
  if exists (select 1 from core.executions e where e.plan_record_id = v_head.record_id) then
    perform internal.raise('AX409', 'the plan already started running; an approval is revoked only before that',
      'execution_started');
  end if;
  select d.id into v_decision from core.change_request_decisions d
   where d.change_request_id = v_cr.id and d.principal_id = v_caller.principal_id and d.decision = 'approved'
     and not exists (select 1 from core.approval_revocations v where v.decision_id = d.id);
  if v_decision is null then
    perform internal.raise('AX404', 'you have no approval of this plan''s current version to revoke', 'approval_not_found');
  end if;
  insert into core.approval_revocations (organization_id, change_request_id, decision_id, principal_id, reason)
  values (v_caller.organization_id, v_cr.id, v_decision, v_caller.principal_id, v_reason);
  perform internal.append_audit_event(v_caller.organization_id, 'plan.approval_revoked', v_caller.session_id,
    v_caller.principal_id, v_head.domain, v_head.facility_id, 'core.plans', v_head.id, v_head.record_id,
    v_head.record_hash, array[v_cr.id, v_decision], v_reason,
    jsonb_build_object('approvals', internal.valid_approvals(v_cr.id), 'required_approvals', v_cr.required_approvals));
  return internal.succeed(v_caller, internal.plan_json(v_head), 'plan', v_head.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.plan_approval_revoke(jsonb, uuid, text) is
  'Requires: review in the plan''s domain at its facility, and an approval of its current version; before it runs.';

call internal.finalize_api();
