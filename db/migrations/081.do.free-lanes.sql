-- 081: lanes — appenders of one organization no longer queue behind each other's commits.
--
-- A transaction used to append to lane pg_backend_pid() % 16 and wait for that lane's lock, held until
-- commit (fsync included). With 8 connections of one organization, two of them share a lane more
-- often than not (the birthday problem: 8 draws from 16 collide 88% of the time) and then commit one
-- after the other. Now a transaction takes the first free lane, starting at its own; it waits only
-- when all 16 lanes of the chain are taken. Same chains, same hashes, same verification: a lane is
-- still appended to by one transaction at a time, in seq order.

-- Takes the transaction-scoped lock of the first free lane of (p_chain, p_org), starting at this
-- connection's own lane, and returns the lane. A lane this transaction already holds counts as free
-- (advisory locks are re-entrant), so a transaction that holds a lane never waits for that chain again.
-- Only when all 16 lanes are taken does it wait, for its own lane, as before. The lock key is the one
-- internal.chain_lock uses.
create function internal.chain_acquire_lane(p_chain text, p_org uuid)
returns smallint
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_own integer := pg_catalog.pg_backend_pid() % 16;
  v_prefix text := p_chain || ':' || p_org::text || ':';
  v_lane integer;
begin
  for i in 0..15 loop
    v_lane := (v_own + i) % 16;
    if pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(v_prefix || v_lane, 0)) then
      return v_lane::smallint;
    end if;
  end loop;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(v_prefix || v_own, 0));
  return v_own::smallint;
end
$$;
grant execute on function internal.chain_acquire_lane(text, uuid) to axiom_definer;

create or replace function internal.append_audit_event(
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
  v_sealed record;
begin
  if pg_catalog.current_setting('client_encoding') <> 'UTF8' then
    raise exception 'hashes are computed with client_encoding UTF8 (the api functions pin it)';
  end if;
  if not exists (select 1 from internal.event_types t where t.event_type = p_event_type) then
    perform internal.raise('AX400', pg_catalog.format('unknown audit event type %s', p_event_type), 'unknown_event_type');
  end if;
  v.lane := internal.chain_acquire_lane('audit', p_org);
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
    -- A plain call, not a function scan: no tuplestore for one row.
    v_sealed := internal.seal_state(p_org, p_state);
    v.state_ciphertext := v_sealed.ciphertext;
    v.key_id := v_sealed.key_id;
  end if;
  v.previous_hash := v_prev.hash;
  v.hash := internal.audit_event_hash(v.organization_id, v.lane, v.seq, v.id, v.occurred_at, v.session_id, v.actor_id,
    v.event_type, v.domain, v.facility_id, v.target_table, v.target_id, v.target_record_id, v.target_record_hash,
    v.related_ids, v.reason, v.details, v.state_ciphertext, v.key_id, v.previous_hash);

  insert into audit.audit_events values (v.*);
  return v.seq;
end
$$;

create or replace function internal.append_session_event(
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
  v.lane := internal.chain_acquire_lane('session', p_org);
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
