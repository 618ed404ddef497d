-- 006: chain verification in SQL (DESIGN.md invariant 8). A second, independent verifier in TypeScript
-- (src/audit/verifier.ts) reproduces every hash from an export.
--
-- The functions are owned by axiom_verifier (BYPASSRLS, SELECT on the chained tables only) so one
-- query can verify every organization; they return identifiers, positions and problem names, never
-- content. The api functions decide who may call them and for which organization.
--
-- Problems, per row:
--   hash_mismatch          the stored hash is not the hash of the row's fields
--   broken_link            previous hash / previous record id is not the previous row's
--   sequence_gap           seq or version does not follow the previous one (a row is missing before it)
-- Positions: a version number for records; lane * 10^12 + seq for events (lanes in order, then seq).
--   audit_event_missing    a version has no record.version_created event with its hash
--   record_missing         a record.version_created event names a version that is gone or changed
-- The result is ordered so that its first row is the first broken record of the first broken chain.

create function internal.verify_event_chains(p_org uuid default null)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer parallel safe
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
  select 'audit.audit_events', x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
         case
           when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
           when x.hash <> x.computed then 'hash_mismatch'
           when x.previous_hash is distinct from x.prev_hash then 'broken_link'
         end
    from (
      select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
             lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash,
             internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id, e.actor_id,
               e.event_type, e.domain, e.facility_id, e.target_table, e.target_id, e.target_record_id,
               e.target_record_hash, e.related_ids, e.reason, e.details, e.state_ciphertext, e.key_id,
               e.previous_hash) as computed
        from audit.audit_events e
       where p_org is null or e.organization_id = p_org
      window w as (partition by e.organization_id, e.lane order by e.seq)
    ) x
   where x.seq <> coalesce(x.prev_seq, 0) + 1
      or x.hash <> x.computed
      or x.previous_hash is distinct from x.prev_hash
  union all
  select 'audit.session_events', x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
         case
           when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
           when x.hash <> x.computed then 'hash_mismatch'
           when x.previous_hash is distinct from x.prev_hash then 'broken_link'
         end
    from (
      select e.organization_id, e.lane, e.id, e.seq, e.hash, e.previous_hash,
             lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash,
             internal.session_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id, e.principal_id,
               e.operation, e.target_type, e.target_id, e.outcome, e.error_code, e.client_ip, e.request_id,
               e.previous_hash) as computed
        from audit.session_events e
       where p_org is null or e.organization_id = p_org
      window w as (partition by e.organization_id, e.lane order by e.seq)
    ) x
   where x.seq <> coalesce(x.prev_seq, 0) + 1
      or x.hash <> x.computed
      or x.previous_hash is distinct from x.prev_hash
$$;

-- Controlled records: their chains, and the cross-check with the audit chain.
create function internal.verify_records(p_org uuid default null)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
  select c.table_name, x.organization_id, x.record_id, x.version::bigint,
         case
           when x.version <> coalesce(x.prev_version, 0) + 1 then 'sequence_gap'
           when x.record_hash <> x.computed then 'hash_mismatch'
           when x.previous_record_id is distinct from x.prev_record_id
             or x.previous_record_hash is distinct from x.prev_hash then 'broken_link'
         end
    from (
      select r.kind, r.organization_id, r.record_id, r.version, r.record_hash, r.previous_record_id,
             r.previous_record_hash,
             lag(r.version) over w as prev_version, lag(r.record_id) over w as prev_record_id,
             lag(r.record_hash) over w as prev_hash,
             internal.controlled_record_hash(k.table_name, r.record_id, r.id, r.organization_id, r.facility_id,
               r.domain, r.item_key, r.version, r.previous_record_id, r.content, r.created_at, r.created_by,
               r.change_reason, r.change_request_id, r.previous_record_hash) as computed
        from core.records r
        join internal.controlled_tables k on k.kind = r.kind
       where p_org is null or r.organization_id = p_org
      window w as (partition by r.kind, r.organization_id, r.id order by r.version)
    ) x
    join internal.controlled_tables c on c.kind = x.kind
   where x.version <> coalesce(x.prev_version, 0) + 1
      or x.record_hash <> x.computed
      or x.previous_record_id is distinct from x.prev_record_id
      or x.previous_record_hash is distinct from x.prev_hash
  union all
  select c.table_name, r.organization_id, r.record_id, r.version::bigint, 'audit_event_missing'
    from core.records r
    join internal.controlled_tables c on c.kind = r.kind
   where (p_org is null or r.organization_id = p_org)
     and not exists (
       select 1 from audit.audit_events e
        where e.organization_id = r.organization_id
          and e.target_record_id = r.record_id
          and e.event_type = 'record.version_created'
          and e.target_record_hash = r.record_hash)
  union all
  select e.target_table, e.organization_id, e.target_record_id, coalesce((e.details ->> 'version')::bigint, 0),
         'record_missing'
    from audit.audit_events e
   where (p_org is null or e.organization_id = p_org)
     and e.event_type = 'record.version_created'
     and e.target_record_id is not null
     and not exists (
       select 1 from core.records r
         join internal.controlled_tables c on c.kind = r.kind
        where r.organization_id = e.organization_id
          and r.record_id = e.target_record_id
          and c.table_name = e.target_table
          and r.record_hash = e.target_record_hash)
$$;

-- Everything, first problem first. p_limit bounds the answer, not the work.
create function internal.verify_all(p_org uuid default null, p_limit integer default 1000)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
  select * from (
    select * from internal.verify_event_chains(p_org)
    union all
    select * from internal.verify_records(p_org)
  ) p
  order by p.table_name collate "C", p.organization_id, p.pos,
           case p.problem when 'sequence_gap' then 1 when 'record_missing' then 2 when 'hash_mismatch' then 3
                          when 'audit_event_missing' then 4 else 5 end
  limit p_limit
$$;

-- How many rows each chain holds (for "verified N records").
create function internal.chain_counts(p_org uuid default null)
returns table (table_name text, rows bigint)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select 'audit.audit_events'::text, count(*) from audit.audit_events e where p_org is null or e.organization_id = p_org
  union all
  select 'audit.session_events'::text, count(*) from audit.session_events e where p_org is null or e.organization_id = p_org
  union all
  select c.table_name, count(r.record_id)
    from internal.controlled_tables c
    left join core.records r on r.kind = c.kind and (p_org is null or r.organization_id = p_org)
   group by c.table_name
$$;

call internal.set_function_owner('internal.verify_event_chains(uuid)', 'axiom_verifier');
call internal.set_function_owner('internal.verify_records(uuid)', 'axiom_verifier');
call internal.set_function_owner('internal.verify_all(uuid, integer)', 'axiom_verifier');
call internal.set_function_owner('internal.chain_counts(uuid)', 'axiom_verifier');
grant execute on function internal.verify_event_chains(uuid), internal.verify_records(uuid),
  internal.verify_all(uuid, integer), internal.chain_counts(uuid) to axiom_definer;
