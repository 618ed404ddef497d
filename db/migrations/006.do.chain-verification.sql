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
--   audit_event_missing    a version has no record.version_created event with its hash
--   record_missing         a record.version_created event names a version that is gone or changed
-- The result is ordered so that its first row is the first broken record of the first broken chain.

create function internal.verify_event_chains(p_org uuid default null)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select 'audit.audit_events', x.organization_id, x.id, x.seq,
         case
           when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
           when x.hash <> internal.audit_event_hash(x.e) then 'hash_mismatch'
           when x.previous_hash is distinct from x.prev_hash then 'broken_link'
         end
    from (
      select e.organization_id, e.id, e.seq, e.hash, e.previous_hash, e as e,
             lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash
        from audit.audit_events e
       where p_org is null or e.organization_id = p_org
      window w as (partition by e.organization_id order by e.seq)
    ) x
   where x.seq <> coalesce(x.prev_seq, 0) + 1
      or x.hash <> internal.audit_event_hash(x.e)
      or x.previous_hash is distinct from x.prev_hash
  union all
  select 'audit.session_events', x.organization_id, x.id, x.seq,
         case
           when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
           when x.hash <> internal.session_event_hash(x.e) then 'hash_mismatch'
           when x.previous_hash is distinct from x.prev_hash then 'broken_link'
         end
    from (
      select e.organization_id, e.id, e.seq, e.hash, e.previous_hash, e as e,
             lag(e.seq) over w as prev_seq, lag(e.hash) over w as prev_hash
        from audit.session_events e
       where p_org is null or e.organization_id = p_org
      window w as (partition by e.organization_id order by e.seq)
    ) x
   where x.seq <> coalesce(x.prev_seq, 0) + 1
      or x.hash <> internal.session_event_hash(x.e)
      or x.previous_hash is distinct from x.prev_hash
$$;

-- One controlled table: its chains, and the cross-check with the audit chain.
create function internal.verify_controlled_table(p_kind text, p_org uuid default null)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_table text;
  v_schema text;
  v_name text;
begin
  select c.table_name into v_table from internal.controlled_tables c where c.kind = p_kind;
  if v_table is null then
    raise exception using errcode = 'AX404', message = 'unknown controlled table', detail = 'unknown_kind';
  end if;
  v_schema := split_part(v_table, '.', 1);
  v_name := split_part(v_table, '.', 2);
  return query execute format($q$
    select %3$L::text, x.organization_id, x.record_id, x.version::bigint,
           case
             when x.version <> coalesce(x.prev_version, 0) + 1 then 'sequence_gap'
             when x.record_hash <> x.computed then 'hash_mismatch'
             when x.previous_record_id is distinct from x.prev_record_id
               or x.previous_record_hash is distinct from x.prev_hash then 'broken_link'
           end
      from (
        select r.organization_id, r.record_id, r.version, r.record_hash, r.previous_record_id, r.previous_record_hash,
               lag(r.version) over w as prev_version, lag(r.record_id) over w as prev_record_id,
               lag(r.record_hash) over w as prev_hash,
               internal.controlled_record_hash(%3$L, r.record_id, r.id, r.organization_id, r.facility_id, r.domain,
                 r.item_key, r.version, r.previous_record_id, r.content, r.created_at, r.created_by, r.change_reason,
                 r.change_request_id, r.previous_record_hash) as computed
          from %1$I.%2$I r
         where $1 is null or r.organization_id = $1
        window w as (partition by r.organization_id, r.id order by r.version)
      ) x
     where x.version <> coalesce(x.prev_version, 0) + 1
        or x.record_hash <> x.computed
        or x.previous_record_id is distinct from x.prev_record_id
        or x.previous_record_hash is distinct from x.prev_hash
    union all
    select %3$L::text, r.organization_id, r.record_id, r.version::bigint, 'audit_event_missing'
      from %1$I.%2$I r
     where ($1 is null or r.organization_id = $1)
       and not exists (
         select 1 from audit.audit_events e
          where e.organization_id = r.organization_id
            and e.target_record_id = r.record_id
            and e.event_type = 'record.version_created'
            and e.target_record_hash = r.record_hash)
    union all
    select %3$L::text, e.organization_id, e.target_record_id, coalesce((e.details ->> 'version')::bigint, 0),
           'record_missing'
      from audit.audit_events e
     where ($1 is null or e.organization_id = $1)
       and e.event_type = 'record.version_created'
       and e.target_table = %3$L
       and e.target_record_id is not null
       and not exists (
         select 1 from %1$I.%2$I r
          where r.organization_id = e.organization_id
            and r.record_id = e.target_record_id
            and r.record_hash = e.target_record_hash)
  $q$, v_schema, v_name, v_table) using p_org;
end
$$;

-- Everything, first problem first. p_limit bounds the answer, not the work.
create function internal.verify_all(p_org uuid default null, p_limit integer default 1000)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from (
    select * from internal.verify_event_chains(p_org)
    union all
    select v.* from internal.controlled_tables c
      cross join lateral internal.verify_controlled_table(c.kind, p_org) v
  ) p
  order by p.table_name collate "C", p.organization_id, p.pos,
           case p.problem when 'sequence_gap' then 1 when 'record_missing' then 2 when 'hash_mismatch' then 3
                          when 'audit_event_missing' then 4 else 5 end
  limit p_limit
$$;

-- How many rows each chain holds (for "verified N records").
create function internal.chain_counts(p_org uuid default null)
returns table (table_name text, rows bigint)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_table text;
begin
  return query select 'audit.audit_events'::text, count(*) from audit.audit_events e
    where p_org is null or e.organization_id = p_org;
  return query select 'audit.session_events'::text, count(*) from audit.session_events e
    where p_org is null or e.organization_id = p_org;
  for v_table in select c.table_name from internal.controlled_tables c order by c.table_name loop
    return query execute format('select %L::text, count(*) from %s r where $1 is null or r.organization_id = $1',
      v_table, v_table) using p_org;
  end loop;
end
$$;

call internal.set_function_owner('internal.verify_event_chains(uuid)', 'axiom_verifier');
call internal.set_function_owner('internal.verify_controlled_table(text, uuid)', 'axiom_verifier');
call internal.set_function_owner('internal.verify_all(uuid, integer)', 'axiom_verifier');
call internal.set_function_owner('internal.chain_counts(uuid)', 'axiom_verifier');
grant execute on function internal.verify_event_chains(uuid), internal.verify_controlled_table(text, uuid),
  internal.verify_all(uuid, integer), internal.chain_counts(uuid) to axiom_definer;
