-- 021: scans (queue jobs run by workers with the agent's session), the inventory (metadata only,
-- keyed by ARN per connection, first/last seen, what changed per scan) and live progress.

create table core.scans (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  facility_id uuid not null,
  connection_id uuid not null,
  trigger text not null check (trigger in ('manual', 'schedule')),
  requested_by uuid not null,
  created_at timestamptz not null default now(),
  -- Lifecycle columns: the state of the job as it runs.
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled')),
  started_at timestamptz,
  finished_at timestamptz,
  progress jsonb not null default '{}' check (jsonb_typeof(progress) = 'object' and pg_column_size(progress) <= 65536),
  errors jsonb not null default '[]' check (jsonb_typeof(errors) = 'array' and pg_column_size(errors) <= 262144),
  summary jsonb check (summary is null or (jsonb_typeof(summary) = 'object' and pg_column_size(summary) <= 65536)),
  unique (organization_id, id),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id),
  foreign key (organization_id, requested_by) references core.principals (organization_id, id)
);
comment on table core.scans is 'Read-only scans of a connection. One queued or running scan per connection.';
create unique index scans_one_active on core.scans (connection_id) where status in ('queued', 'running');
create index scans_by_connection on core.scans (organization_id, connection_id, created_at desc);

-- One row per resource a connection's scans have seen (the current state is observation_id).
create table core.inventory_resources (
  id uuid primary key,
  organization_id uuid not null references core.organizations (id),
  connection_id uuid not null,
  arn text not null check (length(arn) between 10 and 2048),
  resource_type text not null check (resource_type ~ '^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$'),
  region text not null check (region ~ '^(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$'),
  -- The (service:region) whose complete collection proves the resource's absence.
  scan_unit text not null check (scan_unit ~ '^[a-z0-9]+:(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$'),
  first_seen_scan_id uuid not null,
  first_seen_at timestamptz not null default now(),
  -- Lifecycle columns: the pointer to the current observation, and when it was last seen or removed.
  last_seen_scan_id uuid not null,
  last_seen_at timestamptz not null default now(),
  observation_id uuid not null,
  content_hash bytea not null check (length(content_hash) = 32),
  removed_at timestamptz,
  removed_scan_id uuid,
  unique (organization_id, id),
  unique (organization_id, connection_id, arn)
);
comment on table core.inventory_resources is
  'Cloud resources per connection, keyed by ARN. Metadata only (src/cloud/inventory.ts allowlists every field).';
create index inventory_resources_by_type on core.inventory_resources (organization_id, connection_id, resource_type, arn);

-- Every distinct content a resource had (append-only): a new row only when the content hash changes.
create table core.inventory_observations (
  id uuid primary key,
  organization_id uuid not null references core.organizations (id),
  resource_id uuid not null,
  scan_id uuid not null,
  content_hash bytea not null check (length(content_hash) = 32),
  resource_name text not null check (length(resource_name) between 1 and 1024),
  account_id text not null check (account_id ~ '^[0-9]{12}$'),
  tags jsonb not null check (jsonb_typeof(tags) = 'object'),
  data jsonb not null check (jsonb_typeof(data) = 'object' and pg_column_size(data) <= 262144),
  observed_at timestamptz not null default now(),
  foreign key (organization_id, resource_id) references core.inventory_resources (organization_id, id)
);
create index inventory_observations_by_resource on core.inventory_observations (organization_id, resource_id);

-- What changed in each scan (append-only).
create table core.scan_changes (
  organization_id uuid not null references core.organizations (id),
  scan_id uuid not null,
  resource_id uuid not null,
  arn text not null,
  resource_type text not null,
  change text not null check (change in ('added', 'changed', 'removed')),
  content_hash bytea check (length(content_hash) = 32),
  previous_hash bytea check (length(previous_hash) = 32),
  at timestamptz not null default now(),
  primary key (organization_id, scan_id, resource_id)
);

