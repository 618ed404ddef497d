-- 005: controlled records (SCD Type 2, DESIGN.md invariant 7) and change management.
--
-- core.records is the single definition of a controlled record, for every kind (one partition each):
--   record_id (one version row), id (the item, stable across versions), version (1..n per item),
--   previous_record_id / previous_record_hash (the chain), record_hash (sha256 of the canonical encoding
--   v1 of the row's content and previous_record_hash), the data columns (immutable), and the lifecycle
--   columns (the only ones that change, through legal transitions only).
-- Every version written and every lifecycle change appends an audit event carrying the version's hash,
-- so a whole item cannot vanish without the organization's audit chain noticing.

create table internal.controlled_tables (
  kind text primary key check (kind ~ '^[a-z_]{2,40}$'),
  -- The partition of core.records holding this kind; also the subject of its record hashes.
  table_name text not null unique,
  requires_change_management boolean not null,
  -- NULL: the domain is chosen per row (findings, plans); otherwise every row has this domain.
  fixed_domain core.domain
);
comment on table internal.controlled_tables is 'Registry of controlled (versioned, hash-chained) tables.';
grant select on internal.controlled_tables to axiom_definer, axiom_verifier, axiom_reporting;

-- Which lifecycle transitions are legal.
create function internal.lifecycle_transition_allowed(p_from core.lifecycle_state, p_to core.lifecycle_state)
returns boolean
language sql stable parallel safe
return (p_from, p_to) in (
  ('draft'::core.lifecycle_state, 'in_review'::core.lifecycle_state),
  ('draft', 'retired'),
  ('in_review', 'approved'),
  ('in_review', 'rejected'),
  ('in_review', 'draft'),
  ('in_review', 'retired'),
  ('approved', 'effective'),
  ('approved', 'retired'),
  ('effective', 'superseded'),
  ('effective', 'retired'));

create function internal.controlled_record_hash(
  p_subject text,
  p_record_id uuid,
  p_id uuid,
  p_organization_id uuid,
  p_facility_id uuid,
  p_domain core.domain,
  p_item_key text,
  p_version integer,
  p_previous_record_id uuid,
  p_content jsonb,
  p_created_at timestamptz,
  p_created_by uuid,
  p_change_reason text,
  p_change_request_id uuid,
  p_previous_record_hash bytea
)
returns bytea
language sql stable parallel safe
return pg_catalog.sha256(
  internal.enc_header(p_subject)
  || internal.enc_uuid(p_record_id)
  || internal.enc_uuid(p_id)
  || internal.enc_uuid(p_organization_id)
  || internal.enc_uuid(p_facility_id)
  || internal.enc_text(p_domain::text)
  || internal.enc_text(p_item_key)
  || internal.enc_int4(p_version)
  || internal.enc_uuid(p_previous_record_id)
  || internal.enc_jsonb(p_content)
  || internal.enc_ts(p_created_at)
  || internal.enc_uuid(p_created_by)
  || internal.enc_text(p_change_reason)
  || internal.enc_uuid(p_change_request_id)
  || internal.enc_bytea(p_previous_record_hash));

grant execute on function internal.lifecycle_transition_allowed(core.lifecycle_state, core.lifecycle_state),
  internal.controlled_record_hash(text, uuid, uuid, uuid, uuid, core.domain, text, integer, uuid, jsonb,
    timestamptz, uuid, text, uuid, bytea)
  to axiom_definer, axiom_verifier;

-- ---------------------------------------------------------------------------------------------
-- core.records: every version of every controlled record, partitioned by kind (one partition per
-- controlled table: core.policies, core.check_configurations, ...). One table means static SQL with
-- cached plans everywhere (no dynamic SQL on the write path), one verification query, one set of
-- triggers; each kind still has its own physical table, indexes and statistics.
-- ---------------------------------------------------------------------------------------------
create table core.records (
  kind text not null,
  record_id uuid not null default gen_random_uuid(),
  id uuid not null,
  organization_id uuid not null references core.organizations (id),
  facility_id uuid,
  domain core.domain not null,
  item_key text not null check (item_key ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$'),
  version integer not null check (version >= 1),
  previous_record_id uuid,
  previous_record_hash bytea check (length(previous_record_hash) = 32),
  record_hash bytea not null check (length(record_hash) = 32),
  content jsonb not null check (jsonb_typeof(content) = 'object' and pg_column_size(content) <= 262144),
  created_at timestamptz not null,
  created_by uuid not null,
  change_reason text not null check (length(btrim(change_reason)) between 3 and 2000),
  change_request_id uuid,
  -- Lifecycle columns: the only ones that change.
  lifecycle_state core.lifecycle_state not null,
  lifecycle_changed_at timestamptz not null,
  lifecycle_changed_by uuid not null,
  primary key (kind, record_id),
  unique (kind, organization_id, id, version),
  -- A version has at most one successor: the chain cannot fork.
  unique (kind, previous_record_id),
  foreign key (kind, previous_record_id) references core.records (kind, record_id),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id),
  foreign key (organization_id, created_by) references core.principals (organization_id, id),
  check ((version = 1) = (previous_record_id is null)),
  check ((previous_record_id is null) = (previous_record_hash is null))
) partition by list (kind);
comment on table core.records is
  'Controlled records (SCD Type 2): one row per version, hash-chained per item. Partitioned by kind.';

-- One item per (organization, facility, key); at most one open and one effective version per item.
create unique index records_one_item_per_key on core.records (kind, organization_id, facility_id, item_key)
  nulls not distinct where version = 1;
create unique index records_one_open_version on core.records (kind, organization_id, id)
  where lifecycle_state in ('draft', 'in_review', 'approved');
create unique index records_one_effective_version on core.records (kind, organization_id, id)
  where lifecycle_state = 'effective';
create index records_by_facility on core.records (kind, organization_id, facility_id, lifecycle_state);
create index records_by_item on core.records (organization_id, id, version);

alter table core.records enable row level security;
alter table core.records force row level security;
create policy tenant on core.records
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

grant select on core.records to axiom_definer, axiom_reporting, axiom_verifier;
grant insert (kind, record_id, id, organization_id, facility_id, domain, item_key, content, created_by,
  change_reason, change_request_id, lifecycle_state) on core.records to axiom_definer;
-- UPDATE names the lifecycle columns only (the data columns have no UPDATE privilege at all);
-- version, previous_record_id, previous_record_hash, record_hash and created_at are set by the trigger.
grant update (lifecycle_state, lifecycle_changed_at, lifecycle_changed_by) on core.records to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------------------------
-- BEFORE INSERT: place the new version at the head of its item's chain and hash it. The caller's
-- version/previous values are ignored: the chain is computed here. Two concurrent writers of the same
-- item both compute version n+1; the unique (kind, organization_id, id, version) and unique
-- (kind, previous_record_id) constraints let one commit and give the other a conflict.
create function internal.tg_records__chain()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_reg internal.controlled_tables;
  v_head record;
begin
  if pg_catalog.current_setting('client_encoding') <> 'UTF8' then
    raise exception 'hashes are computed with client_encoding UTF8 (the api functions pin it)';
  end if;
  select * into v_reg from internal.controlled_tables c where c.kind = new.kind;
  if v_reg.fixed_domain is not null and new.domain is distinct from v_reg.fixed_domain then
    perform internal.raise('AX422', pg_catalog.format('%s records belong to the %s domain', v_reg.kind, v_reg.fixed_domain),
      'wrong_domain');
  end if;

  select r.record_id, r.record_hash, r.version, r.item_key, r.facility_id, r.domain into v_head
    from core.records r
   where r.kind = new.kind and r.organization_id = new.organization_id and r.id = new.id
   order by r.version desc
   limit 1;

  if v_head.record_id is null then
    new.version := 1;
    new.previous_record_id := null;
    new.previous_record_hash := null;
  else
    if v_head.item_key <> new.item_key or v_head.facility_id is distinct from new.facility_id
       or v_head.domain <> new.domain then
      perform internal.raise('AX422', 'a new version keeps the item''s key, facility and domain', 'item_identity_changed');
    end if;
    new.version := v_head.version + 1;
    new.previous_record_id := v_head.record_id;
    new.previous_record_hash := v_head.record_hash;
  end if;

  -- Initial state: drafts everywhere; directly effective only outside change management, or for the
  -- first version of a facility's defaults written by internal.seed_facility_defaults.
  if new.lifecycle_state not in ('draft', 'effective') then
    perform internal.raise('AX422', 'a new version starts as draft or effective', 'invalid_initial_state');
  end if;
  if new.lifecycle_state = 'effective' and v_reg.requires_change_management
     and not (new.version = 1 and pg_catalog.current_setting('axiom.seeding_defaults', true) = 'on') then
    perform internal.raise('AX422', pg_catalog.format('%s changes go through change management', v_reg.kind),
      'change_management_required');
  end if;

  new.created_at := pg_catalog.now();
  new.lifecycle_changed_at := new.created_at;
  new.lifecycle_changed_by := new.created_by;

  if new.lifecycle_state = 'effective' and v_head.record_id is not null then
    update core.records r set lifecycle_state = 'superseded', lifecycle_changed_by = new.created_by
     where r.kind = new.kind and r.organization_id = new.organization_id and r.id = new.id
       and r.lifecycle_state = 'effective';
  end if;

  new.record_hash := internal.controlled_record_hash(
    v_reg.table_name, new.record_id, new.id, new.organization_id, new.facility_id, new.domain,
    new.item_key, new.version, new.previous_record_id, new.content, new.created_at, new.created_by,
    new.change_reason, new.change_request_id, new.previous_record_hash);
  return new;
end
$$;

-- AFTER INSERT: the organization's audit chain records every version's hash, with the sealed
-- before/after content.
create function internal.tg_records__audit_insert()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_before jsonb;
begin
  if new.previous_record_id is not null then
    select r.content into v_before from core.records r where r.kind = new.kind and r.record_id = new.previous_record_id;
  end if;
  perform internal.append_audit_event(
    new.organization_id, 'record.version_created',
    (select i.session_id from internal.session_identity() i), new.created_by,
    new.domain, new.facility_id, (select c.table_name from internal.controlled_tables c where c.kind = new.kind),
    new.id, new.record_id, new.record_hash,
    case when new.change_request_id is null then null else array[new.change_request_id] end,
    new.change_reason,
    pg_catalog.jsonb_build_object('version', new.version, 'item_key', new.item_key,
      'lifecycle_state', new.lifecycle_state),
    pg_catalog.jsonb_build_object('before', v_before, 'after', new.content));
  return null;
end
$$;

-- BEFORE UPDATE: only the lifecycle columns change, and only along a legal transition.
create function internal.tg_records__lifecycle()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if (new.kind, new.record_id, new.id, new.organization_id, new.facility_id, new.domain, new.item_key, new.version,
      new.previous_record_id, new.previous_record_hash, new.record_hash, new.content, new.created_at, new.created_by,
      new.change_reason, new.change_request_id)
     is distinct from
     (old.kind, old.record_id, old.id, old.organization_id, old.facility_id, old.domain, old.item_key, old.version,
      old.previous_record_id, old.previous_record_hash, old.record_hash, old.content, old.created_at, old.created_by,
      old.change_reason, old.change_request_id) then
    perform internal.raise('AX403', 'the data of a controlled record never changes; write a new version',
      'immutable_columns');
  end if;
  if not internal.lifecycle_transition_allowed(old.lifecycle_state, new.lifecycle_state) then
    perform internal.raise('AX409',
      pg_catalog.format('a %s version cannot become %s', old.lifecycle_state, new.lifecycle_state),
      'illegal_transition');
  end if;
  if new.lifecycle_changed_by is null then
    perform internal.raise('AX400', 'a lifecycle change names who made it', 'missing_actor');
  end if;
  new.lifecycle_changed_at := pg_catalog.now();
  return new;
end
$$;

create function internal.tg_records__audit_update()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.append_audit_event(
    new.organization_id, 'record.lifecycle_changed',
    (select i.session_id from internal.session_identity() i), new.lifecycle_changed_by,
    new.domain, new.facility_id, (select c.table_name from internal.controlled_tables c where c.kind = new.kind),
    new.id, new.record_id, new.record_hash,
    case when new.change_request_id is null then null else array[new.change_request_id] end,
    nullif(pg_catalog.current_setting('axiom.reason', true), ''),
    pg_catalog.jsonb_build_object('from', old.lifecycle_state, 'to', new.lifecycle_state, 'version', new.version));
  return null;
end
$$;

create trigger _100_chain before insert on core.records
  for each row execute function internal.tg_records__chain();
create trigger _100_lifecycle before update on core.records
  for each row execute function internal.tg_records__lifecycle();
create trigger _800_audit_insert after insert on core.records
  for each row execute function internal.tg_records__audit_insert();
create trigger _800_audit_update after update on core.records
  for each row execute function internal.tg_records__audit_update();
create trigger _900_no_delete before delete on core.records
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.records
  for each statement execute function internal.tg__no_delete();

-- ---------------------------------------------------------------------------------------------
-- A new kind of controlled record: its partition (with RLS forced, for direct readers) and its row in
-- the registry. Later migrations call this for connections, findings and plans.
-- ---------------------------------------------------------------------------------------------
create procedure internal.add_record_kind(
  p_kind text,
  p_table text,
  p_requires_change_management boolean,
  p_fixed_domain core.domain,
  p_comment text
)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_schema text := split_part(p_table, '.', 1);
  v_name text := split_part(p_table, '.', 2);
begin
  insert into internal.controlled_tables (kind, table_name, requires_change_management, fixed_domain)
  values (p_kind, p_table, p_requires_change_management, p_fixed_domain);
  execute format('create table %I.%I partition of core.records for values in (%L)', v_schema, v_name, p_kind);
  execute format('comment on table %I.%I is %L', v_schema, v_name, p_comment);
  execute format('alter table %I.%I enable row level security', v_schema, v_name);
  execute format('alter table %I.%I force row level security', v_schema, v_name);
  execute format($p$create policy tenant on %I.%I
    using (organization_id = (select internal.current_org_id()))
    with check (organization_id = (select internal.current_org_id()))$p$, v_schema, v_name);
  -- Truncating a partition directly does not fire the parent's statement trigger.
  execute format('create trigger _901_no_truncate before truncate on %I.%I for each statement execute function internal.tg__no_delete()',
    v_schema, v_name);
end
$$;

call internal.add_record_kind('policy', 'core.policies', true, 'configuration',
  'Policies per organization or facility: blast-radius limits, approval rules, tag and configuration baselines, signing policies.');
call internal.add_record_kind('check_configuration', 'core.check_configurations', true, 'configuration',
  'Check configurations (the "test methods"): which checks run and with which thresholds.');
call internal.add_record_kind('facility_configuration', 'core.facility_configurations', true, 'configuration',
  'Facility configuration: autonomy tier, blast-radius cap, approval expiry, regions.');

-- ---------------------------------------------------------------------------------------------
-- Change requests: authored -> submitted (in review) -> approved or rejected; or withdrawn.
-- ---------------------------------------------------------------------------------------------
create table core.change_requests (
  id uuid primary key,
  organization_id uuid not null references core.organizations (id),
  facility_id uuid,
  domain core.domain not null,
  target_kind text not null, -- a kind of internal.controlled_tables (checked by the functions)
  target_item_id uuid not null,
  proposed_record_id uuid not null,
  proposed_record_hash bytea not null check (length(proposed_record_hash) = 32),
  title text not null check (length(btrim(title)) between 3 and 200),
  reason text not null check (length(btrim(reason)) between 3 and 2000),
  author_id uuid not null,
  required_approvals integer not null default 1 check (required_approvals between 1 and 5),
  created_at timestamptz not null default now(),
  -- Lifecycle columns.
  state text not null default 'draft' check (state in ('draft', 'in_review', 'approved', 'rejected', 'withdrawn')),
  submitted_at timestamptz,
  decided_at timestamptz,
  unique (organization_id, id),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id),
  foreign key (organization_id, author_id) references core.principals (organization_id, id)
);
comment on table core.change_requests is 'Change management for controlled records (seed: "Change management").';
create index change_requests_by_state on core.change_requests (organization_id, state);

