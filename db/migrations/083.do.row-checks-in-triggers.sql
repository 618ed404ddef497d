-- 083: the row checks of the four tables every audited write inserts into, enforced by a BEFORE
-- trigger instead of CHECK constraints. The same conditions, the same constraint names in the error.
--
-- Why: PostgreSQL does not keep a table's CHECK constraints compiled between statements. Every INSERT
-- statement reads each constraint's expression back from its catalog text (stringToNode), plans it and
-- compiles it, before checking one row. For a single-row insert that is most of the work: with the
-- 12 checks of audit.audit_events it costs about 250,000 CPU instructions per row, a third of an audit
-- append, and an audited write inserts into four such tables (measured with callgrind; see
-- bench/REPORT.md). A PL/pgSQL trigger keeps its compiled expressions for the session: the same checks
-- cost a few thousand instructions.
--
-- What stays true: every row inserted (and, for the two tables that have lifecycle columns, every row
-- updated) is checked, whoever writes it; the runtime roles cannot disable a trigger (that needs the
-- table owner, who could equally drop a constraint); a violation is SQLSTATE 23514 (check_violation)
-- naming the same constraint as before, and its detail is the constraint name (not the row, which a
-- CHECK constraint's error would have echoed into the caller's error reason and the session event).
-- Row triggers on a partitioned table are cloned to every partition, present and future.

