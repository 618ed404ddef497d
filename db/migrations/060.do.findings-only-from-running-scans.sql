-- 060: findings are reconciled only by the agent, from a scan it is running for that connection.
--
-- api.finding_sync (030) checks the caller's grants per finding, so any person with `operate` in a
-- domain could have called it with made-up scans and resolved that domain's findings by claiming a
-- complete scan that saw nothing. The application is a possibly hostile client: the database now
-- refuses a reconciliation that is not the agent's, or that does not come from a running scan of that
-- connection at that facility (core.scans, 021). The check sits on the row every reconciliation
-- writes last (core.finding_scans), so a refusal rolls the whole reconciliation back.

create function internal.tg_finding_scans__from_a_running_scan()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if not exists (select 1 from core.principals p
                  where p.organization_id = new.organization_id and p.id = new.synced_by and p.is_agent) then
    perform internal.raise('AX403', 'only the agent reconciles findings, from a scan it runs', 'agent_only');
  end if;
  if not exists (select 1 from core.scans s
                  where s.organization_id = new.organization_id and s.id = new.scan_id
                    and s.connection_id = new.connection_id and s.facility_id = new.facility_id
                    and s.status = 'running') then
    perform internal.raise('AX409', 'findings are reconciled only from a running scan of this connection',
      'scan_not_running');
  end if;
  return new;
end
$$;

create trigger _010_from_a_running_scan
  before insert on core.finding_scans
  for each row execute function internal.tg_finding_scans__from_a_running_scan();
