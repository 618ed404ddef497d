-- 003: the append-only, hash-chained audit trail (DESIGN.md invariants 6 and 8).
--
-- Two trails per organization:
--   audit.session_events  one row per authenticated call: who, session, what, target, outcome, when, from where.
--   audit.audit_events    one row per state change: before/after state (sealed with the organization's
--                         public key), rollback strategy for executions, and every version's hash.
-- Each trail of an organization is 16 hash chains ("lanes"). A row's hash = sha256(canonical encoding v1
-- of its fields, including the previous row's hash in its lane); seq is gapless per (organization, lane).
-- Appends to one lane are serialized with a transaction-scoped advisory lock held until commit; a
-- transaction appends to lane pg_backend_pid() % 16, so concurrent connections of one organization
-- rarely wait for each other (one chain per organization would cap it at one commit - one fsync - at a
-- time). Signed checkpoints (docs/hashing.md) commit to every lane's head. Both tables are partitioned
-- by organization.

-- ---------------------------------------------------------------------------------------------
-- Event types: the closed list of what can be recorded, with compliance references (issue 8 extends).
-- ---------------------------------------------------------------------------------------------
create table internal.event_types (
  event_type text primary key check (event_type ~ '^[a-z_]+(\.[a-z_]+)+$'),
  description text not null,
  soc2 text[] not null default '{}',
  iso27001 text[] not null default '{}',
  part11 text[] not null default '{}'
);
comment on table internal.event_types is
  'Every audit event type, with its SOC 2 Common Criteria, ISO 27001 Annex A and 21 CFR Part 11 references.';
grant select on internal.event_types to axiom_definer, axiom_reporting, axiom_verifier;

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('organization.bootstrapped', 'An organization, its first administrator and its agent were created', '{CC6.2,CC8.1}', '{A.5.15,A.5.16}', '{11.10(d)}'),
  ('organization.key_created', 'An organization key pair was registered', '{CC6.1}', '{A.8.24}', '{}'),
  ('facility.created', 'A facility was created', '{CC8.1}', '{A.8.9}', '{11.10(k)}'),
  ('principal.created', 'A user or service principal was created', '{CC6.2}', '{A.5.16}', '{11.100(a)}'),
  ('principal.disabled', 'A principal was disabled', '{CC6.2}', '{A.5.18}', '{11.100(a)}'),
  ('session.created', 'A session or API token was issued', '{CC6.1}', '{A.8.5}', '{11.10(d)}'),
  ('session.revoked', 'A session or API token was revoked', '{CC6.1,CC6.2}', '{A.8.5}', '{11.10(d)}'),
  ('auth.login_failed', 'A sign-in attempt failed', '{CC6.1,CC7.2}', '{A.8.5,A.8.15}', '{11.300(d)}'),
  ('grant.created', 'A grant was created', '{CC6.2,CC6.3}', '{A.5.15,A.5.18}', '{11.10(g)}'),
  ('grant.revoked', 'A grant was revoked', '{CC6.2,CC6.3}', '{A.5.18}', '{11.10(g)}'),
  ('delegation.created', 'A grant was delegated (horizontal or vertical)', '{CC6.2,CC6.3}', '{A.5.18}', '{11.10(g)}'),
  ('delegation.revoked', 'A delegation was revoked', '{CC6.2,CC6.3}', '{A.5.18}', '{11.10(g)}'),
  ('authz.denied', 'A function refused a call because the caller lacked a grant or broke a rule', '{CC6.1,CC7.2}', '{A.8.2,A.8.15}', '{11.10(g)}'),
  ('record.version_created', 'A new version of a controlled record was written', '{PI1.1,CC6.1}', '{A.8.15}', '{11.10(e)}'),
  ('record.lifecycle_changed', 'A controlled record version changed lifecycle state', '{PI1.1,CC8.1}', '{A.8.32}', '{11.10(e),11.10(f)}'),
  ('change_request.created', 'A change request was authored', '{CC8.1}', '{A.8.32}', '{11.10(f),11.10(k)}'),
  ('change_request.submitted', 'A change request was submitted for review', '{CC8.1}', '{A.8.32}', '{11.10(f)}'),
  ('change_request.reviewed', 'A change request was reviewed', '{CC8.1}', '{A.8.32}', '{11.10(f)}'),
  ('change_request.approved', 'A change request was approved', '{CC8.1}', '{A.8.32}', '{11.10(f),11.50}'),
  ('change_request.rejected', 'A change request was rejected', '{CC8.1}', '{A.8.32}', '{11.10(f),11.50}'),
  ('change_request.withdrawn', 'A change request was withdrawn by its author', '{CC8.1}', '{A.8.32}', '{11.10(f)}'),
  ('chain.verified', 'The chains of an organization were verified', '{CC7.1,CC7.2}', '{A.8.15,A.8.16}', '{11.10(a)}');

