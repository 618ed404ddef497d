-- 040: retention of the audit trail per plan tier, without ever deleting a chained row (issue 8).
--
-- Viewable history: starter 30 days, growth 90 days, enterprise unlimited. Older entries become
-- *archived*: the list functions no longer show them, the export and both verifiers still cover them.
-- Nothing in audit.* is touched: archival is a per-organization watermark, core.organizations.
-- archived_before (a lifecycle column), that only moves forward, and only while no legal hold is set.
-- Every move of the watermark and every legal-hold change is an audit event. RLS and the chains are
-- unaffected by construction (no audit row is updated, deleted or moved).

alter table core.organizations add column archived_before timestamptz;
comment on column core.organizations.archived_before is
  'Audit and session events older than this are archived: not listed, still exported and verified. Only moves forward.';
grant update (archived_before) on core.organizations to axiom_definer;

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('audit.archived', 'Audit entries older than the plan''s viewable history were archived (kept, exported and verified)',
   '{PI1.5,CC7.2}', '{A.5.33,A.8.15}', '{11.10(c)}'),
  ('audit.legal_hold_set', 'A legal hold was placed on the organization''s audit trail: nothing is archived',
   '{PI1.5,CC2.1}', '{A.5.33,A.5.31}', '{11.10(c)}'),
  ('audit.legal_hold_cleared', 'The legal hold on the organization''s audit trail was lifted',
   '{PI1.5,CC2.1}', '{A.5.33,A.5.31}', '{11.10(c)}');

-- Days of viewable history per plan tier; NULL = unlimited.
create function internal.retention_days(p core.plan_tier)
returns integer
language sql immutable parallel safe
return case p when 'starter' then 30 when 'growth' then 90 else null end;

create function internal.retention_json(o core.organizations)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'organization_id', o.id, 'plan_tier', o.plan_tier, 'retention_days', internal.retention_days(o.plan_tier),
  'legal_hold', o.legal_hold, 'archived_before', o.archived_before);

-- Advance the organization's watermark to now() - its retention, unless a legal hold is set or the tier
-- keeps everything. Runs inside the organization (a session or an org context). Never moves back: a
-- later upgrade shows no archived entry again (they stay in every export).
create function internal.archive_organization(p_org uuid, p_session uuid, p_actor uuid)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_org core.organizations;
  v_days integer;
  v_new timestamptz;
  v_audit bigint;
  v_session bigint;
begin
  select * into v_org from core.organizations o where o.id = p_org for update;
  if v_org.id is null then
    perform internal.raise('AX404', 'organization not found', 'organization_not_found');
  end if;
  v_days := internal.retention_days(v_org.plan_tier);
  if v_org.legal_hold or v_days is null then
    return internal.retention_json(v_org) || jsonb_build_object('advanced', false,
      'why', case when v_org.legal_hold then 'legal_hold' else 'unlimited' end);
  end if;
  -- Whole days (UTC): the watermark moves at most once a day, and each move is one audit event.
  v_new := date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - make_interval(days => v_days);
  if v_org.archived_before is not null and v_new <= v_org.archived_before then
    return internal.retention_json(v_org) || jsonb_build_object('advanced', false, 'why', 'up_to_date');
  end if;
  select count(*) into v_audit from audit.audit_events e
   where e.organization_id = p_org and e.occurred_at < v_new
     and e.occurred_at >= coalesce(v_org.archived_before, '-infinity');
  select count(*) into v_session from audit.session_events e
   where e.organization_id = p_org and e.occurred_at < v_new
     and e.occurred_at >= coalesce(v_org.archived_before, '-infinity');
  update core.organizations o set archived_before = v_new where o.id = p_org returning * into v_org;
  perform internal.append_audit_event(p_org, 'audit.archived', p_session, p_actor, 'audit',
    p_details => jsonb_build_object('archived_before', v_new, 'retention_days', v_days,
                                    'plan_tier', v_org.plan_tier, 'audit_events', v_audit,
                                    'session_events', v_session));
  return internal.retention_json(v_org) || jsonb_build_object('advanced', true);
end
$$;

-- Every organization's id (installation maintenance: checkpoints, archival). Owned by axiom_auth, which
-- can read core.organizations across tenants; answers identifiers only.
create function internal.auth_organization_ids()
returns setof uuid
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return query select o.id from core.organizations o order by o.id;
end
$$;
call internal.set_function_owner('internal.auth_organization_ids()', 'axiom_auth');

grant execute on function internal.retention_days(core.plan_tier), internal.retention_json(core.organizations),
  internal.archive_organization(uuid, uuid, uuid), internal.auth_organization_ids() to axiom_definer;

