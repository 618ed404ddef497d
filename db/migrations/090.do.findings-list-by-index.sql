-- 090: api.finding_list reads a page from an index instead of sorting every visible finding (issue 9,
-- the load benchmark).
--
-- 030 wrote the page's order as CASE expressions over the chosen sort, so no index matched it: each call
-- read and sorted all of the caller's findings (a top-N sort over the whole organization) to return 50 of
-- them, and the cost grew with the number of findings. Now each sort is its own statement whose ORDER BY
-- is plain columns, led by the organization (the RLS condition), with an index of that exact order:
-- the page is the first rows of an index scan, and the keyset cursor is a row comparison the index can
-- start from. The page's JSON takes each row from the array once (finding_json(v_rows[i]) extracted the
-- element again for each of its ~20 fields). Same filters, same order, same cursor text, same answers; a
-- cursor whose first key does not fit its sort (only a forged one can) is refused as invalid_cursor.

create index findings_by_first_seen on core.findings (organization_id, first_seen_at desc, id desc);
create index findings_by_saving on core.findings
  (organization_id, (coalesce(estimated_monthly_saving_usd, -1)) desc, last_seen_at desc, id desc);

-- The list's filters, one place for the four orders. A plain SQL expression (no SET clause), so the
-- planner inlines it into each statement.
create function internal.finding_listed(
  f core.findings, p_sec uuid[], p_cost uuid[], p_drift uuid[], p_facility uuid, p_connection uuid,
  p_domain text, p_severity text, p_status text, p_check text, p_arn text, p_like text)
returns boolean
language sql stable
return ((f.domain = 'security' and f.facility_id = any (p_sec))
        or (f.domain = 'cost' and f.facility_id = any (p_cost))
        or (f.domain = 'drift' and f.facility_id = any (p_drift)))
   and (p_facility is null or f.facility_id = p_facility)
   and (p_connection is null or f.connection_id = p_connection)
   and (p_domain is null or f.domain::text = p_domain)
   and (p_severity is null or f.severity = p_severity)
   and (p_status is null
        or (p_status = 'active' and internal.finding_status(f.status, f.suppressed_until) in ('open', 'acknowledged'))
        or internal.finding_status(f.status, f.suppressed_until) = p_status)
   and (p_check is null or f.check_id = p_check)
   and (p_arn is null or f.resource_arn = p_arn)
   and (p_like is null or f.resource_arn ilike p_like or f.resource_id ilike p_like);

grant execute on function internal.finding_listed(core.findings, uuid[], uuid[], uuid[], uuid, uuid, text, text,
  text, text, text, text) to axiom_definer;

-- Requires: a valid session; filtered by read grants per domain and facility. (The body is 030's but
-- for the page's statements; the client_encoding setting finalize_api gave it is restated here, since
-- CREATE OR REPLACE resets a function's settings.)
create or replace function api.finding_list(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
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
  v_rows core.findings[];
  v_items jsonb;
  v_last core.findings;
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
  v_sec := internal.readable_facilities(v_caller, 'security');
  v_cost := internal.readable_facilities(v_caller, 'cost');
  v_drift := internal.readable_facilities(v_caller, 'drift');

  -- One statement per order, each the first rows of its index (RLS adds organization_id = the caller's).
  if v_sort = 'severity' then
    select array_agg(f order by f.severity_rank desc, f.last_seen_at desc, f.id desc) into v_rows
      from (select f.* from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null or (f.severity_rank, f.last_seen_at, f.id) < (v_k1::smallint, v_k2, v_kid))
             order by f.severity_rank desc, f.last_seen_at desc, f.id desc
             limit v_limit + 1) f;
  elsif v_sort = 'last_seen' then
    select array_agg(f order by f.last_seen_at desc, f.id desc) into v_rows
      from (select f.* from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null or (f.last_seen_at, f.id) < (v_k2, v_kid))
             order by f.last_seen_at desc, f.id desc
             limit v_limit + 1) f;
  elsif v_sort = 'first_seen' then
    select array_agg(f order by f.first_seen_at desc, f.id desc) into v_rows
      from (select f.* from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null or (f.first_seen_at, f.id) < (v_k2, v_kid))
             order by f.first_seen_at desc, f.id desc
             limit v_limit + 1) f;
  else
    select array_agg(f order by coalesce(f.estimated_monthly_saving_usd, -1) desc, f.last_seen_at desc, f.id desc)
      into v_rows
      from (select f.* from core.findings f
             where internal.finding_listed(f, v_sec, v_cost, v_drift, v_facility, v_connection, v_domain,
                                           v_severity, v_status, v_check, v_arn, v_like)
               and (v_kid is null
                    or (coalesce(f.estimated_monthly_saving_usd, -1), f.last_seen_at, f.id) < (v_k1, v_k2, v_kid))
             order by coalesce(f.estimated_monthly_saving_usd, -1) desc, f.last_seen_at desc, f.id desc
             limit v_limit + 1) f;
  end if;

  v_rows := coalesce(v_rows, '{}');
  if cardinality(v_rows) > v_limit then
    v_rows := v_rows[1:v_limit];
    v_last := v_rows[v_limit];
    v_next := translate(encode(convert_to(jsonb_build_array(
      case v_sort when 'severity' then v_last.severity_rank::numeric
                  when 'saving' then coalesce(v_last.estimated_monthly_saving_usd, -1) else 0 end,
      case v_sort when 'first_seen' then v_last.first_seen_at else v_last.last_seen_at end,
      v_last.id, v_sort)::text, 'UTF8'), 'base64'), E'\n', '');
  end if;
  -- Each row taken from the array once (v_rows[i] inside finding_json would extract the element again
  -- for every field it reads).
  select coalesce(jsonb_agg(internal.finding_json(x.f) order by x.i), '[]') into v_items
    from (select unnest(v_rows) as f, generate_subscripts(v_rows, 1) as i) x;
  return internal.succeed(v_caller, jsonb_build_object('items', v_items, 'next_cursor', v_next, 'sort', v_sort));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_list(jsonb, jsonb) is 'Requires: a valid session; filtered by read grants per domain and facility.';

call internal.finalize_api();
