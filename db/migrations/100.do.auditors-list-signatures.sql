-- 100: an auditor lists the signatures of a record, as they may already verify each one; a scoped
-- API token no longer borrows its owner's audit:read to verify one.
--
-- api.signature_verify accepts audit:read organization-wide or read in the signed record's domain;
-- api.signature_list (014) accepted only the latter for a record, so a person holding audit:read could
-- verify a signature whose id they knew but not find the signatures of a record. Now the two rules
-- are the same. Without a record, the list is still the caller's own signatures.
--
-- signature_verify (014) tested the audit:read exemption with has_grant alone: an API token scoped to,
-- say, security:read of a person holding audit:read could verify any signature of the organization.
-- Both functions now take the exemption only when the token's scope allows audit:read as well
-- (internal.require, the other branch, always intersected the scope).

-- The rule both functions apply to a signed record: audit:read organization-wide, when the caller's
-- token (if any) is scoped to allow it, else read in the record's domain at its facility (AX403).
create function internal.require_signature_reader(p_caller internal.caller, p_rec core.records)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if not (internal.has_grant(p_caller.principal_id, 'read', 'audit', null)
          and internal.scope_allows(p_caller.scope, 'read', 'audit', null)) then
    perform internal.require(p_caller, 'read', p_rec.domain, p_rec.facility_id);
  end if;
end
$$;
grant execute on function internal.require_signature_reader(internal.caller, core.records) to axiom_definer;

-- Requires: a valid session; for a record, audit:read organization-wide or read in the record's domain
-- at its facility.
create or replace function api.signature_list(p_caller jsonb, p_record_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_rec core.records;
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.list');
  if p_record_id is not null then
    select * into v_rec from core.records r where r.record_id = p_record_id;
    if v_rec.record_id is null then
      perform internal.raise('AX404', 'record not found', 'record_not_found');
    end if;
    perform internal.require_signature_reader(v_caller, v_rec);
  end if;
  select coalesce(jsonb_agg(internal.signature_json(s) order by s.signed_at), '[]'::jsonb) into v_result
    from audit.signatures s
   where (p_record_id is not null and s.record_id = p_record_id)
      or (p_record_id is null and s.signer_id = v_caller.principal_id);
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_list(jsonb, uuid) is
  'Requires: a valid session; for a record, audit:read organization-wide or read in the record''s domain.';

-- Requires: audit:read organization-wide (within a token's scope), or read in the signed record's
-- domain. As in 014 but for the scope.
create or replace function api.signature_verify(p_caller jsonb, p_signature_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  s audit.signatures;
  v_rec core.records;
  v_hash_ok boolean;
  v_recomputed bytea;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.verify');
  select * into s from audit.signatures x where x.id = p_signature_id;
  if s.id is null then
    perform internal.raise('AX404', 'signature not found', 'signature_not_found');
  end if;
  select * into v_rec from core.records r where r.record_id = s.record_id;
  perform internal.require_signature_reader(v_caller, v_rec);
  v_hash_ok := s.hash = internal.signature_hash(s.organization_id, s.lane, s.seq, s.id, s.signed_at, s.signer_id,
    s.signer_name, s.signer_email, s.meaning, s.record_table, s.record_id, s.record_hash, s.factors, s.continuous,
    s.challenge_id, s.session_id, s.previous_hash);
  if v_rec.record_id is not null then
    v_recomputed := internal.controlled_record_hash(s.record_table, v_rec.record_id, v_rec.id, v_rec.organization_id,
      v_rec.facility_id, v_rec.domain, v_rec.item_key, v_rec.version, v_rec.previous_record_id, v_rec.content,
      v_rec.created_at, v_rec.created_by, v_rec.change_reason, v_rec.change_request_id, v_rec.previous_record_hash);
  end if;
  return internal.succeed(v_caller, internal.signature_json(s) || jsonb_build_object(
    'signature_hash_valid', v_hash_ok,
    'record_unchanged', v_recomputed is not null and v_recomputed = s.record_hash and v_rec.record_hash = s.record_hash,
    'valid', v_hash_ok and v_recomputed is not null and v_recomputed = s.record_hash and v_rec.record_hash = s.record_hash),
    'signature', s.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_verify(jsonb, uuid) is
  'Requires: audit:read organization-wide (within a token''s scope), or read in the signed record''s domain.';

call internal.finalize_api();
