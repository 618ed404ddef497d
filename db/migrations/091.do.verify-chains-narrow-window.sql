-- 091: chain verification in SQL — the same checks and answers as 085, with the window over narrow rows
-- (issue 2 benchmark: at least 500,000 records/s).
--
-- In 085 the row hash was an expression of the WindowAgg's output, so the planner had the index scan
-- hand every column of every row to the window, which copied each wide row (21 columns, ~380 bytes)
-- into its tuplestore and read it back to evaluate lag() and the hash. Now the hash is compared in a
-- subquery below the window that the planner cannot flatten (OFFSET 0), in primary-key order (so still
-- no sort), and the window stores and re-reads six narrow columns per row: (organization_id, lane,
-- id, seq, hash, previous_hash, and whether the hash matched). For one organization the window is
-- partitioned by lane alone (organization_id is the constant p_org; partitioning by it too would make
-- the planner sort, because the subquery's order no longer says that the column is constant).
-- Profiled with callgrind and EXPLAIN (ANALYZE): see bench/REPORT.md, "Database core".
--
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
      select 'audit.audit_events'::text, p_org, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when not x.hash_ok then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select h.organization_id, h.lane, h.id, h.seq, h.hash_ok, h.previous_hash,
                 lag(h.seq) over w as prev_seq, lag(h.hash) over w as prev_hash
            from (
              select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                     e.hash = internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at,
                       e.session_id, e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table, e.target_id,
                       e.target_record_id, e.target_record_hash, e.related_ids, e.reason, e.details, e.state_ciphertext,
                       e.key_id, e.previous_hash) as hash_ok
                from audit.audit_events e
               where e.organization_id = p_org
               order by e.lane, e.seq
              offset 0
            ) h
          window w as (partition by h.lane order by h.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or not x.hash_ok
          or x.previous_hash is distinct from x.prev_hash;
    return query
      select 'audit.session_events'::text, p_org, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when not x.hash_ok then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select h.organization_id, h.lane, h.id, h.seq, h.hash_ok, h.previous_hash,
                 lag(h.seq) over w as prev_seq, lag(h.hash) over w as prev_hash
            from (
              select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                     e.hash = internal.session_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at,
                       e.session_id, e.principal_id, e.operation, e.target_type, e.target_id, e.outcome, e.error_code,
                       e.client_ip, e.request_id, e.previous_hash) as hash_ok
                from audit.session_events e
               where e.organization_id = p_org
               order by e.lane, e.seq
              offset 0
            ) h
          window w as (partition by h.lane order by h.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or not x.hash_ok
          or x.previous_hash is distinct from x.prev_hash;
  else
    return query
      select 'audit.audit_events'::text, x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when not x.hash_ok then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select h.organization_id, h.lane, h.id, h.seq, h.hash_ok, h.previous_hash,
                 lag(h.seq) over w as prev_seq, lag(h.hash) over w as prev_hash
            from (
              select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                     e.hash = internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at,
                       e.session_id, e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table, e.target_id,
                       e.target_record_id, e.target_record_hash, e.related_ids, e.reason, e.details, e.state_ciphertext,
                       e.key_id, e.previous_hash) as hash_ok
                from audit.audit_events e
               order by e.organization_id, e.lane, e.seq
              offset 0
            ) h
          window w as (partition by h.organization_id, h.lane order by h.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or not x.hash_ok
          or x.previous_hash is distinct from x.prev_hash;
    return query
      select 'audit.session_events'::text, x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
             case
               when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
               when not x.hash_ok then 'hash_mismatch'
               when x.previous_hash is distinct from x.prev_hash then 'broken_link'
             end
        from (
          select h.organization_id, h.lane, h.id, h.seq, h.hash_ok, h.previous_hash,
                 lag(h.seq) over w as prev_seq, lag(h.hash) over w as prev_hash
            from (
              select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
                     e.hash = internal.session_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at,
                       e.session_id, e.principal_id, e.operation, e.target_type, e.target_id, e.outcome, e.error_code,
                       e.client_ip, e.request_id, e.previous_hash) as hash_ok
                from audit.session_events e
               order by e.organization_id, e.lane, e.seq
              offset 0
            ) h
          window w as (partition by h.organization_id, h.lane order by h.seq rows between 1 preceding and current row)
        ) x
       where x.seq <> coalesce(x.prev_seq, 0) + 1
          or not x.hash_ok
          or x.previous_hash is distinct from x.prev_hash;
  end if;
end
$$;