do $rls$
declare
  v text;
begin
  foreach v in array array['scans', 'inventory_resources', 'inventory_observations', 'scan_changes'] loop
    execute format('alter table core.%I enable row level security', v);
    execute format('alter table core.%I force row level security', v);
    execute format($p$create policy tenant on core.%I
      using (organization_id = (select internal.current_org_id()))
      with check (organization_id = (select internal.current_org_id()))$p$, v);
    execute format('create trigger _901_no_truncate before truncate on core.%I for each statement execute function internal.tg__no_delete()', v);
  end loop;
end
$rls$;
create trigger _900_no_delete before delete on core.scans for each row execute function internal.tg__no_delete();
create trigger _900_no_delete before delete on core.inventory_resources for each row execute function internal.tg__no_delete();
create trigger _900_append_only before update or delete on core.inventory_observations
  for each row execute function internal.tg__append_only();
create trigger _900_append_only before update or delete on core.scan_changes
  for each row execute function internal.tg__append_only();
create trigger _100_lifecycle_only before update on core.scans
  for each row execute function internal.tg__lifecycle_columns_only('status', 'started_at', 'finished_at', 'progress', 'errors', 'summary');
create trigger _100_lifecycle_only before update on core.inventory_resources
  for each row execute function internal.tg__lifecycle_columns_only('last_seen_scan_id', 'last_seen_at', 'observation_id',
    'content_hash', 'removed_at', 'removed_scan_id');

grant select on core.scans, core.inventory_resources, core.inventory_observations, core.scan_changes
  to axiom_definer, axiom_reporting;
grant insert (organization_id, facility_id, connection_id, trigger, requested_by) on core.scans to axiom_definer;
grant update (status, started_at, finished_at, progress, errors, summary) on core.scans to axiom_definer;
grant insert (id, organization_id, connection_id, arn, resource_type, region, scan_unit, first_seen_scan_id,
  last_seen_scan_id, observation_id, content_hash) on core.inventory_resources to axiom_definer;
grant update (last_seen_scan_id, last_seen_at, observation_id, content_hash, removed_at, removed_scan_id)
  on core.inventory_resources to axiom_definer;
grant insert (id, organization_id, resource_id, scan_id, content_hash, resource_name, account_id, tags, data)
  on core.inventory_observations to axiom_definer;
grant insert (organization_id, scan_id, resource_id, arn, resource_type, change, content_hash, previous_hash)
  on core.scan_changes to axiom_definer;

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('scan.queued', 'A scan of a connection was requested', '{CC7.1}', '{A.8.8}', '{}'),
  ('scan.started', 'A worker started a scan (assumes the scan role for at most an hour)', '{CC7.1}', '{A.8.8}', '{}'),
  ('scan.finished', 'A scan finished: succeeded, partial (with the exact AWS errors) or failed', '{CC7.1,CC7.2}', '{A.8.8,A.8.16}', '{}');

-- One inventory record of a batch, as validated and matched against what is stored.
create type internal.inventory_input as (
  arn text,
  resource_type text,
  resource_name text,
  account_id text,
  region text,
  scan_unit text,
  tags jsonb,
  data jsonb,
  content_hash bytea,
  existing_id uuid,
  existing_hash bytea,
  existing_removed boolean,
  new_id uuid,
  observation_id uuid
);
grant usage on type internal.inventory_input to axiom_definer;

create function internal.scan_json(s core.scans)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object('id', s.id, 'facility_id', s.facility_id, 'connection_id', s.connection_id,
  'trigger', s.trigger, 'requested_by', s.requested_by, 'created_at', s.created_at, 'status', s.status,
  'started_at', s.started_at, 'finished_at', s.finished_at, 'progress', s.progress, 'errors', s.errors,
  'summary', s.summary);

create function internal.require_scan(p_id uuid)
returns core.scans
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.scans;
begin
  select * into v from core.scans s where s.id = p_id;
  if not found then
    perform internal.raise('AX404', 'scan not found', 'scan_not_found');
  end if;
  return v;
