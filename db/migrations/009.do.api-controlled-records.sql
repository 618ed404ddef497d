-- 009: api functions for controlled records and change management.
--
-- A change is proposed as a draft version plus a change request (author), submitted (author),
-- optionally reviewed (reviewers), then approved or rejected (a reviewer who is not the author; the
-- approval binds the proposed version's record_hash). Only an approved change becomes effective, and
-- the previously effective version becomes superseded. Every step is an audit event.

create function internal.controlled_table(p_kind text)
returns internal.controlled_tables
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v internal.controlled_tables;
begin
  select * into v from internal.controlled_tables c where c.kind = p_kind;
  if not found then
    perform internal.raise('AX400', format('unknown record kind %s', coalesce(quote_literal(left(p_kind, 40)), 'null')),
      'invalid_kind');
  end if;
  return v;
end
$$;

-- The record as JSON, hashes in hex.
create function internal.record_json(r core.records)
returns jsonb
language sql stable
return (pg_catalog.to_jsonb(r) - 'kind') || pg_catalog.jsonb_build_object(
  'kind', r.kind, 'record_hash', pg_catalog.encode(r.record_hash, 'hex'),
  'previous_record_hash', pg_catalog.encode(r.previous_record_hash, 'hex'));

-- Content rules per kind. Later migrations replace this function as kinds are added.
create function internal.validate_content(p_kind text, p_content jsonb)
returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_content is null or jsonb_typeof(p_content) <> 'object' then
    perform internal.raise('AX400', 'content must be a JSON object', 'invalid_content');
  end if;
  if pg_column_size(p_content) > 262144 then
    perform internal.raise('AX400', 'content is larger than 256 KiB', 'content_too_large');
  end if;
  if p_kind = 'policy' and (jsonb_typeof(p_content -> 'type') is distinct from 'string'
                            or (p_content ->> 'type') !~ '^[a-z_]{2,60}$') then
    perform internal.raise('AX400', 'a policy has a "type" (lowercase letters and underscores)', 'invalid_content');
  end if;
  if p_kind = 'facility_configuration' then
    if p_content ? 'autonomy_tier' and (p_content ->> 'autonomy_tier') not in
         ('scan_only', 'recommend', 'execute_with_approval', 'auto_apply_low_risk') then
      perform internal.raise('AX400',
        'autonomy_tier is scan_only, recommend, execute_with_approval or auto_apply_low_risk', 'invalid_content');
    end if;
    if p_content ? 'blast_radius_cap' and (jsonb_typeof(p_content -> 'blast_radius_cap') <> 'number'
         or (p_content ->> 'blast_radius_cap')::numeric not between 1 and 100
         or (p_content ->> 'blast_radius_cap')::numeric <> trunc((p_content ->> 'blast_radius_cap')::numeric)) then
      perform internal.raise('AX400', 'blast_radius_cap is a whole number from 1 to 100', 'invalid_content');
    end if;
    if p_content ? 'approval_expiry_hours' and (jsonb_typeof(p_content -> 'approval_expiry_hours') <> 'number'
         or (p_content ->> 'approval_expiry_hours')::numeric not between 1 and 168) then
      perform internal.raise('AX400', 'approval_expiry_hours is from 1 to 168', 'invalid_content');
    end if;
  end if;
end
$$;

create function internal.change_request_json(c core.change_requests)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return jsonb_build_object(
    'id', c.id, 'facility_id', c.facility_id, 'domain', c.domain, 'target_kind', c.target_kind,
    'target_item_id', c.target_item_id, 'proposed_record_id', c.proposed_record_id,
    'proposed_record_hash', encode(c.proposed_record_hash, 'hex'), 'title', c.title, 'reason', c.reason,
    'author_id', c.author_id, 'required_approvals', c.required_approvals, 'created_at', c.created_at,
    'state', c.state, 'submitted_at', c.submitted_at, 'decided_at', c.decided_at,
    'decisions', coalesce((
      select jsonb_agg(jsonb_build_object(
               'principal_id', d.principal_id, 'decision', d.decision, 'comment', d.comment,
               'record_hash', encode(d.record_hash, 'hex'), 'signature_id', d.signature_id,
               'created_at', d.created_at) order by d.created_at)
        from core.change_request_decisions d where d.change_request_id = c.id), '[]'::jsonb));
end
$$;

-- Move one version along its lifecycle (the table's trigger checks the transition and audits it).
create function internal.transition_record(p_kind text, p_record_id uuid, p_to core.lifecycle_state, p_actor uuid,
                                           p_reason text default null)
returns void
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_item uuid;
begin
  perform set_config('axiom.reason', coalesce(p_reason, ''), true);
  select r.id into v_item from core.records r where r.kind = p_kind and r.record_id = p_record_id;
  if v_item is null then
    perform internal.raise('AX404', 'record not found', 'record_not_found');
  end if;
  if p_to = 'effective' then
    -- The effective version it replaces is superseded first (one effective version per item).
    update core.records r set lifecycle_state = 'superseded', lifecycle_changed_by = p_actor
     where r.kind = p_kind and r.id = v_item and r.lifecycle_state = 'effective' and r.record_id <> p_record_id;
  end if;
  update core.records r set lifecycle_state = p_to, lifecycle_changed_by = p_actor
   where r.kind = p_kind and r.record_id = p_record_id;
  perform set_config('axiom.reason', '', true);
end
$$;

create function internal.require_change_request(p_id uuid)
returns core.change_requests
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.change_requests;
begin
  select * into v from core.change_requests c where c.id = p_id;
  if not found then
    perform internal.raise('AX404', 'change request not found', 'change_request_not_found');
  end if;
  return v;
end
$$;

create function internal.hash_arg(p text)
returns bytea
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p is null or p !~ '^[0-9a-f]{64}$' then
    perform internal.raise('AX400', 'record_hash is 64 lowercase hex characters', 'invalid_record_hash');
  end if;
  return decode(p, 'hex');
end
$$;

grant execute on function internal.controlled_table(text), internal.record_json(core.records),
  internal.validate_content(text, jsonb), internal.change_request_json(core.change_requests),
  internal.transition_record(text, uuid, core.lifecycle_state, uuid, text),
  internal.require_change_request(uuid), internal.hash_arg(text)
  to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Requires: author in the record kind's domain at p_facility_id (organization-wide when NULL).
-- p_item_id NULL proposes a new item (its first version) under p_item_key.
-- ---------------------------------------------------------------------------------------------
create function api.record_propose(
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
    if p_item_key is null or p_item_key !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$' then
      perform internal.raise('AX400', 'item_key: letters, digits and _.:/- (up to 200)', 'invalid_item_key');
    end if;
    select r.id into v_item from core.records r
     where r.kind = p_kind and r.facility_id is not distinct from p_facility_id and r.item_key = p_item_key
       and r.version = 1;
    if v_item is not null then
      perform internal.raise('AX409', 'an item with this key exists; propose a new version of it', 'item_exists');
    end if;
    v_item := gen_random_uuid();
  else
    select r.id, r.item_key, r.facility_id into v_head from core.records r
     where r.kind = p_kind and r.id = p_item_id order by r.version desc limit 1;
    if v_head.id is null then
      perform internal.raise('AX404', 'record not found', 'record_not_found');
    end if;
    if v_head.facility_id is distinct from p_facility_id then
      perform internal.raise('AX422', 'a new version stays at the facility of its item', 'item_identity_changed');
    end if;
    v_item := p_item_id;
    p_item_key := v_head.item_key;
    select exists (select 1 from core.records r where r.kind = p_kind and r.id = v_item
                      and r.lifecycle_state in ('draft', 'in_review', 'approved'))
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

-- Requires: being the author of the change request.
create function api.change_request_submit(p_caller jsonb, p_change_request_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.submit');
  v_cr := internal.require_change_request(p_change_request_id);
  if v_cr.author_id <> v_caller.principal_id then
    perform internal.raise('AX403', 'only the author submits a change request', 'not_author');
  end if;
  perform internal.require(v_caller, 'author', v_cr.domain, v_cr.facility_id);
  update core.change_requests c set state = 'in_review', submitted_at = now() where c.id = v_cr.id
  returning * into v_cr;
  perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'in_review', v_caller.principal_id,
    'submitted for review');
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.submitted', v_caller.session_id,
    v_caller.principal_id, v_cr.domain, v_cr.facility_id, 'core.change_requests', v_cr.id,
    v_cr.proposed_record_id, v_cr.proposed_record_hash);
  return internal.succeed(v_caller, internal.change_request_json(v_cr), 'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_submit(jsonb, uuid) is 'Requires: being the author (and still author in the domain).';

-- Requires: review in the change's domain at its facility; never the author, never the agent.
create function api.change_request_review(p_caller jsonb, p_change_request_id uuid, p_record_hash text, p_comment text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.review');
  v_cr := internal.require_change_request(p_change_request_id);
  perform internal.require(v_caller, 'review', v_cr.domain, v_cr.facility_id);
  if v_cr.state <> 'in_review' then
    perform internal.raise('AX409', format('the change request is %s, not in review', v_cr.state), 'not_in_review');
  end if;
  insert into core.change_request_decisions (organization_id, change_request_id, principal_id, decision, record_hash, comment)
  values (v_caller.organization_id, v_cr.id, v_caller.principal_id, 'reviewed', internal.hash_arg(p_record_hash),
          internal.text_arg(p_comment, 'comment', 3, 2000));
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.reviewed', v_caller.session_id,
    v_caller.principal_id, v_cr.domain, v_cr.facility_id, 'core.change_requests', v_cr.id,
    v_cr.proposed_record_id, v_cr.proposed_record_hash, p_reason => p_comment);
  return internal.succeed(v_caller, internal.change_request_json(v_cr), 'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_review(jsonb, uuid, text, text) is
  'Requires: review in the change''s domain at its facility; not the author.';

-- Requires: review in the change's domain at its facility; never the author, never the agent; the
-- record_hash the approver saw must be the proposed version's. Approving is signing (p_signature is
-- checked by internal.sign_decision). When the required number of approvals is reached the proposed
-- version becomes effective.
create function api.change_request_approve(p_caller jsonb, p_change_request_id uuid, p_record_hash text,
                                           p_signature jsonb default null, p_comment text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
  v_signature uuid;
  v_approvals integer;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.approve');
  v_cr := internal.require_change_request(p_change_request_id);
  perform internal.require(v_caller, 'review', v_cr.domain, v_cr.facility_id);
  if v_cr.author_id = v_caller.principal_id then
    perform internal.raise('AX403', 'the author of a change cannot approve it', 'self_approval');
  end if;
  if v_cr.state <> 'in_review' then
    perform internal.raise('AX409', format('the change request is %s, not in review', v_cr.state), 'not_in_review');
  end if;
  if internal.hash_arg(p_record_hash) <> v_cr.proposed_record_hash then
    perform internal.raise('AX409', 'the change was modified after you looked at it', 'record_changed');
  end if;
  v_signature := internal.sign_decision(v_caller, v_cr, 'approved', p_signature);
  insert into core.change_request_decisions (organization_id, change_request_id, principal_id, decision, record_hash,
                                             comment, signature_id)
  values (v_caller.organization_id, v_cr.id, v_caller.principal_id, 'approved', v_cr.proposed_record_hash,
          p_comment, v_signature);
  select count(*) into v_approvals from core.change_request_decisions d
   where d.change_request_id = v_cr.id and d.decision = 'approved';
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.approved', v_caller.session_id,
    v_caller.principal_id, v_cr.domain, v_cr.facility_id, 'core.change_requests', v_cr.id,
    v_cr.proposed_record_id, v_cr.proposed_record_hash,
    case when v_signature is null then null else array[v_signature] end, p_comment,
    jsonb_build_object('approvals', v_approvals, 'required_approvals', v_cr.required_approvals));
  if v_approvals >= v_cr.required_approvals then
    update core.change_requests c set state = 'approved', decided_at = now() where c.id = v_cr.id
    returning * into v_cr;
    perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'approved', v_caller.principal_id,
      'change request approved');
    perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'effective', v_caller.principal_id,
      'change request approved');
  end if;
  return internal.succeed(v_caller, internal.change_request_json(v_cr), 'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_approve(jsonb, uuid, text, jsonb, text) is
  'Requires: review in the change''s domain at its facility; not the author; not the agent.';

-- Requires: review in the change's domain at its facility; never the author, never the agent.
create function api.change_request_reject(p_caller jsonb, p_change_request_id uuid, p_record_hash text,
                                          p_reason text, p_signature jsonb default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
  v_signature uuid;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.reject');
  v_cr := internal.require_change_request(p_change_request_id);
  perform internal.require(v_caller, 'review', v_cr.domain, v_cr.facility_id);
  if v_cr.author_id = v_caller.principal_id then
    perform internal.raise('AX403', 'the author of a change cannot reject it; withdraw it instead', 'self_approval');
  end if;
  if v_cr.state <> 'in_review' then
    perform internal.raise('AX409', format('the change request is %s, not in review', v_cr.state), 'not_in_review');
  end if;
  if internal.hash_arg(p_record_hash) <> v_cr.proposed_record_hash then
    perform internal.raise('AX409', 'the change was modified after you looked at it', 'record_changed');
  end if;
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  v_signature := internal.sign_decision(v_caller, v_cr, 'rejected', p_signature);
  insert into core.change_request_decisions (organization_id, change_request_id, principal_id, decision, record_hash,
                                             comment, signature_id)
  values (v_caller.organization_id, v_cr.id, v_caller.principal_id, 'rejected', v_cr.proposed_record_hash,
          v_reason, v_signature);
  update core.change_requests c set state = 'rejected', decided_at = now() where c.id = v_cr.id
  returning * into v_cr;
  perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'rejected', v_caller.principal_id, v_reason);
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.rejected', v_caller.session_id,
    v_caller.principal_id, v_cr.domain, v_cr.facility_id, 'core.change_requests', v_cr.id,
    v_cr.proposed_record_id, v_cr.proposed_record_hash,
    case when v_signature is null then null else array[v_signature] end, v_reason);
  return internal.succeed(v_caller, internal.change_request_json(v_cr), 'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_reject(jsonb, uuid, text, text, jsonb) is
  'Requires: review in the change''s domain at its facility; not the author; not the agent.';

-- Requires: being the author; while the change is a draft or in review.
create function api.change_request_withdraw(p_caller jsonb, p_change_request_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.withdraw');
  v_cr := internal.require_change_request(p_change_request_id);
  if v_cr.author_id <> v_caller.principal_id then
    perform internal.raise('AX403', 'only the author withdraws a change request', 'not_author');
  end if;
  if v_cr.state not in ('draft', 'in_review') then
    perform internal.raise('AX409', format('a %s change request cannot be withdrawn', v_cr.state), 'illegal_transition');
  end if;
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  update core.change_requests c set state = 'withdrawn', decided_at = now() where c.id = v_cr.id
  returning * into v_cr;
  perform internal.transition_record(v_cr.target_kind, v_cr.proposed_record_id, 'retired', v_caller.principal_id, v_reason);
  perform internal.append_audit_event(v_caller.organization_id, 'change_request.withdrawn', v_caller.session_id,
    v_caller.principal_id, v_cr.domain, v_cr.facility_id, 'core.change_requests', v_cr.id,
    v_cr.proposed_record_id, v_cr.proposed_record_hash, p_reason => v_reason);
  return internal.succeed(v_caller, internal.change_request_json(v_cr), 'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_withdraw(jsonb, uuid, text) is 'Requires: being the author.';

-- Requires: read in the change's domain at its facility.
create function api.change_request_get(p_caller jsonb, p_change_request_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.get');
  v_cr := internal.require_change_request(p_change_request_id);
  perform internal.require(v_caller, 'read', v_cr.domain, v_cr.facility_id);
  return internal.succeed(v_caller, internal.change_request_json(v_cr) || jsonb_build_object(
    'proposed_record', (select internal.record_json(r) from core.records r
                         where r.kind = v_cr.target_kind and r.record_id = v_cr.proposed_record_id)),
    'change_request', v_cr.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_get(jsonb, uuid) is 'Requires: read in the change''s domain at its facility.';

-- Requires: a valid session; lists the change requests in the domains and facilities where the
-- caller holds read (others are left out, not refused).
create function api.change_request_list(p_caller jsonb, p_state text default null, p_facility_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'change_request.list');
  if p_state is not null and p_state not in ('draft', 'in_review', 'approved', 'rejected', 'withdrawn') then
    perform internal.raise('AX400', 'state is draft, in_review, approved, rejected or withdrawn', 'invalid_state');
  end if;
  select coalesce(jsonb_agg(internal.change_request_json(c) order by c.created_at desc), '[]'::jsonb) into v_result
    from (select * from core.change_requests c
           where (p_state is null or c.state = p_state)
             and (p_facility_id is null or c.facility_id = p_facility_id)
             and internal.has_grant(v_caller.principal_id, 'read', c.domain, c.facility_id)
             and internal.scope_allows(v_caller.scope, 'read', c.domain, c.facility_id)
           order by c.created_at desc
           limit 500) c;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.change_request_list(jsonb, text, uuid) is 'Requires: a valid session; filtered by read grants.';

-- Requires: read in the record's domain at its facility. Returns the effective version, the newest
-- version and every version's metadata (the history).
create function api.record_get(p_caller jsonb, p_kind text, p_item_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_reg internal.controlled_tables;
  v_head record;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'record.get');
  v_reg := internal.controlled_table(p_kind);
  select r.record_id, r.facility_id, r.domain into v_head from core.records r
   where r.kind = p_kind and r.id = p_item_id order by r.version desc limit 1;
  if v_head.record_id is null then
    perform internal.raise('AX404', 'record not found', 'record_not_found');
  end if;
  perform internal.require(v_caller, 'read', v_head.domain, v_head.facility_id);
  select jsonb_build_object(
           'item_id', p_item_id,
           'kind', p_kind,
           'effective', (select internal.record_json(e) from core.records e
                          where e.kind = p_kind and e.id = p_item_id and e.lifecycle_state = 'effective'),
           'latest', (select internal.record_json(l) from core.records l
                       where l.kind = p_kind and l.record_id = v_head.record_id),
           'versions', jsonb_agg(jsonb_build_object('record_id', r.record_id, 'version', r.version,
                         'lifecycle_state', r.lifecycle_state, 'created_at', r.created_at, 'created_by', r.created_by,
                         'change_reason', r.change_reason, 'change_request_id', r.change_request_id,
                         'record_hash', encode(r.record_hash, 'hex')) order by r.version))
    into v_result
    from core.records r
   where r.kind = p_kind and r.id = p_item_id;
  return internal.succeed(v_caller, v_result, p_kind, p_item_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.record_get(jsonb, text, uuid) is 'Requires: read in the record''s domain at its facility.';

-- Requires: read in the kind's domain at p_facility_id (organization-wide when NULL). Lists the items
-- with their effective version.
create function api.record_list(p_caller jsonb, p_kind text, p_facility_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_reg internal.controlled_tables;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'record.list');
  v_reg := internal.controlled_table(p_kind);
  if p_facility_id is not null then
    perform internal.require_facility(p_facility_id);
  end if;
  perform internal.require(v_caller, 'read', coalesce(v_reg.fixed_domain, 'configuration'), p_facility_id);
  select coalesce(jsonb_agg(internal.record_json(r) order by r.item_key), '[]'::jsonb) into v_result
    from core.records r
   where r.kind = p_kind and r.facility_id is not distinct from p_facility_id and r.lifecycle_state = 'effective';
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.record_list(jsonb, text, uuid) is 'Requires: read in the kind''s domain at the facility.';