-- Decisions on a change request. Append-only. A decision binds the record hash the decider saw;
-- "approved" and "rejected" become e-signatures in the identity issue (signature_id).
create table core.change_request_decisions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  change_request_id uuid not null,
  principal_id uuid not null,
  decision text not null check (decision in ('reviewed', 'approved', 'rejected')),
  record_hash bytea not null check (length(record_hash) = 32),
  comment text check (length(comment) <= 2000),
  signature_id uuid,
  created_at timestamptz not null default now(),
  foreign key (organization_id, change_request_id) references core.change_requests (organization_id, id),
  foreign key (organization_id, principal_id) references core.principals (organization_id, id),
  unique (change_request_id, principal_id, decision)
);

-- The author never decides on their own change; the agent never decides at all (invariant 10).
create function internal.tg_change_request_decisions__rules()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_cr core.change_requests;
begin
  select * into v_cr from core.change_requests where id = new.change_request_id;
  if v_cr.author_id = new.principal_id then
    perform internal.raise('AX403', 'the author of a change cannot review, approve or reject it', 'self_approval');
  end if;
  if exists (select 1 from core.principals p where p.id = new.principal_id and (p.is_agent or p.disabled_at is not null)) then
    perform internal.raise('AX403', 'the agent and disabled principals cannot decide on changes', 'decider_not_allowed');
  end if;
  if new.record_hash <> v_cr.proposed_record_hash then
    perform internal.raise('AX409', 'the change was modified after you looked at it', 'record_changed');
  end if;
  return new;
