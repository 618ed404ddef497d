-- 043: compliance mappings in the audit layer (issue 8). Every audit event type carries its SOC 2 Common
-- Criteria, ISO 27001:2022 Annex A and 21 CFR Part 11 references (internal.event_types, since 003; each
-- migration that adds an event type adds its references, and test/audit/compliance.test.ts proves every
-- type the code emits is mapped). A report per control lists the evidence for a period.
--
-- Who may read them: audit:read organization-wide, like the trail itself. Reports show what the list
-- functions show (archived entries are counted, not listed: they are in the export).

-- A control reference as written in internal.event_types: 'CC6.1', 'A.8.15', '11.10(e)'.
create function internal.control_frameworks(p_control text)
returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select array_remove(array[
    case when exists (select 1 from internal.event_types t where p_control = any (t.soc2)) then 'soc2' end,
    case when exists (select 1 from internal.event_types t where p_control = any (t.iso27001)) then 'iso27001' end,
    case when exists (select 1 from internal.event_types t where p_control = any (t.part11)) then 'part11' end], null)
$$;

create function internal.control_event_types(p_control text)
returns text[]
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(array_agg(t.event_type order by t.event_type), '{}')
    from internal.event_types t
   where p_control = any (t.soc2) or p_control = any (t.iso27001) or p_control = any (t.part11)
$$;
grant execute on function internal.control_frameworks(text), internal.control_event_types(text) to axiom_definer;

-- Requires: audit:read organization-wide. Every control and the event types that are its evidence, and
-- every event type with its references.
create function api.compliance_controls(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
begin
  v_caller := internal.begin_call(p_caller, 'compliance.controls');
  perform internal.require(v_caller, 'read', 'audit', null);
  return internal.succeed(v_caller, jsonb_build_object(
    'controls', (select coalesce(jsonb_agg(jsonb_build_object('framework', c.framework, 'control', c.control,
                                                              'event_types', c.types)
                                           order by c.framework, c.control), '[]'::jsonb)
                   from (select x.framework, x.control, array_agg(x.event_type order by x.event_type) as types
                           from (select 'soc2' as framework, unnest(t.soc2) as control, t.event_type from internal.event_types t
                                 union all
                                 select 'iso27001', unnest(t.iso27001), t.event_type from internal.event_types t
                                 union all
                                 select 'part11', unnest(t.part11), t.event_type from internal.event_types t) x
                          group by x.framework, x.control) c),
    'event_types', (select jsonb_agg(jsonb_build_object('event_type', t.event_type, 'description', t.description,
                                                        'soc2', to_jsonb(t.soc2), 'iso27001', to_jsonb(t.iso27001),
                                                        'part11', to_jsonb(t.part11)) order by t.event_type)
                      from internal.event_types t)));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.compliance_controls(jsonb) is 'Requires: audit:read organization-wide.';

-- Requires: audit:read organization-wide. The evidence for one control in [p_from, p_to): the event
-- types mapped to it, how many of each happened in the period, and the events themselves, oldest first,
-- a page at a time (p_cursor = the previous page's next_cursor). Archived events are counted apart.
create function api.compliance_report(p_caller jsonb, p_control text, p_from timestamptz, p_to timestamptz,
                                      p_cursor text default null, p_limit integer default 500)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_types text[];
  v_limit integer;
  v_after record;
  v_archived timestamptz;
  v_rows jsonb;
  v_counts jsonb;
  v_archived_count bigint;
  v_next text;
  v_count integer;
begin
  v_caller := internal.begin_call(p_caller, 'compliance.report');
  perform internal.require(v_caller, 'read', 'audit', null);
  if p_control is null or p_control !~ '^[A-Za-z0-9.()]{2,20}$' then
    perform internal.raise('AX400', 'control is a reference such as CC6.1, A.8.15 or 11.10(e)', 'invalid_control');
  end if;
  v_types := internal.control_event_types(p_control);
  if cardinality(v_types) = 0 then
    perform internal.raise('AX404', format('no event type is mapped to control %s', p_control), 'control_not_found');
  end if;
  if p_from is null or p_to is null or p_from >= p_to then
    perform internal.raise('AX400', 'the period needs from < to', 'invalid_period');
  end if;
  v_limit := internal.limit_arg(p_limit, 5000);
  v_after := internal.parse_time_cursor(p_cursor);
  select coalesce(o.archived_before, '-infinity') into v_archived from core.organizations o
   where o.id = v_caller.organization_id;

  select coalesce(jsonb_object_agg(c.event_type, c.n), '{}'::jsonb) into v_counts
    from (select e.event_type, count(*) as n from audit.audit_events e
           where e.organization_id = v_caller.organization_id and e.event_type = any (v_types)
             and e.occurred_at >= greatest(p_from, v_archived) and e.occurred_at < p_to
           group by e.event_type) c;
  select count(*) into v_archived_count from audit.audit_events e
   where e.organization_id = v_caller.organization_id and e.event_type = any (v_types)
     and e.occurred_at >= p_from and e.occurred_at < least(p_to, v_archived);

  select coalesce(jsonb_agg(jsonb_build_object(
           'id', e.id, 'occurred_at', internal.export_ts(e.occurred_at), 'event_type', e.event_type,
           'actor_id', e.actor_id, 'session_id', e.session_id, 'domain', e.domain, 'facility_id', e.facility_id,
           'target_table', e.target_table, 'target_id', e.target_id, 'target_record_id', e.target_record_id,
           'reason', e.reason, 'details', e.details, 'lane', e.lane, 'seq', e.seq,
           'hash', encode(e.hash, 'hex')) order by e.occurred_at, e.id), '[]'::jsonb),
         (array_agg(internal.export_ts(e.occurred_at) || '|' || e.id order by e.occurred_at desc, e.id desc))[1],
         count(*)
    into v_rows, v_next, v_count
    from (select * from audit.audit_events e
           where e.organization_id = v_caller.organization_id and e.event_type = any (v_types)
             and e.occurred_at >= greatest(p_from, v_archived) and e.occurred_at < p_to
             and (v_after.at is null or (e.occurred_at, e.id) > (v_after.at, v_after.id))
           order by e.occurred_at, e.id
           limit v_limit) e;
  if v_count < v_limit then
    v_next := null;
  end if;

  return internal.succeed(v_caller, jsonb_build_object(
    'control', p_control, 'frameworks', to_jsonb(internal.control_frameworks(p_control)),
    'event_types', (select jsonb_agg(jsonb_build_object('event_type', t.event_type, 'description', t.description)
                                     order by t.event_type)
                      from internal.event_types t where t.event_type = any (v_types)),
    'from', internal.export_ts(p_from), 'to', internal.export_ts(p_to),
    'archived_before', case when v_archived = '-infinity' then null else internal.export_ts(v_archived) end,
    'counts', v_counts, 'archived_count', v_archived_count,
    'rows', v_rows, 'next_cursor', v_next));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.compliance_report(jsonb, text, timestamptz, timestamptz, text, integer) is
  'Requires: audit:read organization-wide.';

call internal.finalize_api();