create function internal.check_failed(p_schema text, p_table text, p_constraint text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using
    errcode = 'check_violation',
    message = pg_catalog.format('new row for relation %I violates check constraint %I', p_table, p_constraint),
    detail = p_constraint,
    schema = p_schema,
    table = p_table,
    constraint = p_constraint;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- audit.audit_events
-- ---------------------------------------------------------------------------------------------
create function internal.tg_audit_events__checks()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v text;
begin
  -- A CHECK constraint fails only when its condition is false (NULL passes): hence "is false".
  v := case
    when ((new.seq = 1) = (new.previous_hash is null)) is false then 'audit_events_check'
    when ((new.state_ciphertext is null) = (new.key_id is null)) is false then 'audit_events_check1'
    when (pg_catalog.pg_column_size(new.details) <= 16384) is false then 'audit_events_details_check'
    when (pg_catalog.length(new.hash) = 32) is false then 'audit_events_hash_check'
    when ((new.lane >= 0 and new.lane <= 15)) is false then 'audit_events_lane_check'
    when (pg_catalog.length(new.previous_hash) = 32) is false then 'audit_events_previous_hash_check'
    when (pg_catalog.length(new.reason) <= 2000) is false then 'audit_events_reason_check'
    when ((pg_catalog.cardinality(new.related_ids) <= 100
          and pg_catalog.array_position(new.related_ids, null::uuid) is null)) is false then 'audit_events_related_ids_check'
    when (new.seq >= 1) is false then 'audit_events_seq_check'
    when (pg_catalog.length(new.state_ciphertext) <= 1048576) is false then 'audit_events_state_ciphertext_check'
    when (pg_catalog.length(new.target_record_hash) = 32) is false then 'audit_events_target_record_hash_check'
    when (pg_catalog.length(new.target_table) <= 100) is false then 'audit_events_target_table_check'
  end;
  if v is not null then
    perform internal.check_failed(tg_table_schema, tg_table_name, v);
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- audit.session_events
-- ---------------------------------------------------------------------------------------------
create function internal.tg_session_events__checks()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v text;
begin
  v := case
    when ((new.seq = 1) = (new.previous_hash is null)) is false then 'session_events_check'
    when (pg_catalog.length(new.error_code) <= 100) is false then 'session_events_error_code_check'
    when (pg_catalog.length(new.hash) = 32) is false then 'session_events_hash_check'
    when ((new.lane >= 0 and new.lane <= 15)) is false then 'session_events_lane_check'
    when ((pg_catalog.length(new.operation) >= 1 and pg_catalog.length(new.operation) <= 100)) is false
      then 'session_events_operation_check'
    when ((new.outcome = any (array['ok', 'denied', 'error']))) is false then 'session_events_outcome_check'
    when (pg_catalog.length(new.previous_hash) = 32) is false then 'session_events_previous_hash_check'
    when (pg_catalog.length(new.request_id) <= 100) is false then 'session_events_request_id_check'
    when (new.seq >= 1) is false then 'session_events_seq_check'
    when (pg_catalog.length(new.target_type) <= 100) is false then 'session_events_target_type_check'
  end;
  if v is not null then
    perform internal.check_failed(tg_table_schema, tg_table_name, v);
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- core.records (after the chain trigger has set version, links and hash: _990 runs after _100)
-- ---------------------------------------------------------------------------------------------
create function internal.tg_records__checks()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v text;
begin
  v := case
    when ((pg_catalog.length(pg_catalog.btrim(new.change_reason)) >= 3
          and pg_catalog.length(pg_catalog.btrim(new.change_reason)) <= 2000)) is false then 'records_change_reason_check'
    when ((new.version = 1) = (new.previous_record_id is null)) is false then 'records_check'
    when ((new.previous_record_id is null) = (new.previous_record_hash is null)) is false then 'records_check1'
    when ((pg_catalog.jsonb_typeof(new.content) = 'object'
          and pg_catalog.pg_column_size(new.content) <= 262144)) is false then 'records_content_check'
    -- The same strings as '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$': a bounded repetition makes the regex
    -- engine build a large automaton on every match; a plain class plus a length test does not.
    when ((new.item_key ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' and pg_catalog.length(new.item_key) <= 200)) is false
      then 'records_item_key_check'
    when (pg_catalog.length(new.previous_record_hash) = 32) is false then 'records_previous_record_hash_check'
    when (pg_catalog.length(new.record_hash) = 32) is false then 'records_record_hash_check'
    when (new.version >= 1) is false then 'records_version_check'
  end;
  if v is not null then
    perform internal.check_failed(tg_table_schema, tg_table_name, v);
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- core.change_requests
-- ---------------------------------------------------------------------------------------------
create function internal.tg_change_requests__checks()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v text;
begin
  v := case
    when (pg_catalog.length(new.proposed_record_hash) = 32) is false then 'change_requests_proposed_record_hash_check'
    when ((pg_catalog.length(pg_catalog.btrim(new.reason)) >= 3
          and pg_catalog.length(pg_catalog.btrim(new.reason)) <= 2000)) is false then 'change_requests_reason_check'
    when ((new.required_approvals >= 1 and new.required_approvals <= 5)) is false then 'change_requests_required_approvals_check'
    when ((new.state = any (array['draft', 'in_review', 'approved', 'rejected', 'withdrawn']))) is false
      then 'change_requests_state_check'
    when ((pg_catalog.length(pg_catalog.btrim(new.title)) >= 3
          and pg_catalog.length(pg_catalog.btrim(new.title)) <= 200)) is false then 'change_requests_title_check'
  end;
  if v is not null then
    perform internal.check_failed(tg_table_schema, tg_table_name, v);
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Swap: the triggers first, then the constraints go (one transaction: no moment without either).
-- ---------------------------------------------------------------------------------------------
create trigger _990_checks before insert on audit.audit_events
  for each row execute function internal.tg_audit_events__checks();
create trigger _990_checks before insert on audit.session_events
  for each row execute function internal.tg_session_events__checks();
create trigger _990_checks before insert or update on core.records
  for each row execute function internal.tg_records__checks();
create trigger _990_checks before insert or update on core.change_requests
  for each row execute function internal.tg_change_requests__checks();

alter table audit.audit_events
  drop constraint audit_events_check,
  drop constraint audit_events_check1,
  drop constraint audit_events_details_check,
  drop constraint audit_events_hash_check,
  drop constraint audit_events_lane_check,
  drop constraint audit_events_previous_hash_check,
  drop constraint audit_events_reason_check,
  drop constraint audit_events_related_ids_check,
  drop constraint audit_events_seq_check,
  drop constraint audit_events_state_ciphertext_check,
  drop constraint audit_events_target_record_hash_check,
  drop constraint audit_events_target_table_check;

alter table audit.session_events
  drop constraint session_events_check,
  drop constraint session_events_error_code_check,
  drop constraint session_events_hash_check,
  drop constraint session_events_lane_check,
  drop constraint session_events_operation_check,
  drop constraint session_events_outcome_check,
  drop constraint session_events_previous_hash_check,
  drop constraint session_events_request_id_check,
  drop constraint session_events_seq_check,
  drop constraint session_events_target_type_check;

alter table core.records
  drop constraint records_change_reason_check,
  drop constraint records_check,
  drop constraint records_check1,
  drop constraint records_content_check,
  drop constraint records_item_key_check,
  drop constraint records_previous_record_hash_check,
  drop constraint records_record_hash_check,
  drop constraint records_version_check;

alter table core.change_requests
  drop constraint change_requests_proposed_record_hash_check,
  drop constraint change_requests_reason_check,
  drop constraint change_requests_required_approvals_check,
  drop constraint change_requests_state_check,
  drop constraint change_requests_title_check;