end
$$;

create function internal.tg_change_requests__lifecycle()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if (pg_catalog.to_jsonb(new) - array['state', 'submitted_at', 'decided_at'])
     is distinct from (pg_catalog.to_jsonb(old) - array['state', 'submitted_at', 'decided_at']) then
    perform internal.raise('AX403', 'a change request cannot be edited; withdraw it and propose again', 'immutable_columns');
  end if;
  if (old.state, new.state) not in (('draft', 'in_review'), ('draft', 'withdrawn'), ('in_review', 'approved'),
      ('in_review', 'rejected'), ('in_review', 'withdrawn')) then
    perform internal.raise('AX409', pg_catalog.format('a change request in state %s cannot become %s', old.state, new.state),
      'illegal_transition');
  end if;
  return new;
end
$$;

create trigger _100_rules before insert on core.change_request_decisions
  for each row execute function internal.tg_change_request_decisions__rules();
create trigger _900_append_only before update or delete on core.change_request_decisions
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on core.change_request_decisions
  for each statement execute function internal.tg__append_only();
create trigger _100_lifecycle before update on core.change_requests
  for each row execute function internal.tg_change_requests__lifecycle();
create trigger _900_no_delete before delete on core.change_requests
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.change_requests
  for each statement execute function internal.tg__no_delete();

