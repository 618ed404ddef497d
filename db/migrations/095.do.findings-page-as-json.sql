-- 095: the findings page is built as json text, in one pass (issue 9, the load benchmark).
--
-- api.finding_list built the page as jsonb: each finding with jsonb_build_object, the list with jsonb_agg,
-- the page object, then internal.succeed's envelope — every level walks and re-encodes everything below
-- it, and the result is walked once more to print it. json is text: each finding is formatted once and the
-- enclosing levels only append. The page's rows no longer go through an array of whole rows (array_agg,
-- then unnest to format them): one statement formats the first rows of the index scan and keeps the sort
-- keys of the last one for the cursor. The read grants of the three finding domains come from one statement over the
-- facilities instead of three. Same filters, order, cursor, answers and refusals; only the text layout of
-- the JSON differs (key order as written, as every client parses it). Serially on the load benchmark's
-- organization (2,000 findings, page of 50): 3.0 ms → ~2.0 ms per call.

-- A finding as the list shows it: the fields of internal.finding_json, as json.
create function internal.finding_item(f core.findings)
returns json
language sql stable
return pg_catalog.json_build_object(
  'id', f.id, 'facility_id', f.facility_id, 'connection_id', f.connection_id, 'check_id', f.check_id,
  'resource_arn', f.resource_arn, 'resource_type', f.resource_type, 'resource_id', f.resource_id,
  'region', f.region, 'domain', f.domain, 'severity', f.severity,
  'status', internal.finding_status(f.status, f.suppressed_until),
  'suppressed_until', f.suppressed_until, 'suppression_reason', f.suppression_reason,
  'first_seen_at', f.first_seen_at, 'first_scan_id', f.first_scan_id, 'last_seen_at', f.last_seen_at,
  'last_scan_id', f.last_scan_id, 'resolved_at', f.resolved_at, 'evidence', f.evidence,
  'estimated_monthly_saving_usd', f.estimated_monthly_saving_usd, 'version', f.current_version);

-- internal.succeed for an answer built as json: the session event, then the envelope.
create function internal.succeed_json(
  p_caller internal.caller,
  p_data json,
  p_target_type text default null,
  p_target_id uuid default null
)
returns json
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.append_session_event(
    p_caller.organization_id, p_caller.session_id, p_caller.principal_id, p_caller.operation, 'ok',
    p_target_type, p_target_id, null, p_caller.client_ip, p_caller.request_id);
  return json_build_object('ok', true, 'data', p_data);
end
$$;

-- The facilities whose findings of each domain the caller may read: internal.readable_facilities for
-- the three finding domains, in one statement.
create function internal.readable_finding_facilities(
  p_caller internal.caller,
  out security uuid[],
  out cost uuid[],
  out drift uuid[]
)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(array_agg(f.id) filter (where internal.has_grant(p_caller.principal_id, 'read', 'security', f.id)
                                            and internal.scope_allows(p_caller.scope, 'read', 'security', f.id)), '{}'),
         coalesce(array_agg(f.id) filter (where internal.has_grant(p_caller.principal_id, 'read', 'cost', f.id)
                                            and internal.scope_allows(p_caller.scope, 'read', 'cost', f.id)), '{}'),
         coalesce(array_agg(f.id) filter (where internal.has_grant(p_caller.principal_id, 'read', 'drift', f.id)
                                            and internal.scope_allows(p_caller.scope, 'read', 'drift', f.id)), '{}')
    from core.facilities f
$$;

grant execute on function internal.finding_item(core.findings),
  internal.succeed_json(internal.caller, json, text, uuid),
  internal.readable_finding_facilities(internal.caller) to axiom_definer;

-- The return type changes (jsonb → json), so the function is dropped and created again; finalize_api
-- gives it back to axiom_definer with client_encoding UTF8 and EXECUTE for the runtime roles.
drop function api.finding_list(jsonb, jsonb);

