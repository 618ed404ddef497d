-- 093: a first scan of a large account no longer slows down as it goes. Each observation's foreign key
-- (organization_id, resource_id) is checked by a plan PostgreSQL prepares once per connection and keeps
-- until the table's statistics change; prepared while core.inventory_resources was nearly empty (the
-- first batches of a scan are small: CloudTrail, KMS), it is a sequential scan, and it stayed one while
-- the table grew to thousands of rows inside one scan (autovacuum analyzes a minute later at the
-- earliest): ~1 ms per ingested resource at 10,000 resources, most of a 10,000-resource scan's time
-- (bench/REPORT.md, Scanning). api.scan_ingest now has the table's statistics refreshed whenever the
-- table has doubled since they were taken, which also makes every connection re-plan those checks, and
-- looks existing resources up by the whole unique key (organization, connection, ARN).

-- Refresh the planner's statistics of core.inventory_resources when the table has more than doubled
-- since they were taken (and holds at least 200 rows, this transaction's inserts included). Owned by
-- axiom_owner, the tables' owner (only an owner may ANALYZE); it returns nothing, and pg_stats shows no
-- statistics of a table with row security to a role subject to it. One caller at a time runs it (the
-- others go on without waiting), and a lock held by autovacuum makes it skip, not wait.
create function internal.refresh_inventory_statistics()
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '50ms'
as $$
declare
  v_rel constant regclass := 'core.inventory_resources'::regclass;
  v_known real;
  v_now bigint;
begin
  select c.reltuples into v_known from pg_class c where c.oid = v_rel;
  v_now := pg_stat_get_live_tuples(v_rel) + pg_stat_get_xact_tuples_inserted(v_rel);
  if v_now < 200 or v_now <= 2 * greatest(v_known, 0) then
    return;
  end if;
  -- A transaction-level advisory lock: one refresh at a time, released at commit.
  if not pg_try_advisory_xact_lock(hashtext('axiom.inventory_statistics')) then
    return;
  end if;
  begin
    analyze core.inventory_resources;
  exception when lock_not_available then
    null; -- autovacuum is analyzing it already
  end;
end
$$;
revoke execute on function internal.refresh_inventory_statistics() from public;
grant execute on function internal.refresh_inventory_statistics() to axiom_definer;

-- As in 021, with the statistics refreshed once the batch's new resources are written and the lookup of
-- existing resources by (organization_id, connection_id, arn), the unique key.
create or replace function api.scan_ingest(p_caller jsonb, p_scan_id uuid, p_resources jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.scans;
  v_conn core.records;
  v_rows internal.inventory_input[];
  v_bad text;
  v_added integer;
  v_changed integer;
  v_total integer;
begin
  v_caller := internal.begin_call(p_caller, 'scan.ingest');
  v := internal.require_running_scan(v_caller, p_scan_id);
  v_conn := internal.connection_head(v.connection_id);
  if p_resources is null or jsonb_typeof(p_resources) <> 'array' or jsonb_array_length(p_resources) > 1000 then
    perform internal.raise('AX400', 'resources is an array of at most 1000 records', 'invalid_resources');
  end if;
  -- Defence in depth for invariant 11: nothing shaped like an AWS access key id is ever stored.
  if p_resources::text ~ '(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}' then
    perform internal.raise('AX400', 'the batch contains something shaped like an AWS access key id (AKIA/ASIA...)', 'credentials_refused');
  end if;
  if exists (select 1 from jsonb_array_elements(p_resources) x
              where jsonb_typeof(x) <> 'object' or jsonb_typeof(x -> 'data') is distinct from 'object'
                 or jsonb_typeof(coalesce(x -> 'tags', '{}')) <> 'object'
                 or exists (select 1 from jsonb_each(coalesce(x -> 'tags', '{}')) t where jsonb_typeof(t.value) <> 'string')) then
    perform internal.raise('AX400', 'every resource is an object with a data object and string tags', 'invalid_resources');
  end if;

  select array_agg(row(x.arn, x.type, x."resourceId", x."accountId", x.region, x.unit, coalesce(x.tags, '{}'), x.data,
           sha256(convert_to(jsonb_build_object('type', x.type, 'resourceId', x."resourceId", 'accountId', x."accountId",
             'region', x.region, 'tags', coalesce(x.tags, '{}'), 'data', x.data)::text, 'UTF8')),
           r.id, r.content_hash, r.removed_at is not null, gen_random_uuid(), gen_random_uuid())::internal.inventory_input)
    into v_rows
    from jsonb_to_recordset(p_resources) as x(arn text, type text, "resourceId" text, "accountId" text, region text,
                                              unit text, tags jsonb, data jsonb)
    left join core.inventory_resources r
           on r.organization_id = v.organization_id and r.connection_id = v.connection_id and r.arn = x.arn;
  v_rows := coalesce(v_rows, '{}');
  select format('%s (%s)', coalesce(i.arn, 'no arn'), case
           when i.arn is null or i.arn !~ '^arn:aws[a-z-]*:[a-z0-9-]+:' or length(i.arn) > 2048 then 'arn'
           when i.resource_type is null or i.resource_type !~ '^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$' then 'type'
           when i.resource_name is null or length(i.resource_name) not between 1 and 1024 then 'resourceId'
           when i.account_id is distinct from v_conn.content ->> 'account_id' then 'accountId (not this connection''s account)'
           when i.region is null or i.region !~ '^(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$' then 'region'
           when i.scan_unit is null or i.scan_unit !~ '^[a-z0-9]+:(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$' then 'unit'
           else 'data too large' end)
    into v_bad
    from unnest(v_rows) i
   where i.arn is null or i.arn !~ '^arn:aws[a-z-]*:[a-z0-9-]+:' or length(i.arn) > 2048
      or i.resource_type is null or i.resource_type !~ '^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$'
      or i.resource_name is null or length(i.resource_name) not between 1 and 1024
      or i.account_id is distinct from v_conn.content ->> 'account_id'
      or i.region is null or i.region !~ '^(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$'
      or i.scan_unit is null or i.scan_unit !~ '^[a-z0-9]+:(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$'
      or pg_column_size(i.data) > 262144
   limit 1;
  if v_bad is not null then
    perform internal.raise('AX400', 'invalid resource: ' || left(v_bad, 300), 'invalid_resources');
  end if;
  if (select count(distinct i.arn) from unnest(v_rows) i) <> cardinality(v_rows) then
    perform internal.raise('AX400', 'a batch names each ARN once', 'duplicate_arn');
  end if;

  insert into core.inventory_resources (id, organization_id, connection_id, arn, resource_type, region, scan_unit,
                                        first_seen_scan_id, last_seen_scan_id, observation_id, content_hash)
  select i.new_id, v.organization_id, v.connection_id, i.arn, i.resource_type, i.region, i.scan_unit, v.id, v.id,
         i.observation_id, i.content_hash
    from unnest(v_rows) i where i.existing_id is null;
  -- After the new resources (counted as this transaction's inserts), before the observations whose foreign
  -- keys are checked against them.
  perform internal.refresh_inventory_statistics();
  insert into core.inventory_observations (id, organization_id, resource_id, scan_id, content_hash, resource_name,
                                           account_id, tags, data)
  select i.observation_id, v.organization_id, coalesce(i.existing_id, i.new_id), v.id, i.content_hash, i.resource_name,
         i.account_id, i.tags, i.data
    from unnest(v_rows) i
   where i.existing_id is null or i.existing_hash <> i.content_hash or i.existing_removed;
  insert into core.scan_changes (organization_id, scan_id, resource_id, arn, resource_type, change, content_hash,
                                 previous_hash)
  select v.organization_id, v.id, coalesce(i.existing_id, i.new_id), i.arn, i.resource_type,
         case when i.existing_id is null or i.existing_removed then 'added' else 'changed' end, i.content_hash,
         case when i.existing_removed then null else i.existing_hash end
    from unnest(v_rows) i
   where i.existing_id is null or i.existing_hash <> i.content_hash or i.existing_removed;
  update core.inventory_resources r
     set last_seen_scan_id = v.id, last_seen_at = now(),
         observation_id = case when i.existing_hash <> i.content_hash or i.existing_removed then i.observation_id
                               else r.observation_id end,
         content_hash = i.content_hash, removed_at = null, removed_scan_id = null
    from unnest(v_rows) i
   where i.existing_id is not null and r.id = i.existing_id;

  select count(*) filter (where i.existing_id is null or i.existing_removed),
         count(*) filter (where i.existing_id is not null and not i.existing_removed and i.existing_hash <> i.content_hash),
         count(*)
    into v_added, v_changed, v_total
    from unnest(v_rows) i;
  return internal.succeed(v_caller, jsonb_build_object('received', v_total, 'added', v_added, 'changed', v_changed));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_ingest(jsonb, uuid, jsonb) is 'Requires: the agent, on a running scan.';

call internal.finalize_api();