-- Requires: the service secret. The ids of every organization, for the server's maintenance timer.
create function api.maintenance_organizations(p_service_secret text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  return jsonb_build_object('ok', true, 'data',
    coalesce((select jsonb_agg(i) from internal.auth_organization_ids() i), '[]'::jsonb));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.maintenance_organizations(text) is 'Requires: the service secret.';

-- Requires: the service secret. Archive what is older than the organization's viewable history (the
-- server's maintenance timer calls this for every organization).
create function api.retention_archive(p_service_secret text, p_organization_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_detail text;
  v_result jsonb;
begin
  perform internal.require_service_secret(p_service_secret);
  if p_organization_id is null then
    perform internal.raise('AX400', 'organization_id is required', 'invalid_organization_id');
  end if;
  perform internal.enter_org_context(p_organization_id);
  v_result := internal.archive_organization(p_organization_id, null, null);
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.retention_archive(text, uuid) is 'Requires: the service secret.';

-- Requires: audit:read organization-wide. The organization's retention: tier, days, legal hold, watermark.
create function api.audit_retention_get(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
begin
  v_caller := internal.begin_call(p_caller, 'audit.retention_get');
  perform internal.require(v_caller, 'read', 'audit', null);
  return internal.succeed(v_caller,
    (select internal.retention_json(o) from core.organizations o where o.id = v_caller.organization_id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.audit_retention_get(jsonb) is 'Requires: audit:read organization-wide.';

-- Requires: audit:review organization-wide. Place (p_hold true) or lift (false) a legal hold, with a
-- reason. While it is set nothing is archived. Audited either way.
create function api.audit_legal_hold_set(p_caller jsonb, p_hold boolean, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_org core.organizations;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'audit.legal_hold_set');
  perform internal.require(v_caller, 'review', 'audit', null);
  if p_hold is null then
    perform internal.raise('AX400', 'hold is true or false', 'invalid_hold');
  end if;
  v_reason := internal.text_arg(p_reason, 'reason', 3, 1000);
  select * into v_org from core.organizations o where o.id = v_caller.organization_id for update;
  if v_org.legal_hold = p_hold then
    perform internal.raise('AX409',
      case when p_hold then 'a legal hold is already set' else 'there is no legal hold to lift' end,
      'legal_hold_unchanged');
  end if;
  update core.organizations o set legal_hold = p_hold where o.id = v_org.id returning * into v_org;
  perform internal.append_audit_event(v_org.id,
    case when p_hold then 'audit.legal_hold_set' else 'audit.legal_hold_cleared' end,
    v_caller.session_id, v_caller.principal_id, 'audit', null, 'core.organizations', v_org.id,
    p_reason => v_reason, p_details => jsonb_build_object('legal_hold', p_hold));
  return internal.succeed(v_caller, internal.retention_json(v_org), 'organization', v_org.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.audit_legal_hold_set(jsonb, boolean, text) is 'Requires: audit:review organization-wide.';

-- The list functions of 010, showing only what is not archived.

-- Requires: audit:read organization-wide. Newest first; filter.before (a cursor) pages backwards.
-- Archived entries are not listed (they are in the export).
create or replace function api.audit_event_list(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_limit integer;
  v_before record;
  v_type text;
  v_target uuid;
  v_archived timestamptz;
begin
  v_caller := internal.begin_call(p_caller, 'audit.event_list');
  perform internal.require(v_caller, 'read', 'audit', null);
  if p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    perform internal.raise('AX400', 'filter is an object', 'invalid_filter');
  end if;
  v_limit := internal.limit_arg((p_filter ->> 'limit')::integer, 500);
  v_before := internal.parse_time_cursor(p_filter ->> 'before');
  v_type := p_filter ->> 'event_type';
  v_target := (p_filter ->> 'target_id')::uuid;
  select coalesce(o.archived_before, '-infinity') into v_archived from core.organizations o
   where o.id = v_caller.organization_id;
  select coalesce(jsonb_agg(internal.audit_event_export(e) - 'state_ciphertext'
                            || jsonb_build_object('has_state', e.state_ciphertext is not null,
                                                  'cursor', internal.export_ts(e.occurred_at) || '|' || e.id)
                            order by e.occurred_at desc, e.id desc),
                  '[]'::jsonb)
    into v_result
    from (select * from audit.audit_events e
           where e.organization_id = v_caller.organization_id
             and e.occurred_at >= v_archived
             and (v_before.at is null or (e.occurred_at, e.id) < (v_before.at, v_before.id))
             and (v_type is null or e.event_type = v_type)
             and (v_target is null or e.target_id = v_target or v_target = any (e.related_ids))
           order by e.occurred_at desc, e.id desc
           limit v_limit) e;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;

-- Requires: audit:read organization-wide. Archived entries are not listed (they are in the export).
create or replace function api.session_event_list(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_limit integer;
  v_before record;
  v_outcome text;
  v_principal uuid;
  v_archived timestamptz;
begin
  v_caller := internal.begin_call(p_caller, 'audit.session_event_list');
  perform internal.require(v_caller, 'read', 'audit', null);
  if p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    perform internal.raise('AX400', 'filter is an object', 'invalid_filter');
  end if;
  v_limit := internal.limit_arg((p_filter ->> 'limit')::integer, 500);
  v_before := internal.parse_time_cursor(p_filter ->> 'before');
  v_outcome := p_filter ->> 'outcome';
  v_principal := (p_filter ->> 'principal_id')::uuid;
  select coalesce(o.archived_before, '-infinity') into v_archived from core.organizations o
   where o.id = v_caller.organization_id;
  select coalesce(jsonb_agg(internal.session_event_export(e)
                            || jsonb_build_object('cursor', internal.export_ts(e.occurred_at) || '|' || e.id)
                            order by e.occurred_at desc, e.id desc), '[]'::jsonb)
    into v_result
    from (select * from audit.session_events e
           where e.organization_id = v_caller.organization_id
             and e.occurred_at >= v_archived
             and (v_before.at is null or (e.occurred_at, e.id) < (v_before.at, v_before.id))
             and (v_outcome is null or e.outcome = v_outcome)
             and (v_principal is null or e.principal_id = v_principal)
           order by e.occurred_at desc, e.id desc
           limit v_limit) e;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;

call internal.finalize_api();
