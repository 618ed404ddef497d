-- 096: the scans after a large first one reconcile their findings at full speed.
--
-- api.finding_sync looks findings up and writes their versions with plans PostgreSQL keeps per
-- connection until the tables' statistics change. A first scan takes core.findings and its versions
-- (core.finding_versions) from empty to thousands of rows in one transaction, and autovacuum analyzes
-- them a minute later at the earliest: the scans that follow ran on plans made for empty tables. On the
-- findings benchmark (1,000 findings, syncs back to back): seen again 0.37 ms a finding, resolved 1.47 ms;
-- with fresh statistics 0.20 ms and 0.87 ms. As 093 does for the inventory, a reconciliation now has
-- the statistics refreshed when either table has more than doubled since they were taken: core.findings
-- itself, and for the versions all of core.records (the partitioned table the version triggers query;
-- autovacuum never analyzes a partitioned table as a whole, only its partitions — the versions'
-- partition alone gave 1.09 ms, the whole table 0.88 ms). It happens when the reconciliation's last row
-- is written (core.finding_scans, one per sync, after 060's check that it comes from the agent's running
-- scan), so the next sync on any connection plans for the tables as they are.

-- Refresh the planner's statistics of a table a reconciliation grows, when it has more than doubled since
-- they were taken (and holds at least 200 rows, this transaction's inserts included): core.findings, or
-- core.finding_versions, whose growth has all of core.records analyzed (the partitioned table and each
-- of its partitions). The logic of 093's internal.refresh_inventory_statistics. Owned by
-- axiom_owner, the tables' owner (only an owner may ANALYZE); one caller at a time per table runs it
-- (the others go on without waiting), and a lock held by autovacuum makes it skip, not wait.
create function internal.refresh_finding_statistics(p_table regclass)
returns void
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '50ms'
as $$
declare
  v_known real;
  v_now bigint;
begin
  if p_table not in ('core.findings'::regclass, 'core.finding_versions'::regclass) then
    raise exception 'internal.refresh_finding_statistics refreshes core.findings and core.finding_versions only';
  end if;
  select c.reltuples into v_known from pg_class c where c.oid = p_table;
  v_now := pg_stat_get_live_tuples(p_table) + pg_stat_get_xact_tuples_inserted(p_table);
  if v_now < 200 or v_now <= 2 * greatest(v_known, 0) then
    return;
  end if;
  -- A transaction-level advisory lock per table: one refresh at a time, released at commit.
  if not pg_try_advisory_xact_lock(hashtext('axiom.statistics:' || p_table::text)) then
    return;
  end if;
  begin
    if p_table = 'core.finding_versions'::regclass then
      analyze core.records;
    else
      analyze core.findings;
    end if;
  exception when lock_not_available then
    null; -- autovacuum is analyzing it already
  end;
end
$$;
revoke execute on function internal.refresh_finding_statistics(regclass) from public;
grant execute on function internal.refresh_finding_statistics(regclass) to axiom_definer;

create function internal.tg_finding_scans__refresh_statistics()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.refresh_finding_statistics('core.findings');
  perform internal.refresh_finding_statistics('core.finding_versions');
  return null;
end
$$;
grant execute on function internal.tg_finding_scans__refresh_statistics() to axiom_definer;

-- AFTER: a reconciliation that 060's trigger refuses analyzes nothing.
create trigger _900_refresh_statistics
  after insert on core.finding_scans
  for each row execute function internal.tg_finding_scans__refresh_statistics();
