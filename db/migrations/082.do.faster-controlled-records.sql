-- 082: controlled records — the same rules, fewer and cheaper statements per version written.
--
-- Looking an item up by its key (api.record_propose: "does an item with this key exist?") compares
-- facility_id with IS NOT DISTINCT FROM, which no index can answer: it read every first version of
-- the kind in the organization. This index answers it by (kind, organization, key) and leaves the
-- facility to a filter over at most a handful of rows.
create index records_item_key on core.records (kind, organization_id, item_key) where version = 1;

-- The audit triggers take the caller's session from the identity begin_call validated and recorded for
-- this transaction (internal.remembered_identity) instead of validating the token once more; when
-- there is none (an organization context, a direct writer) they look it up as before.
create or replace function internal.tg_records__audit_insert()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_before jsonb;
  v_session uuid := (internal.remembered_identity()).session_id;
begin
  if v_session is null then
    select i.session_id into v_session from internal.session_identity() i;
  end if;
  if new.previous_record_id is not null then
    select r.content into v_before from core.records r where r.kind = new.kind and r.record_id = new.previous_record_id;
  end if;
  perform internal.append_audit_event(
    new.organization_id, 'record.version_created',
    v_session, new.created_by,
    new.domain, new.facility_id, (select c.table_name from internal.controlled_tables c where c.kind = new.kind),
    new.id, new.record_id, new.record_hash,
    case when new.change_request_id is null then null else array[new.change_request_id] end,
    new.change_reason,
    pg_catalog.jsonb_build_object('version', new.version, 'item_key', new.item_key,
      'lifecycle_state', new.lifecycle_state),
    pg_catalog.jsonb_build_object('before', v_before, 'after', new.content));
  return null;
end
$$;

create or replace function internal.tg_records__audit_update()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_session uuid := (internal.remembered_identity()).session_id;
begin
  if v_session is null then
    select i.session_id into v_session from internal.session_identity() i;
  end if;
  perform internal.append_audit_event(
    new.organization_id, 'record.lifecycle_changed',
    v_session, new.lifecycle_changed_by,
    new.domain, new.facility_id, (select c.table_name from internal.controlled_tables c where c.kind = new.kind),
    new.id, new.record_id, new.record_hash,
    case when new.change_request_id is null then null else array[new.change_request_id] end,
    nullif(pg_catalog.current_setting('axiom.reason', true), ''),
    pg_catalog.jsonb_build_object('from', old.lifecycle_state, 'to', new.lifecycle_state, 'version', new.version));
  return null;
end
$$;

-- api.record_propose, the same checks and answers, cheaper:
--  - the item key is checked with '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' plus a length test, which accepts
--    exactly the strings of '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$' (a bounded repetition makes the regex
--    engine build a large automaton on every match: ~60 µs per call);
--  - the lookups name the caller's organization (RLS would add the same condition), so the indexes that
--    lead with (kind, organization_id) answer them.
-- (The body is otherwise 009's; the client_encoding setting finalize_api gave it is restated here,
-- since CREATE OR REPLACE resets a function's settings.)
create or replace function api.record_propose(
  p_caller jsonb,
  p_kind text,
  p_facility_id uuid,
  p_item_id uuid,
  p_item_key text,
  p_content jsonb,
  p_title text,
  p_reason text
)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_reg internal.controlled_tables;
  v_cr uuid := gen_random_uuid();
  v_item uuid;
  v_head record;
  v_new record;
  v_reason text;
  v_title text;
  v_change core.change_requests;
  v_open boolean;
begin
  v_caller := internal.begin_call(p_caller, 'record.propose');
  v_reg := internal.controlled_table(p_kind);
  if not v_reg.requires_change_management then
    perform internal.raise('AX422', format('%s records are not changed through change requests', p_kind), 'not_change_managed');
  end if;
  if p_facility_id is not null then
    perform internal.require_facility(p_facility_id);
  end if;
  perform internal.require(v_caller, 'author', v_reg.fixed_domain, p_facility_id);
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  v_title := internal.text_arg(p_title, 'title', 3, 200);
  perform internal.validate_content(p_kind, p_content);

  if p_item_id is null then
    if p_item_key is null or p_item_key !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' or length(p_item_key) > 200 then
      perform internal.raise('AX400', 'item_key: letters, digits and _.:/- (up to 200)', 'invalid_item_key');
    end if;
    select r.id into v_item from core.records r
     where r.kind = p_kind and r.organization_id = v_caller.organization_id
       and r.facility_id is not distinct from p_facility_id and r.item_key = p_item_key and r.version = 1;
    if v_item is not null then
      perform internal.raise('AX409', 'an item with this key exists; propose a new version of it', 'item_exists');
    end if;
    v_item := gen_random_uuid();
  else
    select r.id, r.item_key, r.facility_id into v_head from core.records r
     where r.kind = p_kind and r.organization_id = v_caller.organization_id and r.id = p_item_id
     order by r.version desc limit 1;
    if v_head.id is null then
      perform internal.raise('AX404', 'record not found', 'record_not_found');
    end if;
    if v_head.facility_id is distinct from p_facility_id then
      perform internal.raise('AX422', 'a new version stays at the facility of its item', 'item_identity_changed');
    end if;
    v_item := p_item_id;
    p_item_key := v_head.item_key;
    select exists (select 1 from core.records r where r.kind = p_kind and r.organization_id = v_caller.organization_id
                      and r.id = v_item and r.lifecycle_state in ('draft', 'in_review', 'approved'))
      into v_open;
    if v_open then
      perform internal.raise('AX409', 'this item already has an open change; decide or withdraw it first',
        'open_change_exists');
    end if;
  end if;

  insert into core.records (kind, id, organization_id, facility_id, domain, item_key, content, created_by,
                            change_reason, change_request_id, lifecycle_state)
  values (p_kind, v_item, v_caller.organization_id, p_facility_id, v_reg.fixed_domain, p_item_key, p_content,
          v_caller.principal_id, v_reason, v_cr, 'draft')
  returning record_id, version, record_hash into v_new;

  insert into core.change_requests (id, organization_id, facility_id, domain, target_kind, target_item_id,
                                    proposed_record_id, proposed_record_hash, title, reason, author_id)
  values (v_cr, v_caller.organization_id, p_facility_id, v_reg.fixed_domain, p_kind, v_item, v_new.record_id,
          v_new.record_hash, v_title, v_reason, v_caller.principal_id)
  returning * into v_change;
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.created', v_caller.session_id,
    v_caller.principal_id, v_reg.fixed_domain, p_facility_id, 'core.change_requests', v_cr,
    v_new.record_id, v_new.record_hash, array[v_item], v_reason,
    jsonb_build_object('kind', p_kind, 'version', v_new.version, 'title', v_title));
  return internal.succeed(v_caller, internal.change_request_json(v_change) || jsonb_build_object('version', v_new.version),
    'change_request', v_cr);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.record_propose(jsonb, text, uuid, uuid, text, jsonb, text, text) is
  'Requires: author in the kind''s domain at the facility.';
