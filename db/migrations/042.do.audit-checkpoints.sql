-- 042: signed checkpoints (issue 8). The database only answers the heads of an organization's chains and
-- records that a checkpoint was published; the signing key (Ed25519) never enters it and the published
-- checkpoints live where the database cannot rewrite them (src/audit/checkpoints.ts, docs/hashing.md).
--
-- Who may ask for one on demand: audit:review organization-wide (it publishes evidence about the whole
-- trail and adds to it). The server's timer asks with the service secret.

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('chain.checkpoint_signed', 'The heads of the organization''s chains were signed and published outside the database',
   '{CC7.1,CC7.2}', '{A.8.15,A.8.16,A.8.24}', '{11.10(a),11.10(c),11.10(e)}');

-- The head (last row) of every lane of every event chain of one organization: table, lane, seq, id and
-- hash. Identifiers and hashes only, never content. One index probe per lane.
create function internal.chain_heads(p_org uuid)
returns table (table_name text, lane smallint, seq bigint, id uuid, hash bytea)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select 'audit.audit_events', h.lane, h.seq, h.id, h.hash
    from generate_series(0, 15) l
    cross join lateral (select e.lane, e.seq, e.id, e.hash from audit.audit_events e
                         where e.organization_id = p_org and e.lane = l order by e.seq desc limit 1) h
  union all
  select 'audit.session_events', h.lane, h.seq, h.id, h.hash
    from generate_series(0, 15) l
    cross join lateral (select e.lane, e.seq, e.id, e.hash from audit.session_events e
                         where e.organization_id = p_org and e.lane = l order by e.seq desc limit 1) h
  union all
  select 'audit.signatures', h.lane, h.seq, h.id, h.hash
    from generate_series(0, 15) l
    cross join lateral (select s.lane, s.seq, s.id, s.hash from audit.signatures s
                         where s.organization_id = p_org and s.lane = l order by s.seq desc limit 1) h
$$;
call internal.set_function_owner('internal.chain_heads(uuid)', 'axiom_verifier');
grant execute on function internal.chain_heads(uuid) to axiom_definer;

create function internal.chain_heads_json(p_org uuid)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'organization_id', p_org,
  'heads', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'table', h.table_name, 'lane', h.lane, 'seq', h.seq, 'id', h.id,
                       'hash', pg_catalog.encode(h.hash, 'hex')) order by h.table_name, h.lane)
                     from internal.chain_heads(p_org) h), '[]'::jsonb));
grant execute on function internal.chain_heads_json(uuid) to axiom_definer;

-- Requires: audit:review organization-wide. The heads of the caller's organization's chains, for the
-- server to sign and publish as a checkpoint.
create function api.audit_checkpoint_heads(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
begin
  v_caller := internal.begin_call(p_caller, 'audit.checkpoint_heads');
  perform internal.require(v_caller, 'review', 'audit', null);
  return internal.succeed(v_caller, internal.chain_heads_json(v_caller.organization_id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.audit_checkpoint_heads(jsonb) is 'Requires: audit:review organization-wide.';

-- Requires: the service secret. The heads of one organization's chains (the server's checkpoint timer).
create function api.checkpoint_heads(p_service_secret text, p_organization_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  if p_organization_id is null then
    perform internal.raise('AX400', 'organization_id is required', 'invalid_organization_id');
  end if;
  return jsonb_build_object('ok', true, 'data', internal.chain_heads_json(p_organization_id));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.checkpoint_heads(text, uuid) is 'Requires: the service secret.';

-- Requires: the service secret. Records in the organization's audit trail that a checkpoint was signed and
-- published: {id, created_at, root, key_id, heads, location}. The record is a pointer for people; the
-- published, signed checkpoint is the evidence.
create function api.checkpoint_record(p_service_secret text, p_organization_id uuid, p_checkpoint jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_detail text;
begin
  perform internal.require_service_secret(p_service_secret);
  if p_organization_id is null then
    perform internal.raise('AX400', 'organization_id is required', 'invalid_organization_id');
  end if;
  if p_checkpoint is null or jsonb_typeof(p_checkpoint) <> 'object'
     or (p_checkpoint ->> 'id') !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
     or (p_checkpoint ->> 'root') !~ '^[0-9a-f]{64}$'
     or (p_checkpoint ->> 'key_id') !~ '^[0-9a-f]{16,64}$'
     or (p_checkpoint ->> 'created_at') !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$'
     or jsonb_typeof(p_checkpoint -> 'heads') is distinct from 'number'
     or length(coalesce(p_checkpoint ->> 'location', '')) not between 1 and 1000 then
    perform internal.raise('AX400', 'checkpoint is {id, created_at, root, key_id, heads, location}', 'invalid_checkpoint');
  end if;
  perform internal.enter_org_context(p_organization_id);
  if not exists (select 1 from core.organizations o where o.id = p_organization_id) then
    perform internal.raise('AX404', 'organization not found', 'organization_not_found');
  end if;
  perform internal.append_audit_event(p_organization_id, 'chain.checkpoint_signed', null, null, 'audit',
    p_details => jsonb_build_object('checkpoint_id', p_checkpoint ->> 'id', 'created_at', p_checkpoint ->> 'created_at',
                                    'root', p_checkpoint ->> 'root', 'key_id', p_checkpoint ->> 'key_id',
                                    'heads', (p_checkpoint ->> 'heads')::integer,
                                    'location', p_checkpoint ->> 'location'));
  perform internal.leave_org_context();
  return jsonb_build_object('ok', true, 'data', jsonb_build_object('recorded', true));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.checkpoint_record(text, uuid, jsonb) is 'Requires: the service secret.';

call internal.finalize_api();