-- ---------------------------------------------------------------------------------------------
-- The tables
-- ---------------------------------------------------------------------------------------------
create table audit.session_events (
  organization_id uuid not null,
  lane smallint not null check (lane between 0 and 15),
  seq bigint not null check (seq >= 1),
  id uuid not null default gen_random_uuid(),
  occurred_at timestamptz not null,
  session_id uuid,
  principal_id uuid,
  operation text not null check (length(operation) between 1 and 100),
  target_type text check (length(target_type) <= 100),
  target_id uuid,
  outcome text not null check (outcome in ('ok', 'denied', 'error')),
  error_code text check (length(error_code) <= 100),
  client_ip inet,
  request_id text check (length(request_id) <= 100),
  previous_hash bytea check (length(previous_hash) = 32),
  hash bytea not null check (length(hash) = 32),
  primary key (organization_id, lane, seq),
  check ((seq = 1) = (previous_hash is null))
) partition by hash (organization_id);
comment on table audit.session_events is 'One row per authenticated call. Append-only, hash-chained per organization.';

create table audit.audit_events (
  organization_id uuid not null,
  lane smallint not null check (lane between 0 and 15),
  seq bigint not null check (seq >= 1),
  id uuid not null default gen_random_uuid(),
  occurred_at timestamptz not null,
  session_id uuid,
  actor_id uuid,
  -- Checked against internal.event_types by the append function (a foreign key would take a KEY SHARE
  -- row lock on the event type for every append and serialize appenders on it).
  event_type text not null,
  domain core.domain,
  facility_id uuid,
  target_table text check (length(target_table) <= 100),
  target_id uuid,
  target_record_id uuid,
  target_record_hash bytea check (length(target_record_hash) = 32),
  related_ids uuid[] check (cardinality(related_ids) <= 100 and array_position(related_ids, null) is null),
  reason text check (length(reason) <= 2000),
  details jsonb not null default '{}' check (pg_column_size(details) <= 16384),
  -- {before, after, rollback} sealed with the organization's public key (OpenPGP, pgcrypto).
  state_ciphertext bytea check (length(state_ciphertext) <= 1048576),
  key_id uuid,
  previous_hash bytea check (length(previous_hash) = 32),
  hash bytea not null check (length(hash) = 32),
  primary key (organization_id, lane, seq),
  check ((seq = 1) = (previous_hash is null)),
  check ((state_ciphertext is null) = (key_id is null))
) partition by hash (organization_id);
comment on table audit.audit_events is
  'One row per state change (AxiomAuditEvent). Append-only, hash-chained per organization; before/after sealed.';

