-- 085: chain verification in SQL — the same checks and answers, less work per row (issue 2 benchmark:
-- at least 500,000 records/s).
--
-- 1. The row hash functions build the same bytes (docs/hashing.md; test/security/canonical) with far
--    fewer operations. Every field of encoding v1 is "int4 length, then the bytes of its send format;
--    NULL is length -1", which is exactly how array_send writes each element of a bytea[]: so the fields
--    are the elements of one array of their send forms (uuid_send, int4send, textsend, ...), and the
--    encoding is that array's send form without its 20-byte header (ndim, has-nulls flag, element type,
--    length, lower bound). About 60 concatenations and encoder calls per row become one array_send —
--    cheaper per verified row, and cheaper to set up in each transaction that writes (PL/pgSQL compiles
--    an expression, and checks EXECUTE on each function it calls, once per transaction). The constant
--    header of the event hashes is a literal (internal.enc_header is STABLE and was re-encoded per row).
-- 2. internal.verify_event_chains: one pass per chain family, as before, but
--    - one query for one organization and one for all of them: one plan cannot serve both with
--      "p_org is null or ...", and that plan read every partition and sorted the wide rows; now one
--      organization is read in primary-key order, which is the window's order (no sort);
--    - planned for the organization it is given (a generic plan guesses its size);
--    - the window is a ROWS frame (lag needs no peer groups: no peer-group bookkeeping per row).
--    Measured with callgrind (one organization's 20,000-event chain): see bench/REPORT.md.

create or replace function internal.session_event_hash(
  p_organization_id uuid, p_lane smallint, p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_session_id uuid,
  p_principal_id uuid,
  p_operation text, p_target_type text, p_target_id uuid, p_outcome text, p_error_code text, p_client_ip inet,
  p_request_id text, p_previous_hash bytea
)
returns bytea
language sql stable parallel safe
return pg_catalog.sha256(
  -- internal.enc_header('audit.session_events')
  '\x000000086178696f6d2e76310000001461756469742e73657373696f6e5f6576656e7473'::bytea
  || pg_catalog.substring(pg_catalog.array_send(array[
       pg_catalog.uuid_send(p_organization_id),
       pg_catalog.int4send(p_lane),
       pg_catalog.int8send(p_seq),
       pg_catalog.uuid_send(p_id),
       pg_catalog.timestamptz_send(p_occurred_at),
       pg_catalog.uuid_send(p_session_id),
       pg_catalog.uuid_send(p_principal_id),
       pg_catalog.textsend(p_operation),
       pg_catalog.textsend(p_target_type),
       pg_catalog.uuid_send(p_target_id),
       pg_catalog.textsend(p_outcome),
       pg_catalog.textsend(p_error_code),
       pg_catalog.textsend(p_client_ip::text),
       pg_catalog.textsend(p_request_id),
       p_previous_hash]), 21));

create or replace function internal.audit_event_hash(
  p_organization_id uuid, p_lane smallint, p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_session_id uuid,
  p_actor_id uuid,
  p_event_type text, p_domain core.domain, p_facility_id uuid, p_target_table text, p_target_id uuid,
  p_target_record_id uuid, p_target_record_hash bytea, p_related_ids uuid[], p_reason text, p_details jsonb,
  p_state_ciphertext bytea, p_key_id uuid, p_previous_hash bytea
)
returns bytea
language sql stable parallel safe
return pg_catalog.sha256(
  -- internal.enc_header('audit.audit_events')
  '\x000000086178696f6d2e76310000001261756469742e61756469745f6576656e7473'::bytea
  || pg_catalog.substring(pg_catalog.array_send(array[
       pg_catalog.uuid_send(p_organization_id),
       pg_catalog.int4send(p_lane),
       pg_catalog.int8send(p_seq),
       pg_catalog.uuid_send(p_id),
       pg_catalog.timestamptz_send(p_occurred_at),
       pg_catalog.uuid_send(p_session_id),
       pg_catalog.uuid_send(p_actor_id),
       pg_catalog.textsend(p_event_type),
       pg_catalog.textsend(p_domain::text),
       pg_catalog.uuid_send(p_facility_id),
       pg_catalog.textsend(p_target_table),
       pg_catalog.uuid_send(p_target_id),
       pg_catalog.uuid_send(p_target_record_id),
       p_target_record_hash,
       pg_catalog.array_send(p_related_ids),
       pg_catalog.textsend(p_reason),
       pg_catalog.textsend(p_details::text),
       p_state_ciphertext,
       pg_catalog.uuid_send(p_key_id),
       p_previous_hash]), 21));

create or replace function internal.controlled_record_hash(
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
return pg_catalog.sha256(pg_catalog.substring(pg_catalog.array_send(array[
  pg_catalog.textsend('axiom.v1'),
  pg_catalog.textsend(p_subject),
  pg_catalog.uuid_send(p_record_id),
  pg_catalog.uuid_send(p_id),
  pg_catalog.uuid_send(p_organization_id),
  pg_catalog.uuid_send(p_facility_id),
  pg_catalog.textsend(p_domain::text),
  pg_catalog.textsend(p_item_key),
  pg_catalog.int4send(p_version),
  pg_catalog.uuid_send(p_previous_record_id),
  pg_catalog.textsend(p_content::text),
  pg_catalog.timestamptz_send(p_created_at),
  pg_catalog.uuid_send(p_created_by),
  pg_catalog.textsend(p_change_reason),
  pg_catalog.uuid_send(p_change_request_id),
  p_previous_record_hash]), 21));

-- Owned by axiom_verifier (CREATE OR REPLACE keeps the owner and the grants). The results are the
-- rows of 006's function, in no particular order (internal.verify_all orders them).
create or replace function internal.verify_event_chains(p_org uuid default null)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language plpgsql stable security definer parallel safe
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
set plan_cache_mode = force_custom_plan
as $$
begin
  if p_org is not null then
    return query
      select 'audit.audit_events'::text, x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when x.hash <> x.computed then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                 lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash,
                 internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id,
                   e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table, e.target_id, e.target_record_id,
                   e.target_record_hash, e.related_ids, e.reason, e.details, e.state_ciphertext, e.key_id,
                   e.previous_hash) as computed
            from audit.audit_events e
           where e.organization_id = p_org
          window w as (partition by e.organization_id, e.lane order by e.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or x.hash <> x.computed
          or x.previous_hash is distinct from x.prev_hash;
    return query
      select 'audit.session_events'::text, x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when x.hash <> x.computed then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                 lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash,
                 internal.session_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id,
                   e.principal_id, e.operation, e.target_type, e.target_id, e.outcome, e.error_code, e.client_ip,
                   e.request_id, e.previous_hash) as computed
            from audit.session_events e
           where e.organization_id = p_org
          window w as (partition by e.organization_id, e.lane order by e.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or x.hash <> x.computed
          or x.previous_hash is distinct from x.prev_hash;
  else
    return query
      select 'audit.audit_events'::text, x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when x.hash <> x.computed then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                 lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash,
                 internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id,
                   e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table, e.target_id, e.target_record_id,
                   e.target_record_hash, e.related_ids, e.reason, e.details, e.state_ciphertext, e.key_id,
                   e.previous_hash) as computed
            from audit.audit_events e
          window w as (partition by e.organization_id, e.lane order by e.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or x.hash <> x.computed
          or x.previous_hash is distinct from x.prev_hash;
    return query
      select 'audit.session_events'::text, x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when x.hash <> x.computed then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                 lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash,
                 internal.session_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id,
                   e.principal_id, e.operation, e.target_type, e.target_id, e.outcome, e.error_code, e.client_ip,
                   e.request_id, e.previous_hash) as computed
            from audit.session_events e
          window w as (partition by e.organization_id, e.lane order by e.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or x.hash <> x.computed
          or x.previous_hash is distinct from x.prev_hash;
  end if;
end
$$;