end
$$;

-- The agent, working on a running scan (ingest, progress, finish).
create function internal.require_running_scan(p_caller internal.caller, p_id uuid)
returns core.scans
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.scans;
begin
  if not p_caller.is_agent then
    perform internal.raise('AX403', 'only the agent writes scan results', 'agent_only');
  end if;
  v := internal.require_scan(p_id);
  perform internal.require(p_caller, 'read', 'configuration', v.facility_id);
  if v.status <> 'running' then
    perform internal.raise('AX409', format('the scan is %s, not running', v.status), 'scan_not_running');
  end if;
  return v;
end
$$;

grant execute on function internal.scan_json(core.scans), internal.require_scan(uuid),
  internal.require_running_scan(internal.caller, uuid) to axiom_definer;

-- Requires: operate in configuration at the connection's facility ('manual'); the agent for a
-- connection with a schedule ('schedule'). The connection must be active; one scan at a time.
create function api.scan_start(p_caller jsonb, p_connection_id uuid, p_trigger text default 'manual')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_conn core.records;
  v core.scans;
begin
  v_caller := internal.begin_call(p_caller, 'scan.start');
  v_conn := internal.connection_head(p_connection_id);
  if p_trigger = 'manual' then
    perform internal.require(v_caller, 'operate', 'configuration', v_conn.facility_id);
  elsif p_trigger = 'schedule' then
    if not v_caller.is_agent then
      perform internal.raise('AX403', 'scheduled scans are started by the agent', 'agent_only');
    end if;
    perform internal.require(v_caller, 'read', 'configuration', v_conn.facility_id);
    if jsonb_typeof(v_conn.content -> 'schedule_hours') is distinct from 'number' then
      perform internal.raise('AX409', 'the connection has no schedule', 'no_schedule');
    end if;
  else
    perform internal.raise('AX400', 'trigger is manual or schedule', 'invalid_trigger');
  end if;
  if v_conn.content ->> 'status' <> 'active' then
    perform internal.raise('AX409', format('the connection is %s; only an active (tested) connection is scanned',
      v_conn.content ->> 'status'), 'connection_not_active');
  end if;
  -- A queued scan no worker took within 15 minutes, or a scan running for more than 2 hours (its
  -- credentials lasted one), is dead: fail it so that the connection can be scanned again.
  update core.scans s set status = 'failed', finished_at = now(),
         errors = s.errors || jsonb_build_array(jsonb_build_object('code', 'stale',
           'message', case when s.status = 'queued' then 'no worker picked the scan up' else 'the worker stopped reporting' end))
   where s.connection_id = v_conn.id
     and ((s.status = 'queued' and s.created_at < now() - interval '15 minutes')
       or (s.status = 'running' and s.started_at < now() - interval '2 hours'));
  if exists (select 1 from core.scans s where s.connection_id = v_conn.id and s.status in ('queued', 'running')) then
    perform internal.raise('AX409', 'a scan of this connection is already queued or running', 'scan_in_progress');
  end if;
  insert into core.scans (organization_id, facility_id, connection_id, trigger, requested_by)
  values (v_caller.organization_id, v_conn.facility_id, v_conn.id, p_trigger, v_caller.principal_id)
  returning * into v;
  perform internal.append_audit_event(v_caller.organization_id, 'scan.queued', v_caller.session_id,
    v_caller.principal_id, 'configuration', v.facility_id, 'core.scans', v.id, p_related_ids => array[v_conn.id],
    p_details => jsonb_build_object('trigger', p_trigger));
  return internal.succeed(v_caller, internal.scan_json(v), 'scan', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_start(jsonb, uuid, text) is
  'Requires: operate in configuration at the facility (manual), or the agent for a scheduled connection.';

-- Requires: the agent. A queued scan becomes running; returns what the worker needs.
create function api.scan_claim(p_caller jsonb, p_scan_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.scans;
  v_conn core.records;
begin
  v_caller := internal.begin_call(p_caller, 'scan.claim');
  if not v_caller.is_agent then
    perform internal.raise('AX403', 'only the agent runs scans', 'agent_only');
  end if;
  v := internal.require_scan(p_scan_id);
  perform internal.require(v_caller, 'read', 'configuration', v.facility_id);
  if v.status <> 'queued' then
    perform internal.raise('AX409', format('the scan is %s, not queued', v.status), 'scan_not_queued');
  end if;
  v_conn := internal.connection_head(v.connection_id);
  if v_conn.content ->> 'status' <> 'active' then
    update core.scans s set status = 'cancelled', finished_at = now(),
           errors = jsonb_build_array(jsonb_build_object('code', 'connection_not_active',
             'message', 'the connection is ' || (v_conn.content ->> 'status')))
     where s.id = v.id returning * into v;
    return internal.succeed(v_caller, jsonb_build_object('scan', internal.scan_json(v)), 'scan', v.id);
  end if;
  update core.scans s set status = 'running', started_at = now() where s.id = v.id returning * into v;
  perform internal.append_audit_event(v_caller.organization_id, 'scan.started', v_caller.session_id,
    v_caller.principal_id, 'configuration', v.facility_id, 'core.scans', v.id, p_related_ids => array[v.connection_id]);
  return internal.succeed(v_caller, jsonb_build_object('scan', internal.scan_json(v),
    'connection', jsonb_build_object('id', v_conn.id, 'account_id', v_conn.content ->> 'account_id',
      'regions', v_conn.content -> 'regions', 'facility_id', v_conn.facility_id)), 'scan', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_claim(jsonb, uuid) is 'Requires: the agent (read in configuration at the facility).';

-- Requires: the agent, on a running scan. Live progress (services and regions done, resources found).
create function api.scan_progress(p_caller jsonb, p_scan_id uuid, p_progress jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.scans;
begin
  v_caller := internal.begin_call(p_caller, 'scan.progress');
  v := internal.require_running_scan(v_caller, p_scan_id);
  if p_progress is null or jsonb_typeof(p_progress) <> 'object' or pg_column_size(p_progress) > 60000 then
    perform internal.raise('AX400', 'progress is an object (at most 60 kB)', 'invalid_progress');
  end if;
  update core.scans s set progress = p_progress || jsonb_build_object('updated_at', now()) where s.id = v.id;
  return internal.succeed(v_caller, jsonb_build_object('ok', true));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_progress(jsonb, uuid, jsonb) is 'Requires: the agent, on a running scan.';

-- Requires: the agent, on a running scan. One batch (at most 1000 resources) in one transaction:
-- new resources are added, changed ones get a new observation, unchanged ones only a last-seen stamp.
create function api.scan_ingest(p_caller jsonb, p_scan_id uuid, p_resources jsonb)
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
    left join core.inventory_resources r on r.connection_id = v.connection_id and r.arn = x.arn;
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

-- Requires: the agent, on a running scan. Written last: resources not seen in a (service:region) that
-- was collected completely are marked removed; the status, errors and summary are stored; an
-- AssumeRole refusal (p_assume_refused) marks the connection revoked.
create function api.scan_finish(p_caller jsonb, p_scan_id uuid, p_status text, p_errors jsonb, p_summary jsonb,
                                p_complete_units jsonb, p_assume_refused boolean default false)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.scans;
  v_conn core.records;
  v_counts jsonb;
  v_units text[];
begin
  v_caller := internal.begin_call(p_caller, 'scan.finish');
  v := internal.require_running_scan(v_caller, p_scan_id);
  if p_status is null or p_status not in ('succeeded', 'partial', 'failed') then
    perform internal.raise('AX400', 'status is succeeded, partial or failed', 'invalid_status');
  end if;
  if p_errors is null or jsonb_typeof(p_errors) <> 'array' or pg_column_size(p_errors) > 200000
     or (p_summary is not null and (jsonb_typeof(p_summary) <> 'object' or pg_column_size(p_summary) > 60000)) then
    perform internal.raise('AX400', 'errors is an array and summary an object', 'invalid_result');
  end if;
  if p_status = 'succeeded' and jsonb_array_length(p_errors) > 0 then
    perform internal.raise('AX400', 'a scan with errors is partial or failed', 'invalid_status');
  end if;
  if p_complete_units is not null and (jsonb_typeof(p_complete_units) <> 'array'
       or exists (select 1 from jsonb_array_elements(p_complete_units) u
                   where jsonb_typeof(u) <> 'string' or u #>> '{}' !~ '^[a-z0-9]+:(global|[a-z]{2}(-gov)?-[a-z]+-[0-9])$')) then
    perform internal.raise('AX400', 'complete_units are service:region', 'invalid_units');
  end if;
  v_units := array(select jsonb_array_elements_text(coalesce(p_complete_units, '[]'::jsonb)));
  with gone as (
    update core.inventory_resources r set removed_at = now(), removed_scan_id = v.id
     where r.connection_id = v.connection_id and r.removed_at is null and r.last_seen_scan_id <> v.id
       and r.scan_unit = any (v_units)
    returning r.id, r.arn, r.resource_type, r.content_hash)
  insert into core.scan_changes (organization_id, scan_id, resource_id, arn, resource_type, change, previous_hash)
  select v.organization_id, v.id, g.id, g.arn, g.resource_type, 'removed', g.content_hash from gone g;
  select jsonb_build_object(
           'added', count(*) filter (where c.change = 'added'),
           'changed', count(*) filter (where c.change = 'changed'),
           'removed', count(*) filter (where c.change = 'removed'))
    into v_counts
    from core.scan_changes c where c.scan_id = v.id;
  v_counts := v_counts || jsonb_build_object('resources', (select count(*) from core.inventory_resources r
                                                           where r.connection_id = v.connection_id and r.last_seen_scan_id = v.id));
  update core.scans s set status = p_status, finished_at = now(), errors = p_errors,
         summary = coalesce(p_summary, '{}'::jsonb) || jsonb_build_object('changes', v_counts)
   where s.id = v.id returning * into v;
  if p_assume_refused then
    v_conn := internal.connection_head(v.connection_id);
    if v_conn.content ->> 'status' = 'active' then
      v_conn := internal.connection_set_status(v_caller, v_conn, 'revoked',
        'AssumeRole was refused at scan time: the role is gone or no longer trusts Axiom with this External ID');
    end if;
    perform internal.append_audit_event(v_caller.organization_id, 'connection.assume_failed', v_caller.session_id,
      v_caller.principal_id, 'configuration', v.facility_id, 'core.connections', v.connection_id, v_conn.record_id,
      v_conn.record_hash, array[v.id], 'AssumeRole refused at scan time',
      jsonb_build_object('scan_id', v.id, 'errors', p_errors -> 0));
  end if;
  perform internal.append_audit_event(v_caller.organization_id, 'scan.finished', v_caller.session_id,
    v_caller.principal_id, 'configuration', v.facility_id, 'core.scans', v.id, p_related_ids => array[v.connection_id],
    p_details => jsonb_build_object('status', p_status, 'changes', v_counts, 'errors', jsonb_array_length(p_errors)));
  return internal.succeed(v_caller, internal.scan_json(v), 'scan', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_finish(jsonb, uuid, text, jsonb, jsonb, jsonb, boolean) is
  'Requires: the agent, on a running scan.';

-- Requires: read in configuration at the scan's facility.
create function api.scan_get(p_caller jsonb, p_scan_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.scans;
begin
  v_caller := internal.begin_call(p_caller, 'scan.get');
  v := internal.require_scan(p_scan_id);
  perform internal.require(v_caller, 'read', 'configuration', v.facility_id);
  return internal.succeed(v_caller, internal.scan_json(v) || jsonb_build_object('resources_by_type', (
      select coalesce(jsonb_object_agg(t.resource_type, t.n), '{}'::jsonb)
        from (select r.resource_type, count(*) as n from core.inventory_resources r
               where r.connection_id = v.connection_id and r.last_seen_scan_id = v.id group by 1) t)),
    'scan', v.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_get(jsonb, uuid) is 'Requires: read in configuration at the scan''s facility.';

-- Requires: read in configuration at the connection's facility. Newest first.
create function api.scan_list(p_caller jsonb, p_connection_id uuid, p_limit integer default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_conn core.records;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'scan.list');
  v_conn := internal.connection_head(p_connection_id);
  perform internal.require(v_caller, 'read', 'configuration', v_conn.facility_id);
  select coalesce(jsonb_agg(internal.scan_json(s) order by s.created_at desc), '[]'::jsonb) into v_result
    from (select * from core.scans s where s.connection_id = v_conn.id
           order by s.created_at desc limit internal.limit_arg(p_limit, 500)) s;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_list(jsonb, uuid, integer) is 'Requires: read in configuration at the connection''s facility.';

-- Requires: read in configuration at the connection's facility. Filters: type, region, arn_prefix,
-- removed (include removed resources), changed_in_scan (only what that scan added or changed).
-- Keyset pagination by ARN: pass the last ARN of a page as p_cursor.
create function api.inventory_list(p_caller jsonb, p_connection_id uuid, p_filters jsonb default '{}',
                                   p_cursor text default null, p_limit integer default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_conn core.records;
  v_limit integer;
  v_items jsonb;
  v_type text;
  v_region text;
  v_prefix text;
  v_removed boolean;
  v_scan uuid;
begin
  v_caller := internal.begin_call(p_caller, 'inventory.list');
  v_conn := internal.connection_head(p_connection_id);
  perform internal.require(v_caller, 'read', 'configuration', v_conn.facility_id);
  v_limit := internal.limit_arg(p_limit, 1000);
  p_filters := coalesce(p_filters, '{}'::jsonb);
  if jsonb_typeof(p_filters) <> 'object' or exists (select 1 from jsonb_object_keys(p_filters) k
       where k not in ('type', 'region', 'arn_prefix', 'removed', 'changed_in_scan')) then
    perform internal.raise('AX400', 'filters: type, region, arn_prefix, removed, changed_in_scan', 'invalid_filter');
  end if;
  v_type := p_filters ->> 'type';
  v_region := p_filters ->> 'region';
  v_prefix := p_filters ->> 'arn_prefix';
  if (v_type is not null and length(v_type) > 100) or (v_region is not null and length(v_region) > 30)
     or (v_prefix is not null and length(v_prefix) > 2048)
     or (p_filters ? 'removed' and jsonb_typeof(p_filters -> 'removed') <> 'boolean')
     or (p_cursor is not null and length(p_cursor) > 2048) then
    perform internal.raise('AX400', 'a filter has the wrong type or length', 'invalid_filter');
  end if;
  v_removed := coalesce((p_filters ->> 'removed')::boolean, false);
  if p_filters ? 'changed_in_scan' then
    begin
      v_scan := (p_filters ->> 'changed_in_scan')::uuid;
    exception when others then
      perform internal.raise('AX400', 'changed_in_scan is a scan id', 'invalid_filter');
    end;
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'arn', r.arn, 'type', r.resource_type, 'resourceId', o.resource_name, 'accountId', o.account_id,
           'region', r.region, 'tags', o.tags, 'data', o.data, 'content_hash', encode(r.content_hash, 'hex'),
           'first_seen_at', r.first_seen_at, 'first_seen_scan_id', r.first_seen_scan_id,
           'last_seen_at', r.last_seen_at, 'last_seen_scan_id', r.last_seen_scan_id,
           'changed_at', o.observed_at, 'removed_at', r.removed_at) order by r.arn), '[]'::jsonb)
    into v_items
    from (select * from core.inventory_resources r
           where r.connection_id = v_conn.id
             and (v_type is null or r.resource_type = v_type)
             and (v_region is null or r.region = v_region)
             and (v_prefix is null or left(r.arn, length(v_prefix)) = v_prefix)
             and (v_removed or r.removed_at is null)
             and (v_scan is null or exists (select 1 from core.scan_changes c where c.scan_id = v_scan
                                              and c.resource_id = r.id and c.change <> 'removed'))
             and (p_cursor is null or r.arn > p_cursor)
           order by r.arn limit v_limit) r
    join core.inventory_observations o on o.id = r.observation_id;
  return internal.succeed(v_caller, jsonb_build_object('items', v_items,
    'next_cursor', case when jsonb_array_length(v_items) = v_limit then v_items -> (v_limit - 1) ->> 'arn' end));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.inventory_list(jsonb, uuid, jsonb, text, integer) is
  'Requires: read in configuration at the connection''s facility.';

-- Requires: read in configuration at the scan's facility. What a scan added, changed and removed.
create function api.scan_changes(p_caller jsonb, p_scan_id uuid, p_cursor text default null, p_limit integer default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v core.scans;
  v_limit integer;
  v_items jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'scan.changes');
  v := internal.require_scan(p_scan_id);
  perform internal.require(v_caller, 'read', 'configuration', v.facility_id);
  v_limit := internal.limit_arg(p_limit, 1000);
  select coalesce(jsonb_agg(jsonb_build_object('arn', c.arn, 'type', c.resource_type, 'change', c.change,
           'content_hash', encode(c.content_hash, 'hex'), 'previous_hash', encode(c.previous_hash, 'hex')) order by c.arn),
           '[]'::jsonb)
    into v_items
    from (select * from core.scan_changes c where c.scan_id = v.id and (p_cursor is null or c.arn > p_cursor)
           order by c.arn limit v_limit) c;
  return internal.succeed(v_caller, jsonb_build_object('items', v_items,
    'next_cursor', case when jsonb_array_length(v_items) = v_limit then v_items -> (v_limit - 1) ->> 'arn' end));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.scan_changes(jsonb, uuid, text, integer) is 'Requires: read in configuration at the scan''s facility.';

-- Requires: read in configuration at the connection's facility (the agent scanning, or a person
-- testing). Records that the read-only firewall refused a call before it was sent.
create function api.cloud_call_refused(p_caller jsonb, p_connection_id uuid, p_scan_id uuid, p_service text,
                                       p_operation text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_conn core.records;
begin
  v_caller := internal.begin_call(p_caller, 'cloud.call_refused');
  v_conn := internal.connection_head(p_connection_id);
  perform internal.require(v_caller, 'read', 'configuration', v_conn.facility_id);
  if p_service is null or p_service !~ '^[A-Za-z0-9 -]{1,60}$' or p_operation is null or p_operation !~ '^[A-Za-z0-9]{1,100}$' then
    perform internal.raise('AX400', 'service and operation are names', 'invalid_operation');
  end if;
  perform internal.append_audit_event(v_caller.organization_id, 'cloud.call_refused', v_caller.session_id,
    v_caller.principal_id, 'configuration', v_conn.facility_id, 'core.connections', v_conn.id,
    p_related_ids => case when p_scan_id is null then null else array[p_scan_id] end,
    p_reason => format('%s:%s is not on the read-only allowlist', p_service, p_operation),
    p_details => jsonb_build_object('service', p_service, 'operation', p_operation));
  return internal.succeed(v_caller, jsonb_build_object('recorded', true));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.cloud_call_refused(jsonb, uuid, uuid, text, text) is
  'Requires: read in configuration at the connection''s facility.';

call internal.finalize_api();