-- Eight hash partitions each; a partition is an ordinary table, so each gets its own TRUNCATE trigger
-- (truncating a partition directly does not fire the parent's statement triggers).
do $partitions$
declare
  v_table text;
  v_i integer;
  v_part text;
begin
  foreach v_table in array array['session_events', 'audit_events'] loop
    for v_i in 0..7 loop
      v_part := pg_catalog.format('%s_p%s', v_table, v_i);
      execute pg_catalog.format(
        'create table audit.%I partition of audit.%I for values with (modulus 8, remainder %s)',
        v_part, v_table, v_i);
      execute pg_catalog.format(
        'create trigger _900_append_only_truncate before truncate on audit.%I
           for each statement execute function internal.tg__append_only()', v_part);
      -- A partition queried directly uses its own RLS settings, not its parent's.
      execute pg_catalog.format('alter table audit.%I enable row level security', v_part);
      execute pg_catalog.format('alter table audit.%I force row level security', v_part);
      execute pg_catalog.format(
        'create policy tenant on audit.%I
           using (organization_id = (select internal.current_org_id()))
           with check (organization_id = (select internal.current_org_id()))', v_part);
    end loop;
    execute pg_catalog.format(
      'create trigger _900_append_only before update or delete on audit.%I
         for each row execute function internal.tg__append_only()', v_table);
    execute pg_catalog.format(
      'create trigger _901_append_only_truncate before truncate on audit.%I
         for each statement execute function internal.tg__append_only()', v_table);
  end loop;
end
$partitions$;

create index audit_events_target on audit.audit_events (organization_id, target_id);
create index audit_events_time on audit.audit_events (organization_id, occurred_at);
create index session_events_time on audit.session_events (organization_id, occurred_at);
create index audit_events_record on audit.audit_events (organization_id, target_record_id)
  where target_record_id is not null;

alter table audit.session_events enable row level security;
alter table audit.session_events force row level security;
create policy tenant on audit.session_events
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

alter table audit.audit_events enable row level security;
alter table audit.audit_events force row level security;
create policy tenant on audit.audit_events
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

-- INSERT and SELECT only: no UPDATE, DELETE or TRUNCATE for any runtime role (the triggers are the
-- second line; disabling them needs the table owner).
grant select, insert on audit.session_events, audit.audit_events to axiom_definer;
grant select on audit.session_events, audit.audit_events to axiom_reporting, axiom_verifier;

-- ---------------------------------------------------------------------------------------------
-- Hashes (format v1; docs/hashing.md)
-- ---------------------------------------------------------------------------------------------
-- One parameter per hashed column, each used once, so the planner inlines the whole expression into
-- the verification query (a whole-row argument would not be inlined).
create function internal.session_event_hash(
  p_organization_id uuid, p_lane smallint, p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_session_id uuid,
  p_principal_id uuid,
  p_operation text, p_target_type text, p_target_id uuid, p_outcome text, p_error_code text, p_client_ip inet,
  p_request_id text, p_previous_hash bytea
)
returns bytea
language sql stable parallel safe
return pg_catalog.sha256(
  internal.enc_header('audit.session_events')
  || internal.enc_uuid(p_organization_id)
  || internal.enc_int4(p_lane)
  || internal.enc_int8(p_seq)
  || internal.enc_uuid(p_id)
  || internal.enc_ts(p_occurred_at)
  || internal.enc_uuid(p_session_id)
  || internal.enc_uuid(p_principal_id)
  || internal.enc_text(p_operation)
  || internal.enc_text(p_target_type)
  || internal.enc_uuid(p_target_id)
  || internal.enc_text(p_outcome)
  || internal.enc_text(p_error_code)
  || internal.enc_text(p_client_ip::text)
  || internal.enc_text(p_request_id)
  || internal.enc_bytea(p_previous_hash));

create function internal.audit_event_hash(
  p_organization_id uuid, p_lane smallint, p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_session_id uuid,
  p_actor_id uuid,
  p_event_type text, p_domain core.domain, p_facility_id uuid, p_target_table text, p_target_id uuid,
  p_target_record_id uuid, p_target_record_hash bytea, p_related_ids uuid[], p_reason text, p_details jsonb,
  p_state_ciphertext bytea, p_key_id uuid, p_previous_hash bytea
)
returns bytea
language sql stable parallel safe
return pg_catalog.sha256(
  internal.enc_header('audit.audit_events')
  || internal.enc_uuid(p_organization_id)
  || internal.enc_int4(p_lane)
  || internal.enc_int8(p_seq)
  || internal.enc_uuid(p_id)
  || internal.enc_ts(p_occurred_at)
  || internal.enc_uuid(p_session_id)
  || internal.enc_uuid(p_actor_id)
  || internal.enc_text(p_event_type)
  || internal.enc_text(p_domain::text)
  || internal.enc_uuid(p_facility_id)
  || internal.enc_text(p_target_table)
  || internal.enc_uuid(p_target_id)
  || internal.enc_uuid(p_target_record_id)
  || internal.enc_bytea(p_target_record_hash)
  || internal.enc_uuid_array(p_related_ids)
  || internal.enc_text(p_reason)
  || internal.enc_jsonb(p_details)
  || internal.enc_bytea(p_state_ciphertext)
  || internal.enc_uuid(p_key_id)
  || internal.enc_bytea(p_previous_hash));

grant execute on function
  internal.session_event_hash(uuid, smallint, bigint, uuid, timestamptz, uuid, uuid, text, text, uuid, text, text, inet,
    text, bytea),
  internal.audit_event_hash(uuid, smallint, bigint, uuid, timestamptz, uuid, uuid, text, core.domain, uuid, text, uuid,
    uuid, bytea, uuid[], text, jsonb, bytea, uuid, bytea)
  to axiom_definer, axiom_verifier;

-- ---------------------------------------------------------------------------------------------
-- Appending. The lock key is derived from (chain, organization); both chains of one organization can
-- be appended concurrently by different transactions, but one chain has one writer at a time.
-- Callers always take the audit lock before the session lock, so two calls never deadlock.
-- ---------------------------------------------------------------------------------------------
-- This connection's lane.
create function internal.chain_lane()
returns smallint
language sql stable
return (pg_catalog.pg_backend_pid() % 16)::smallint;

create function internal.chain_lock(p_chain text, p_org uuid, p_lane smallint)
returns void
language sql volatile
return pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_chain || ':' || p_org::text || ':' || p_lane, 0));

-- Seal {before, after, rollback} with the organization's active public key. Returns NULL when there
-- is nothing to seal.
create function internal.seal_state(p_org uuid, p_state jsonb, out ciphertext bytea, out key_id uuid)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_key core.organization_keys;
begin
  if p_state is null or p_state = '{}'::jsonb then
    return;
  end if;
  select * into v_key from core.organization_keys k
   where k.organization_id = p_org and k.retired_at is null;
  if not found then
    perform internal.raise('AX409', 'the organization has no active key to seal audit states with', 'no_org_key');
  end if;
  ciphertext := ext.pgp_pub_encrypt_bytea(
    pg_catalog.convert_to(p_state::text, 'UTF8'), v_key.public_key, 'cipher-algo=aes256, compress-algo=0');
  key_id := v_key.id;
end
$$;

create function internal.append_audit_event(
  p_org uuid,
  p_event_type text,
  p_session_id uuid,
  p_actor_id uuid,
  p_domain core.domain default null,
  p_facility_id uuid default null,
  p_target_table text default null,
  p_target_id uuid default null,
  p_target_record_id uuid default null,
  p_target_record_hash bytea default null,
  p_related_ids uuid[] default null,
  p_reason text default null,
  p_details jsonb default '{}',
  p_state jsonb default null
)
returns bigint
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v audit.audit_events;
  v_prev record;
begin
  if pg_catalog.current_setting('client_encoding') <> 'UTF8' then
    raise exception 'hashes are computed with client_encoding UTF8 (the api functions pin it)';
  end if;
  if not exists (select 1 from internal.event_types t where t.event_type = p_event_type) then
    perform internal.raise('AX400', pg_catalog.format('unknown audit event type %s', p_event_type), 'unknown_event_type');
  end if;
  v.lane := internal.chain_lane();
  perform internal.chain_lock('audit', p_org, v.lane);
  select e.seq, e.hash into v_prev
    from audit.audit_events e
   where e.organization_id = p_org and e.lane = v.lane
   order by e.seq desc
   limit 1;

  v.organization_id := p_org;
  v.seq := coalesce(v_prev.seq, 0) + 1;
  v.id := gen_random_uuid();
  v.occurred_at := clock_timestamp();
  v.session_id := p_session_id;
  v.actor_id := p_actor_id;
  v.event_type := p_event_type;
  v.domain := p_domain;
  v.facility_id := p_facility_id;
  v.target_table := p_target_table;
  v.target_id := p_target_id;
  v.target_record_id := p_target_record_id;
  v.target_record_hash := p_target_record_hash;
  v.related_ids := p_related_ids;
  v.reason := p_reason;
  v.details := coalesce(p_details, '{}'::jsonb);
  if p_state is not null then
    select s.ciphertext, s.key_id into v.state_ciphertext, v.key_id from internal.seal_state(p_org, p_state) s;
  end if;
  v.previous_hash := v_prev.hash;
  v.hash := internal.audit_event_hash(v.organization_id, v.lane, v.seq, v.id, v.occurred_at, v.session_id, v.actor_id,
    v.event_type, v.domain, v.facility_id, v.target_table, v.target_id, v.target_record_id, v.target_record_hash,
    v.related_ids, v.reason, v.details, v.state_ciphertext, v.key_id, v.previous_hash);

  insert into audit.audit_events values (v.*);
  return v.seq;
end
$$;

create function internal.append_session_event(
  p_org uuid,
  p_session_id uuid,
  p_principal_id uuid,
  p_operation text,
  p_outcome text,
  p_target_type text default null,
  p_target_id uuid default null,
  p_error_code text default null,
  p_client_ip inet default null,
  p_request_id text default null
)
returns bigint
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v audit.session_events;
  v_prev record;
begin
  if pg_catalog.current_setting('client_encoding') <> 'UTF8' then
    raise exception 'hashes are computed with client_encoding UTF8 (the api functions pin it)';
  end if;
  v.lane := internal.chain_lane();
  perform internal.chain_lock('session', p_org, v.lane);
  select e.seq, e.hash into v_prev
    from audit.session_events e
   where e.organization_id = p_org and e.lane = v.lane
   order by e.seq desc
   limit 1;

  v.organization_id := p_org;
  v.seq := coalesce(v_prev.seq, 0) + 1;
  v.id := gen_random_uuid();
  v.occurred_at := clock_timestamp();
  v.session_id := p_session_id;
  v.principal_id := p_principal_id;
  v.operation := p_operation;
  v.target_type := p_target_type;
  v.target_id := p_target_id;
  v.outcome := p_outcome;
  v.error_code := p_error_code;
  v.client_ip := p_client_ip;
  v.request_id := p_request_id;
  v.previous_hash := v_prev.hash;
  v.hash := internal.session_event_hash(v.organization_id, v.lane, v.seq, v.id, v.occurred_at, v.session_id, v.principal_id,
    v.operation, v.target_type, v.target_id, v.outcome, v.error_code, v.client_ip, v.request_id, v.previous_hash);

  insert into audit.session_events values (v.*);
  return v.seq;
end
$$;

grant execute on function internal.chain_lane(), internal.chain_lock(text, uuid, smallint),
  internal.seal_state(uuid, jsonb),
  internal.append_audit_event(uuid, text, uuid, uuid, core.domain, uuid, text, uuid, uuid, bytea, uuid[], text, jsonb, jsonb),
  internal.append_session_event(uuid, uuid, uuid, text, text, text, uuid, text, inet, text)
  to axiom_definer;
