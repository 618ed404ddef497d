-- 010: api functions for reading, verifying and exporting the audit trail.
--
-- The export carries every hashed field in the "export encoding" of docs/hashing.md (uuids as text,
-- timestamps as UTC ISO-8601 with microseconds, hashes in hex, ciphertext in base64, jsonb as the
-- exact text PostgreSQL hashed), so that src/audit/verifier.ts can recompute every hash offline.

create function internal.export_ts(p timestamptz)
returns text
language sql stable parallel safe
return pg_catalog.to_char(p at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

create function internal.audit_event_export(e audit.audit_events)
returns jsonb
language sql stable parallel safe
return pg_catalog.jsonb_build_object(
  'stream', 'audit_events', 'organization_id', e.organization_id, 'lane', e.lane, 'seq', e.seq, 'id', e.id,
  'occurred_at', internal.export_ts(e.occurred_at), 'session_id', e.session_id, 'actor_id', e.actor_id,
  'event_type', e.event_type, 'domain', e.domain, 'facility_id', e.facility_id, 'target_table', e.target_table,
  'target_id', e.target_id, 'target_record_id', e.target_record_id,
  'target_record_hash', pg_catalog.encode(e.target_record_hash, 'hex'), 'related_ids', pg_catalog.to_jsonb(e.related_ids),
  'reason', e.reason, 'details', e.details::text,
  'state_ciphertext', pg_catalog.translate(pg_catalog.encode(e.state_ciphertext, 'base64'), E'\n', ''),
  'key_id', e.key_id, 'previous_hash', pg_catalog.encode(e.previous_hash, 'hex'), 'hash', pg_catalog.encode(e.hash, 'hex'));

create function internal.session_event_export(e audit.session_events)
returns jsonb
language sql stable parallel safe
return pg_catalog.jsonb_build_object(
  'stream', 'session_events', 'organization_id', e.organization_id, 'lane', e.lane, 'seq', e.seq, 'id', e.id,
  'occurred_at', internal.export_ts(e.occurred_at), 'session_id', e.session_id, 'principal_id', e.principal_id,
  'operation', e.operation, 'target_type', e.target_type, 'target_id', e.target_id, 'outcome', e.outcome,
  'error_code', e.error_code, 'client_ip', e.client_ip::text, 'request_id', e.request_id,
  'previous_hash', pg_catalog.encode(e.previous_hash, 'hex'), 'hash', pg_catalog.encode(e.hash, 'hex'));

grant execute on function internal.export_ts(timestamptz), internal.audit_event_export(audit.audit_events),
  internal.session_event_export(audit.session_events) to axiom_definer;

-- A bounded page size argument.
create function internal.limit_arg(p integer, p_max integer)
returns integer
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p is null then
    return least(100, p_max);
  end if;
  if p < 1 or p > p_max then
    perform internal.raise('AX400', format('limit is from 1 to %s', p_max), 'invalid_limit');
  end if;
  return p;
end
$$;
grant execute on function internal.limit_arg(integer, integer) to axiom_definer;

-- A keyset cursor for newest-first listings: "<occurred_at as exported>|<id>" of the last row seen.
create function internal.parse_time_cursor(p text, out at timestamptz, out id uuid)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p is null then
    return;
  end if;
  if p !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    perform internal.raise('AX400', 'before is the cursor of the previous page', 'invalid_cursor');
  end if;
  at := split_part(p, '|', 1)::timestamptz;
  id := split_part(p, '|', 2)::uuid;
end
$$;
grant execute on function internal.parse_time_cursor(text) to axiom_definer;

-- Requires: audit:read organization-wide. Newest first; filter.before (a cursor) pages backwards.
create function api.audit_event_list(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_limit integer;
  v_before record;
  v_type text;
  v_target uuid;
begin
  v_caller := internal.begin_call(p_caller, 'audit.event_list');
  perform internal.require(v_caller, 'read', 'audit', null);
  if p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    perform internal.raise('AX400', 'filter is an object', 'invalid_filter');
  end if;
  v_limit := internal.limit_arg((p_filter ->> 'limit')::integer, 500);
  v_before := internal.parse_time_cursor(p_filter ->> 'before');
  v_type := p_filter ->> 'event_type';
  v_target := (p_filter ->> 'target_id')::uuid;
  select coalesce(jsonb_agg(internal.audit_event_export(e) - 'state_ciphertext'
                            || jsonb_build_object('has_state', e.state_ciphertext is not null,
                                                  'cursor', internal.export_ts(e.occurred_at) || '|' || e.id)
                            order by e.occurred_at desc, e.id desc),
                  '[]'::jsonb)
    into v_result
    from (select * from audit.audit_events e
           where e.organization_id = v_caller.organization_id
             and (v_before.at is null or (e.occurred_at, e.id) < (v_before.at, v_before.id))
             and (v_type is null or e.event_type = v_type)
             and (v_target is null or e.target_id = v_target or v_target = any (e.related_ids))
           order by e.occurred_at desc, e.id desc
           limit v_limit) e;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.audit_event_list(jsonb, jsonb) is 'Requires: audit:read organization-wide.';

-- Requires: audit:read organization-wide.
create function api.session_event_list(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_limit integer;
  v_before record;
  v_outcome text;
  v_principal uuid;
begin
  v_caller := internal.begin_call(p_caller, 'audit.session_event_list');
  perform internal.require(v_caller, 'read', 'audit', null);
  if p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    perform internal.raise('AX400', 'filter is an object', 'invalid_filter');
  end if;
  v_limit := internal.limit_arg((p_filter ->> 'limit')::integer, 500);
  v_before := internal.parse_time_cursor(p_filter ->> 'before');
  v_outcome := p_filter ->> 'outcome';
  v_principal := (p_filter ->> 'principal_id')::uuid;
  select coalesce(jsonb_agg(internal.session_event_export(e)
                            || jsonb_build_object('cursor', internal.export_ts(e.occurred_at) || '|' || e.id)
                            order by e.occurred_at desc, e.id desc), '[]'::jsonb)
    into v_result
    from (select * from audit.session_events e
           where e.organization_id = v_caller.organization_id
             and (v_before.at is null or (e.occurred_at, e.id) < (v_before.at, v_before.id))
             and (v_outcome is null or e.outcome = v_outcome)
             and (v_principal is null or e.principal_id = v_principal)
           order by e.occurred_at desc, e.id desc
           limit v_limit) e;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.session_event_list(jsonb, jsonb) is 'Requires: audit:read organization-wide.';

-- Requires: audit:read organization-wide. Verifies the caller's organization and records the result.
create function api.chain_verify(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_problems jsonb;
  v_counts jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'audit.chain_verify');
  perform internal.require(v_caller, 'read', 'audit', null);
  select coalesce(jsonb_agg(jsonb_build_object('table', v.table_name, 'record_id', v.record_id,
                                               'position', v.pos, 'problem', v.problem)), '[]'::jsonb)
    into v_problems
    from internal.verify_all(v_caller.organization_id, 100) v;
  select jsonb_object_agg(c.table_name, c.rows) into v_counts from internal.chain_counts(v_caller.organization_id) c;
  perform internal.append_audit_event(v_caller.organization_id, 'chain.verified', v_caller.session_id,
    v_caller.principal_id, 'audit', null, null, null,
    p_details => jsonb_build_object('intact', jsonb_array_length(v_problems) = 0, 'counts', v_counts,
                                    'first_problem', v_problems -> 0));
  return internal.succeed(v_caller, jsonb_build_object('intact', jsonb_array_length(v_problems) = 0,
    'problems', v_problems, 'counts', v_counts));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.chain_verify(jsonb) is 'Requires: audit:read organization-wide.';

-- Requires: the installation bootstrap secret. Verifies every organization's chains; answers with
-- identifiers and problem names only.
create function api.installation_verify(p_bootstrap_secret text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_problems jsonb;
  v_counts jsonb;
  v_detail text;
begin
  if p_bootstrap_secret is null or length(p_bootstrap_secret) > 256 or not exists (
       select 1 from internal.installation i where i.bootstrap_secret_hash = internal.token_hash(p_bootstrap_secret)) then
    return internal.error_envelope('AX401', 'the installation bootstrap secret is wrong', 'bad_bootstrap_secret');
  end if;
  select coalesce(jsonb_agg(jsonb_build_object('table', v.table_name, 'organization_id', v.organization_id,
                                               'record_id', v.record_id, 'position', v.pos, 'problem', v.problem)),
                  '[]'::jsonb)
    into v_problems
    from internal.verify_all(null, 100) v;
  select jsonb_object_agg(c.table_name, c.rows) into v_counts from internal.chain_counts(null) c;
  return jsonb_build_object('ok', true, 'data', jsonb_build_object(
    'intact', jsonb_array_length(v_problems) = 0, 'problems', v_problems, 'counts', v_counts));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.error_envelope(sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.installation_verify(text) is 'Requires: the installation bootstrap secret.';

-- Requires: audit:read organization-wide. One page of an export stream of the caller's organization:
--   'manifest'                         the list of streams (one row)
--   'audit_events' | 'session_events'  cursor = '<lane>/<seq>' of the last row (ordered by lane, then seq)
--   'records:<kind>'                   cursor = '<item id>/<version>' (ordered by item, then version)
create function api.audit_export(p_caller jsonb, p_stream text, p_cursor text default null, p_limit integer default 1000)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_rows jsonb;
  v_limit integer;
  v_after_lane smallint;
  v_after_seq bigint;
  v_after_item uuid;
  v_after_version integer;
  v_reg internal.controlled_tables;
  v_next text;
begin
  v_caller := internal.begin_call(p_caller, 'audit.export');
  perform internal.require(v_caller, 'read', 'audit', null);
  v_limit := internal.limit_arg(p_limit, 5000);
  if p_stream = 'manifest' then
    select jsonb_build_array(jsonb_build_object(
             'stream', 'manifest', 'format', 'axiom-export-v1', 'organization_id', v_caller.organization_id,
             'exported_at', internal.export_ts(clock_timestamp()),
             'streams', jsonb_build_array('audit_events', 'session_events') ||
                        coalesce((select jsonb_agg('records:' || c.kind order by c.kind) from internal.controlled_tables c), '[]'::jsonb))),
           null
      into v_rows, v_next;
  elsif p_stream in ('audit_events', 'session_events') then
    if p_cursor is not null and p_cursor !~ '^[0-9]{1,2}/[0-9]{1,18}$' then
      perform internal.raise('AX400', 'cursor is <lane>/<seq> of the previous page', 'invalid_cursor');
    end if;
    v_after_lane := coalesce(split_part(p_cursor, '/', 1)::smallint, -1);
    v_after_seq := coalesce(split_part(p_cursor, '/', 2)::bigint, 0);
    if p_stream = 'audit_events' then
      select coalesce(jsonb_agg(internal.audit_event_export(e) order by e.lane, e.seq), '[]'::jsonb),
             (array_agg(e.lane || '/' || e.seq order by e.lane desc, e.seq desc))[1]
        into v_rows, v_next
        from (select * from audit.audit_events e
               where e.organization_id = v_caller.organization_id and (e.lane, e.seq) > (v_after_lane, v_after_seq)
               order by e.lane, e.seq limit v_limit) e;
    else
      select coalesce(jsonb_agg(internal.session_event_export(e) order by e.lane, e.seq), '[]'::jsonb),
             (array_agg(e.lane || '/' || e.seq order by e.lane desc, e.seq desc))[1]
        into v_rows, v_next
        from (select * from audit.session_events e
               where e.organization_id = v_caller.organization_id and (e.lane, e.seq) > (v_after_lane, v_after_seq)
               order by e.lane, e.seq limit v_limit) e;
    end if;
  elsif p_stream like 'records:%' then
    v_reg := internal.controlled_table(substr(p_stream, 9));
    if p_cursor is not null then
      if p_cursor !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}/[0-9]{1,9}$' then
        perform internal.raise('AX400', 'cursor is <item id>/<version> of the previous page', 'invalid_cursor');
      end if;
      v_after_item := split_part(p_cursor, '/', 1)::uuid;
      v_after_version := split_part(p_cursor, '/', 2)::integer;
    end if;
    select coalesce(jsonb_agg(x.j order by x.id, x.version), '[]'::jsonb),
           (array_agg(x.id::text || '/' || x.version order by x.id desc, x.version desc))[1]
      into v_rows, v_next
      from (select r.id, r.version, jsonb_build_object(
              'stream', 'records', 'table', v_reg.table_name, 'record_id', r.record_id, 'id', r.id,
              'organization_id', r.organization_id, 'facility_id', r.facility_id, 'domain', r.domain,
              'item_key', r.item_key, 'version', r.version, 'previous_record_id', r.previous_record_id,
              'content', r.content::text, 'created_at', internal.export_ts(r.created_at), 'created_by', r.created_by,
              'change_reason', r.change_reason, 'change_request_id', r.change_request_id,
              'lifecycle_state', r.lifecycle_state,
              'previous_record_hash', encode(r.previous_record_hash, 'hex'),
              'record_hash', encode(r.record_hash, 'hex')) as j
              from core.records r
             where r.kind = v_reg.kind and r.organization_id = v_caller.organization_id
               and (v_after_item is null or (r.id, r.version) > (v_after_item, v_after_version))
             order by r.id, r.version
             limit v_limit) x;
  else
    perform internal.raise('AX400', 'stream is manifest, audit_events, session_events or records:<kind>', 'invalid_stream');
  end if;
  return internal.succeed(v_caller, jsonb_build_object(
    'rows', v_rows, 'next_cursor', case when jsonb_array_length(v_rows) < v_limit then null else v_next end));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.audit_export(jsonb, text, text, integer) is 'Requires: audit:read organization-wide.';

-- Requires: audit:read organization-wide. The organization's wrapped private key, for the application
-- to unseal audit states; the database cannot unwrap it.
create function api.organization_key_get(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'organization.key_get');
  perform internal.require(v_caller, 'read', 'audit', null);
  select coalesce(jsonb_agg(jsonb_build_object(
           'key_id', k.id, 'kek_id', k.kek_id, 'created_at', k.created_at, 'retired_at', k.retired_at,
           'wrapped_private_key', translate(encode(k.wrapped_private_key, 'base64'), E'\n', ''))
           order by k.created_at), '[]'::jsonb)
    into v_result
    from core.organization_keys k;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.organization_key_get(jsonb) is 'Requires: audit:read organization-wide.';

-- ---------------------------------------------------------------------------------------------
-- Hand every api function to its owner and expose it to the application roles. This runs at the end
-- of every migration that adds api functions (db/CONVENTIONS.md).
-- ---------------------------------------------------------------------------------------------
create procedure internal.finalize_api()
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_fn regprocedure;
begin
  for v_fn in
    select p.oid::regprocedure from pg_proc p
     where p.pronamespace = 'api'::regnamespace and p.proowner <> 'axiom_definer'::regrole
  loop
    call internal.set_function_owner(v_fn, 'axiom_definer');
    -- Hashes cover UTF-8 bytes (db/migrations/001): every call runs with client_encoding UTF8.
    execute format('alter function %s set client_encoding = %L', v_fn, 'UTF8');
  end loop;
  revoke all on all functions in schema api from public;
  grant execute on all functions in schema api to axiom_user, axiom_worker;
end
$$;

call internal.finalize_api();
