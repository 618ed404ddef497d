-- 041: the evidence export (issue 8). Replaces api.audit_export (010) with a version that also exports the
-- signature chain, pages by keyset in one transaction per call, and can answer a page as JSON Lines text
-- rendered here, so the server streams it without decoding and re-encoding every row.
--
-- Who may export: audit:read organization-wide. The trail is chained per organization (lanes mix every
-- facility), so a facility-scoped audit grant cannot be given a verifiable part of it and gets nothing.
-- The export carries every hashed field in the export encoding of docs/hashing.md, the sealed
-- before/after states as ciphertext (the chain covers the ciphertext; reading them needs the
-- organization's private key), and nothing of any other organization.

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('audit.exported', 'The audit trail of the organization was exported', '{CC4.1,CC7.2}', '{A.5.28,A.8.15}',
   '{11.10(b),11.10(e)}');

-- One function per stream, each returning the page's rows in export order with the export's columns in
-- the order they appear in a JSON line. SQL functions with a single SELECT: the planner inlines them.
create function internal.export_audit_events(p_org uuid, p_after_lane smallint, p_after_seq bigint, p_limit integer,
                                             p_archived_before timestamptz)
returns table (
  stream text, organization_id uuid, lane smallint, seq bigint, id uuid, occurred_at text, session_id uuid,
  actor_id uuid, event_type text, domain core.domain, facility_id uuid, target_table text, target_id uuid,
  target_record_id uuid, target_record_hash text, related_ids uuid[], reason text, details text,
  state_ciphertext text, key_id uuid, previous_hash text, hash text, archived boolean
)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select 'audit_events', e.organization_id, e.lane, e.seq, e.id, internal.export_ts(e.occurred_at), e.session_id,
         e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table, e.target_id, e.target_record_id,
         encode(e.target_record_hash, 'hex'), e.related_ids, e.reason, e.details::text,
         translate(encode(e.state_ciphertext, 'base64'), E'\n', ''), e.key_id, encode(e.previous_hash, 'hex'),
         encode(e.hash, 'hex'), e.occurred_at < p_archived_before
    from audit.audit_events e
   where e.organization_id = p_org and (e.lane, e.seq) > (p_after_lane, p_after_seq)
   order by e.lane, e.seq
   limit p_limit
$$;

create function internal.export_session_events(p_org uuid, p_after_lane smallint, p_after_seq bigint, p_limit integer,
                                               p_archived_before timestamptz)
returns table (
  stream text, organization_id uuid, lane smallint, seq bigint, id uuid, occurred_at text, session_id uuid,
  principal_id uuid, operation text, target_type text, target_id uuid, outcome text, error_code text,
  client_ip text, request_id text, previous_hash text, hash text, archived boolean
)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select 'session_events', e.organization_id, e.lane, e.seq, e.id, internal.export_ts(e.occurred_at), e.session_id,
         e.principal_id, e.operation, e.target_type, e.target_id, e.outcome, e.error_code, e.client_ip::text,
         e.request_id, encode(e.previous_hash, 'hex'), encode(e.hash, 'hex'), e.occurred_at < p_archived_before
    from audit.session_events e
   where e.organization_id = p_org and (e.lane, e.seq) > (p_after_lane, p_after_seq)
   order by e.lane, e.seq
   limit p_limit
$$;

create function internal.export_signatures(p_org uuid, p_after_lane smallint, p_after_seq bigint, p_limit integer)
returns table (
  stream text, organization_id uuid, lane smallint, seq bigint, id uuid, signed_at text, signer_id uuid,
  signer_name text, signer_email text, meaning text, record_table text, record_id uuid, record_hash text,
  factors text[], continuous boolean, challenge_id uuid, session_id uuid, previous_hash text, hash text
)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select 'signatures', s.organization_id, s.lane, s.seq, s.id, internal.export_ts(s.signed_at), s.signer_id,
         s.signer_name, s.signer_email, s.meaning, s.record_table, s.record_id, encode(s.record_hash, 'hex'),
         s.factors, s.continuous, s.challenge_id, s.session_id, encode(s.previous_hash, 'hex'), encode(s.hash, 'hex')
    from audit.signatures s
   where s.organization_id = p_org and (s.lane, s.seq) > (p_after_lane, p_after_seq)
   order by s.lane, s.seq
   limit p_limit
$$;

create function internal.export_records(p_org uuid, p_kind text, p_table text, p_after_item uuid,
                                        p_after_version integer, p_limit integer)
returns table (
  stream text, "table" text, record_id uuid, id uuid, organization_id uuid, facility_id uuid, domain core.domain,
  item_key text, version integer, previous_record_id uuid, content text, created_at text, created_by uuid,
  change_reason text, change_request_id uuid, lifecycle_state core.lifecycle_state, previous_record_hash text,
  record_hash text
)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select 'records', p_table, r.record_id, r.id, r.organization_id, r.facility_id, r.domain, r.item_key, r.version,
         r.previous_record_id, r.content::text, internal.export_ts(r.created_at), r.created_by, r.change_reason,
         r.change_request_id, r.lifecycle_state, encode(r.previous_record_hash, 'hex'), encode(r.record_hash, 'hex')
    from core.records r
   where r.kind = p_kind and r.organization_id = p_org
     and (p_after_item is null or (r.id, r.version) > (p_after_item, p_after_version))
   order by r.id, r.version
   limit p_limit
$$;

grant execute on function
  internal.export_audit_events(uuid, smallint, bigint, integer, timestamptz),
  internal.export_session_events(uuid, smallint, bigint, integer, timestamptz),
  internal.export_signatures(uuid, smallint, bigint, integer),
  internal.export_records(uuid, text, text, uuid, integer, integer)
  to axiom_definer;

drop function api.audit_export(jsonb, text, text, integer);

-- Requires: audit:read organization-wide. One page of one export stream of the caller's organization:
--   'manifest'                                      the organization and the list of streams (one row);
--                                                   asking for it records an audit.exported event
--   'audit_events' | 'session_events' | 'signatures' cursor '<lane>/<seq>' of the last row (lane, then seq)
--   'records:<kind>'                                cursor '<item id>/<version>' (item, then version)
-- p_format 'json' answers {rows: [...], next_cursor}; 'jsonl' answers {text, count, next_cursor} with one
-- JSON object per line (the same keys and values). next_cursor is null on the last page.
create function api.audit_export(p_caller jsonb, p_stream text, p_cursor text default null,
                                 p_limit integer default 1000, p_format text default 'json')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_org core.organizations;
  v_rows jsonb;
  v_text text;
  v_count integer;
  v_limit integer;
  v_after_lane smallint;
  v_after_seq bigint;
  v_after_item uuid;
  v_after_version integer;
  v_reg internal.controlled_tables;
  v_next text;
  v_archived timestamptz;
begin
  v_caller := internal.begin_call(p_caller, 'audit.export');
  perform internal.require(v_caller, 'read', 'audit', null);
  if p_format is null or p_format not in ('json', 'jsonl') then
    perform internal.raise('AX400', 'format is json or jsonl', 'invalid_format');
  end if;
  v_limit := internal.limit_arg(p_limit, case p_format when 'json' then 5000 else 20000 end);
  select * into v_org from core.organizations o where o.id = v_caller.organization_id;
  v_archived := coalesce(v_org.archived_before, '-infinity');

  if p_stream = 'manifest' then
    perform internal.append_audit_event(v_caller.organization_id, 'audit.exported', v_caller.session_id,
      v_caller.principal_id, 'audit', p_details => jsonb_build_object('format', p_format));
    v_rows := jsonb_build_array(jsonb_build_object(
      'stream', 'manifest', 'format', 'axiom-export-v2', 'organization_id', v_org.id,
      'organization_slug', v_org.slug, 'plan_tier', v_org.plan_tier,
      'database_time', internal.export_ts(clock_timestamp()),
      'archived_before', case when v_org.archived_before is null then null else internal.export_ts(v_org.archived_before) end,
      'legal_hold', v_org.legal_hold,
      'streams', jsonb_build_array('audit_events', 'session_events', 'signatures') ||
                 coalesce((select jsonb_agg('records:' || c.kind order by c.kind) from internal.controlled_tables c),
                          '[]'::jsonb)));
    return internal.succeed(v_caller, case p_format
      when 'json' then jsonb_build_object('rows', v_rows, 'next_cursor', null)
      else jsonb_build_object('text', (v_rows -> 0)::text, 'count', 1, 'next_cursor', null) end);
  elsif p_stream in ('audit_events', 'session_events', 'signatures') then
    if p_cursor is not null and p_cursor !~ '^[0-9]{1,2}/[0-9]{1,18}$' then
      perform internal.raise('AX400', 'cursor is <lane>/<seq> of the previous page', 'invalid_cursor');
    end if;
    v_after_lane := coalesce(split_part(p_cursor, '/', 1)::smallint, -1);
    v_after_seq := coalesce(split_part(p_cursor, '/', 2)::bigint, 0);
    if p_stream = 'audit_events' then
      select case when p_format = 'json' then coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb) end,
             case when p_format = 'jsonl' then string_agg(row_to_json(x)::text, E'\n') end,
             count(*), (array_agg(x.lane || '/' || x.seq order by x.lane desc, x.seq desc))[1]
        into v_rows, v_text, v_count, v_next
        from internal.export_audit_events(v_org.id, v_after_lane, v_after_seq, v_limit, v_archived) x;
    elsif p_stream = 'session_events' then
      select case when p_format = 'json' then coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb) end,
             case when p_format = 'jsonl' then string_agg(row_to_json(x)::text, E'\n') end,
             count(*), (array_agg(x.lane || '/' || x.seq order by x.lane desc, x.seq desc))[1]
        into v_rows, v_text, v_count, v_next
        from internal.export_session_events(v_org.id, v_after_lane, v_after_seq, v_limit, v_archived) x;
    else
      select case when p_format = 'json' then coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb) end,
             case when p_format = 'jsonl' then string_agg(row_to_json(x)::text, E'\n') end,
             count(*), (array_agg(x.lane || '/' || x.seq order by x.lane desc, x.seq desc))[1]
        into v_rows, v_text, v_count, v_next
        from internal.export_signatures(v_org.id, v_after_lane, v_after_seq, v_limit) x;
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
    select case when p_format = 'json' then coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb) end,
           case when p_format = 'jsonl' then string_agg(row_to_json(x)::text, E'\n') end,
           count(*), (array_agg(x.id::text || '/' || x.version order by x.id desc, x.version desc))[1]
      into v_rows, v_text, v_count, v_next
      from internal.export_records(v_org.id, v_reg.kind, v_reg.table_name, v_after_item, v_after_version, v_limit) x;
  else
    perform internal.raise('AX400',
      'stream is manifest, audit_events, session_events, signatures or records:<kind>', 'invalid_stream');
  end if;
  if v_count < v_limit then
    v_next := null;
  end if;
  return internal.succeed(v_caller, case p_format
    when 'json' then jsonb_build_object('rows', v_rows, 'next_cursor', v_next)
    else jsonb_build_object('text', coalesce(v_text, ''), 'count', v_count, 'next_cursor', v_next) end);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.audit_export(jsonb, text, text, integer, text) is 'Requires: audit:read organization-wide.';

call internal.finalize_api();
