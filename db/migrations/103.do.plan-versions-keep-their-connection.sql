-- 103: a new version of a plan keeps the plan's connection.
--
-- api.plan_revise keeps a plan's action class (item_identity_changed) but took the connection from
-- the caller's content: internal.plan_content checks only that it belongs to the plan's facility. A
-- facility may hold several connections (several AWS accounts), so an author could move a plan to
-- another account in a new version, under the same title and history. A plan acts on one account for
-- its whole life; a plan for another account is a new plan. This trigger holds for every path that
-- writes a version, and runs after _100_chain, which has set previous_record_id.
create function internal.tg_records__plan_keeps_connection()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_previous text;
begin
  if new.previous_record_id is null then
    return new;
  end if;
  select r.content ->> 'connection_id' into v_previous
    from core.records r
   where r.kind = 'plan' and r.record_id = new.previous_record_id;
  if v_previous is distinct from new.content ->> 'connection_id' then
    perform internal.raise('AX422', 'a new version keeps the plan''s connection; propose a plan for another connection',
      'item_identity_changed');
  end if;
  return new;
end
$$;
create trigger _110_plan_keeps_connection before insert on core.records
  for each row when (new.kind = 'plan')
  execute function internal.tg_records__plan_keeps_connection();