-- Requires: a valid session; filtered by read grants per domain and facility.
create function api.finding_list(p_caller jsonb, p_filter jsonb default '{}')
returns json
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_filter jsonb := coalesce(p_filter, '{}');
  v_facility uuid;
  v_connection uuid;
  v_domain text;
  v_severity text;
  v_status text;
  v_check text;
  v_arn text;
  v_like text;
  v_sort text;
  v_limit integer;
  v_cursor jsonb;
  v_k1 numeric;
  v_k2 timestamptz;
  v_kid uuid;
  v_sec uuid[];
  v_cost uuid[];
  v_drift uuid[];
  v_items json;
  v_count bigint;
  -- The sort keys of the page's last row: the next page's cursor.
  v_last_keys jsonb;
  v_next text;
begin
  v_caller := internal.begin_call(p_caller, 'finding.list');
  if jsonb_typeof(v_filter) <> 'object' or exists (select 1 from jsonb_object_keys(v_filter) k
       where k not in ('facility_id', 'connection_id', 'domain', 'severity', 'status', 'check_id', 'resource_arn',
                       'resource', 'sort', 'cursor', 'limit')) then
    perform internal.raise('AX400', 'unknown filter; use facility_id, connection_id, domain, severity, status, check_id, resource_arn, resource, sort, cursor, limit',
      'invalid_filter');
  end if;
  if exists (select 1 from jsonb_each(v_filter) e where jsonb_typeof(e.value) not in ('string', 'number', 'null')) then
    perform internal.raise('AX400', 'filter values are strings', 'invalid_filter');
  end if;
  begin
    v_facility := (v_filter ->> 'facility_id')::uuid;
    v_connection := (v_filter ->> 'connection_id')::uuid;
  exception when others then
    perform internal.raise('AX400', 'facility_id and connection_id are uuids', 'invalid_filter');
  end;
  v_domain := v_filter ->> 'domain';
  if v_domain is not null and v_domain not in ('security', 'cost', 'drift') then
    perform internal.raise('AX400', 'domain is security, cost or drift', 'invalid_domain');
  end if;
  v_severity := v_filter ->> 'severity';
  if v_severity is not null and v_severity not in ('critical', 'high', 'medium', 'low', 'informational') then
    perform internal.raise('AX400', 'severity is critical, high, medium, low or informational', 'invalid_severity');
  end if;
  v_status := v_filter ->> 'status';
  if v_status is not null and v_status not in ('open', 'acknowledged', 'suppressed', 'resolved', 'active') then
    perform internal.raise('AX400', 'status is open, acknowledged, suppressed, resolved or active', 'invalid_status');
  end if;
  v_check := v_filter ->> 'check_id';
  if v_check is not null and v_check !~ '^[a-z][a-z0-9_]{2,60}$' then
    perform internal.raise('AX400', 'check_id is a check id', 'invalid_check');
  end if;
  v_arn := v_filter ->> 'resource_arn';
  if v_arn is not null and length(v_arn) > 2048 then
    perform internal.raise('AX400', 'resource_arn is at most 2048 characters', 'invalid_filter');
  end if;
  if v_filter ? 'resource' and v_filter ->> 'resource' is not null then
    if length(v_filter ->> 'resource') not between 1 and 200 then
      perform internal.raise('AX400', 'resource is 1 to 200 characters', 'invalid_filter');
    end if;
    v_like := '%' || replace(replace(replace(v_filter ->> 'resource', '\', '\\'), '%', '\%'), '_', '\_') || '%';
  end if;
  v_sort := coalesce(v_filter ->> 'sort', 'severity');
  if v_sort not in ('severity', 'last_seen', 'first_seen', 'saving') then
    perform internal.raise('AX400', 'sort is severity, last_seen, first_seen or saving', 'invalid_sort');
  end if;
  begin
    v_limit := (v_filter ->> 'limit')::integer;
  exception when others then
    perform internal.raise('AX400', 'limit is a whole number from 1 to 500', 'invalid_limit');
  end;
  v_limit := internal.limit_arg(v_limit, 500);
  if v_filter ->> 'cursor' is not null then
    begin
      v_cursor := convert_from(decode(v_filter ->> 'cursor', 'base64'), 'UTF8')::jsonb;
      v_k1 := (v_cursor ->> 0)::numeric;
      v_k2 := (v_cursor ->> 1)::timestamptz;
      v_kid := (v_cursor ->> 2)::uuid;
      if v_kid is null or v_k2 is null or (v_cursor ->> 3) is distinct from v_sort
         -- The first key is what the sort puts there: a severity rank (1..5), a saving (-1 for none),
         -- or 0 for the orders by time.
         or v_k1 is null
         or (v_sort = 'severity' and (v_k1 not between 1 and 5 or v_k1 <> trunc(v_k1)))
         or (v_sort = 'saving' and v_k1 < -1)
         or (v_sort in ('last_seen', 'first_seen') and v_k1 <> 0) then
        raise exception 'bad cursor';
      end if;
    exception when others then
      perform internal.raise('AX400', 'cursor is the next_cursor of the previous page (same sort)', 'invalid_cursor');
    end;
  end if;
  select r.security, r.cost, r.drift into v_sec, v_cost, v_drift
    from internal.readable_finding_facilities(v_caller) r;

  -- One statement per order, each the first rows of its index (RLS adds organization_id = the caller's).
  if v_sort = 'severity' then
    select json_agg(internal.finding_item(p.f) order by p.n) filter (where p.n <= v_limit), count(*),
           (array_agg(jsonb_build_array((p.f).severity_rank::numeric, (p.f).last_seen_at, (p.f).id, v_sort))
              filter (where p.n = v_limit))[1]
      into v_items, v_count, v_last_keys
      from (select f, row_number() over (order by f.severity_rank desc, f.last_seen_at desc, f.id desc) as n
              from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null or (f.severity_rank, f.last_seen_at, f.id) < (v_k1::smallint, v_k2, v_kid))
             order by f.severity_rank desc, f.last_seen_at desc, f.id desc
             limit v_limit + 1) p;
  elsif v_sort = 'last_seen' then
    select json_agg(internal.finding_item(p.f) order by p.n) filter (where p.n <= v_limit), count(*),
           (array_agg(jsonb_build_array(0, (p.f).last_seen_at, (p.f).id, v_sort))
              filter (where p.n = v_limit))[1]
      into v_items, v_count, v_last_keys
      from (select f, row_number() over (order by f.last_seen_at desc, f.id desc) as n
              from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null or (f.last_seen_at, f.id) < (v_k2, v_kid))
             order by f.last_seen_at desc, f.id desc
             limit v_limit + 1) p;
  elsif v_sort = 'first_seen' then
    select json_agg(internal.finding_item(p.f) order by p.n) filter (where p.n <= v_limit), count(*),
           (array_agg(jsonb_build_array(0, (p.f).first_seen_at, (p.f).id, v_sort))
              filter (where p.n = v_limit))[1]
      into v_items, v_count, v_last_keys
      from (select f, row_number() over (order by f.first_seen_at desc, f.id desc) as n
              from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null or (f.first_seen_at, f.id) < (v_k2, v_kid))
             order by f.first_seen_at desc, f.id desc
             limit v_limit + 1) p;
  else
    select json_agg(internal.finding_item(p.f) order by p.n) filter (where p.n <= v_limit), count(*),
           (array_agg(jsonb_build_array(coalesce((p.f).estimated_monthly_saving_usd, -1), (p.f).last_seen_at,
                                         (p.f).id, v_sort))
              filter (where p.n = v_limit))[1]
      into v_items, v_count, v_last_keys
      from (select f, row_number() over (order by coalesce(f.estimated_monthly_saving_usd, -1) desc,
                                                  f.last_seen_at desc, f.id desc) as n
              from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null
                    or (coalesce(f.estimated_monthly_saving_usd, -1), f.last_seen_at, f.id) < (v_k1, v_k2, v_kid))
             order by coalesce(f.estimated_monthly_saving_usd, -1) desc, f.last_seen_at desc, f.id desc
             limit v_limit + 1) p;
  end if;

  if v_count > v_limit then
    v_next := translate(encode(convert_to(v_last_keys::text, 'UTF8'), 'base64'), E'\n', '');
  end if;
  return internal.succeed_json(v_caller,
    json_build_object('items', coalesce(v_items, '[]'), 'next_cursor', v_next, 'sort', v_sort));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail)::json;
end
$$;
comment on function api.finding_list(jsonb, jsonb) is 'Requires: a valid session; filtered by read grants per domain and facility.';

call internal.finalize_api();