alter table core.change_requests enable row level security;
alter table core.change_requests force row level security;
create policy tenant on core.change_requests
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));
alter table core.change_request_decisions enable row level security;
alter table core.change_request_decisions force row level security;
create policy tenant on core.change_request_decisions
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

grant select on core.change_requests, core.change_request_decisions to axiom_definer, axiom_reporting;
grant insert (id, organization_id, facility_id, domain, target_kind, target_item_id, proposed_record_id,
  proposed_record_hash, title, reason, author_id, required_approvals) on core.change_requests to axiom_definer;
grant update (state, submitted_at, decided_at) on core.change_requests to axiom_definer;
grant insert (organization_id, change_request_id, principal_id, decision, record_hash, comment, signature_id)
  on core.change_request_decisions to axiom_definer;

-- The e-signature plug: every approve/reject calls this before recording the decision. Until the
-- identity issue lands it returns NULL (no signature is required); the identity migration replaces
-- it with one that checks the re-authentication challenge and returns the signature's id.
create function internal.sign_decision(
  p_caller internal.caller,
  p_change_request core.change_requests,
  p_meaning text,
  p_signature jsonb
)
returns uuid
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  return null;
end
$$;

grant execute on function internal.sign_decision(internal.caller, core.change_requests, text, jsonb) to axiom_definer;
