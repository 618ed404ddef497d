-- 014: electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.100, §11.200).
--
-- A signature starts as a challenge bound to the exact record being signed (record_id and record_hash)
-- and a meaning; it is valid for 5 minutes and consumed by exactly one signature. The signing policy in
-- force says which factors the signer must present (any one of several sets). The signature row records
-- the signer's printed name, the server's UTC time, the meaning, the factors used and the record's id and
-- hash; signatures are append-only and hash-chained (in lanes) like audit events, and verifying one
-- fails when the record it covers has changed.

-- ---------------------------------------------------------------------------------------------
-- The factor registry and the signing policies (controlled records, change-managed).
-- ---------------------------------------------------------------------------------------------
create table internal.signature_factors (
  factor text primary key check (factor ~ '^[a-z_]{3,40}$'),
  description text not null
);
grant select on internal.signature_factors to axiom_definer, axiom_reporting;
insert into internal.signature_factors (factor, description) values
  ('password', 'Re-enter the account password (verified in the database); with the e-mail address when §11.200 requires all components'),
  ('webauthn', 'A hardware security key or platform authenticator enrolled by the signer (sign counter checked)'),
  ('oidc_reauth', 'A fresh sign-in at the organization''s OpenID provider (prompt=login, max_age=0; auth_time checked)');

call internal.add_record_kind('signing_policy', 'core.signing_policies', true, 'configuration',
  'Signing policies: which factors an e-signature needs, by domain, action and risk tier.');

-- Content rules, replaced to add signing policies (the other kinds keep theirs).
create or replace function internal.validate_content(p_kind text, p_content jsonb)
returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_rule jsonb;
  v_set jsonb;
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
  if p_kind = 'signing_policy' then
    if jsonb_typeof(p_content -> 'rules') is distinct from 'array' or jsonb_array_length(p_content -> 'rules') not between 1 and 100 then
      perform internal.raise('AX400', 'a signing policy has 1 to 100 rules', 'invalid_content');
    end if;
    for v_rule in select * from jsonb_array_elements(p_content -> 'rules') loop
      if jsonb_typeof(v_rule) <> 'object'
         or coalesce(v_rule ->> 'domain', '') not in ('*', 'cost', 'security', 'drift', 'configuration', 'audit')
         or coalesce(v_rule ->> 'risk_tier', '') not in ('*', 'low', 'medium', 'high')
         or coalesce(v_rule ->> 'action', '') !~ '^(\*|[a-z_]{2,40})$'
         or jsonb_typeof(v_rule -> 'any_of') is distinct from 'array' or jsonb_array_length(v_rule -> 'any_of') = 0 then
        perform internal.raise('AX400',
          'a rule is {domain, action, risk_tier, any_of: [[factor, ...], ...]} (domain, action and risk tier may be "*")',
          'invalid_content');
      end if;
      for v_set in select * from jsonb_array_elements(v_rule -> 'any_of') loop
        if jsonb_typeof(v_set) <> 'array' or jsonb_array_length(v_set) = 0
           or exists (select 1 from jsonb_array_elements_text(v_set) f
                       where f not in (select s.factor from internal.signature_factors s)) then
          perform internal.raise('AX400', 'any_of lists non-empty sets of known factors', 'invalid_content');
        end if;
      end loop;
    end loop;
  end if;
end
$$;

-- The factor sets a signature needs: the organization-wide signing policy in force, most specific rule
-- first; without a policy, the defaults (low and medium: password; high: webauthn or oidc_reauth).
create function internal.required_factors(p_domain core.domain, p_action text, p_risk_tier text)
returns jsonb
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_rules jsonb;
  v_any jsonb;
begin
  select r.content -> 'rules' into v_rules from core.records r
   where r.kind = 'signing_policy' and r.facility_id is null and r.lifecycle_state = 'effective'
   order by r.created_at desc limit 1;
  if v_rules is not null then
    select x -> 'any_of' into v_any
      from jsonb_array_elements(v_rules) x
     where (x ->> 'domain' = '*' or x ->> 'domain' = p_domain::text)
       and (x ->> 'action' = '*' or x ->> 'action' = p_action)
       and (x ->> 'risk_tier' = '*' or x ->> 'risk_tier' = p_risk_tier)
     order by (x ->> 'domain' = '*')::int + (x ->> 'action' = '*')::int + (x ->> 'risk_tier' = '*')::int
     limit 1;
    if v_any is not null then
      return v_any;
    end if;
  end if;
  return case p_risk_tier when 'high' then '[["webauthn"], ["oidc_reauth"]]'::jsonb else '[["password"]]'::jsonb end;
end
$$;
grant execute on function internal.required_factors(core.domain, text, text) to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Challenges and signatures
-- ---------------------------------------------------------------------------------------------
alter table core.sessions add column last_signed_at timestamptz;
grant update (last_signed_at) on core.sessions to axiom_definer;

create table core.signature_challenges (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null,
  session_id uuid not null,
  target_type text not null check (target_type in ('change_request', 'record')),
  target_id uuid not null,
  record_kind text not null,
  record_id uuid not null,
  record_hash bytea not null check (length(record_hash) = 32),
  meaning text not null check (meaning in ('authored', 'reviewed', 'approved', 'rejected', 'responsibility')),
  domain core.domain not null,
  facility_id uuid,
  action text not null check (length(action) between 1 and 60),
  risk_tier text not null check (risk_tier in ('low', 'medium', 'high')),
  required_factors jsonb not null,
  -- §11.200: outside a continuous session (or at its first signing) every identification component.
  identification_required boolean not null,
  webauthn_challenge text not null check (webauthn_challenge ~ '^[A-Za-z0-9_-]{43}$'),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- Lifecycle.
  satisfied_factors text[] not null default '{}',
  identification_confirmed boolean not null default false,
  consumed_at timestamptz,
  signature_id uuid,
  foreign key (organization_id, principal_id) references core.principals (organization_id, id)
);
create index signature_challenges_principal on core.signature_challenges (principal_id, created_at desc);

create table audit.signatures (
  organization_id uuid not null references core.organizations (id),
  lane smallint not null check (lane between 0 and 15),
  seq bigint not null check (seq >= 1),
  id uuid not null unique,
  signed_at timestamptz not null,
  signer_id uuid not null,
  signer_name text not null,
  signer_email text not null,
  meaning text not null,
  record_table text not null,
  record_id uuid not null,
  record_hash bytea not null check (length(record_hash) = 32),
  factors text[] not null,
  continuous boolean not null,
  challenge_id uuid not null,
  session_id uuid not null,
  previous_hash bytea check (length(previous_hash) = 32),
  hash bytea not null check (length(hash) = 32),
  primary key (organization_id, lane, seq),
  check ((seq = 1) = (previous_hash is null))
);
create index signatures_record on audit.signatures (organization_id, record_id);
comment on table audit.signatures is 'Electronic signatures (Part 11). Append-only, hash-chained per organization in lanes.';

do $rls$
begin
  execute 'alter table core.signature_challenges enable row level security';
  execute 'alter table core.signature_challenges force row level security';
  execute $p$create policy tenant on core.signature_challenges
    using (organization_id = (select internal.current_org_id()))
    with check (organization_id = (select internal.current_org_id()))$p$;
  execute 'alter table audit.signatures enable row level security';
  execute 'alter table audit.signatures force row level security';
  execute $p$create policy tenant on audit.signatures
    using (organization_id = (select internal.current_org_id()))
    with check (organization_id = (select internal.current_org_id()))$p$;
end
$rls$;
create trigger _900_no_delete before delete on core.signature_challenges
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.signature_challenges
  for each statement execute function internal.tg__no_delete();
create trigger _900_append_only before update or delete on audit.signatures
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on audit.signatures
  for each statement execute function internal.tg__append_only();

grant select on core.signature_challenges, audit.signatures to axiom_definer;
grant select on audit.signatures to axiom_reporting, axiom_verifier;
grant insert (id, organization_id, principal_id, session_id, target_type, target_id, record_kind, record_id, record_hash,
  meaning, domain, facility_id, action, risk_tier, required_factors, identification_required, webauthn_challenge,
  expires_at) on core.signature_challenges to axiom_definer;
grant update (satisfied_factors, identification_confirmed, consumed_at, signature_id) on core.signature_challenges
  to axiom_definer;
grant insert on audit.signatures to axiom_definer;

create function internal.signature_hash(
  p_organization_id uuid, p_lane smallint, p_seq bigint, p_id uuid, p_signed_at timestamptz, p_signer_id uuid,
  p_signer_name text, p_signer_email text, p_meaning text, p_record_table text, p_record_id uuid, p_record_hash bytea,
  p_factors text[], p_continuous boolean, p_challenge_id uuid, p_session_id uuid, p_previous_hash bytea
)
returns bytea
language sql stable parallel safe
return pg_catalog.sha256(
  internal.enc_header('audit.signatures')
  || internal.enc_uuid(p_organization_id)
  || internal.enc_int4(p_lane)
  || internal.enc_int8(p_seq)
  || internal.enc_uuid(p_id)
  || internal.enc_ts(p_signed_at)
  || internal.enc_uuid(p_signer_id)
  || internal.enc_text(p_signer_name)
  || internal.enc_text(p_signer_email)
  || internal.enc_text(p_meaning)
  || internal.enc_text(p_record_table)
  || internal.enc_uuid(p_record_id)
  || internal.enc_bytea(p_record_hash)
  || internal.enc_text(pg_catalog.array_to_string(p_factors, ','))
  || internal.enc_bool(p_continuous)
  || internal.enc_uuid(p_challenge_id)
  || internal.enc_uuid(p_session_id)
  || internal.enc_bytea(p_previous_hash));
grant execute on function internal.signature_hash(uuid, smallint, bigint, uuid, timestamptz, uuid, text, text, text, text,
  uuid, bytea, text[], boolean, uuid, uuid, bytea) to axiom_definer, axiom_verifier;

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('esignature.challenged', 'A signer asked to sign a record (challenge issued)', '{CC6.1}', '{A.8.5}', '{11.200(a)(1)}'),
  ('esignature.factor_verified', 'A signing factor was verified', '{CC6.1}', '{A.8.5}', '{11.200(a)(1)}'),
  ('esignature.failed', 'A signing attempt was refused', '{CC6.1,CC7.2}', '{A.8.5,A.8.16}', '{11.200(a)(1),11.300(d)}'),
  ('esignature.applied', 'An electronic signature was applied to a record', '{CC6.1,CC8.1}', '{A.8.5,A.8.32}', '{11.50,11.70,11.100(a),11.200(a)(1)}');

-- Record a refusal without rolling back what the call wrote before it (the failure itself must stay):
-- append the session event (denied) and answer with the error envelope.
create function internal.refuse(p_caller internal.caller, p_sqlstate text, p_message text, p_reason text)
returns jsonb
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.append_session_event(
    p_caller.organization_id, p_caller.session_id, p_caller.principal_id, p_caller.operation, 'denied',
    null, null, left(p_reason, 100), p_caller.client_ip, p_caller.request_id);
  return internal.error_envelope(p_sqlstate, p_message, p_reason);
end
$$;
grant execute on function internal.refuse(internal.caller, text, text, text) to axiom_definer;

-- How risky a change request is (its signature's risk tier): changes to signing policies and facility
-- configuration (autonomy, blast radius) are high; other configuration is medium.
create function internal.change_request_risk_tier(c core.change_requests)
returns text
language sql stable
return case when c.target_kind in ('signing_policy', 'facility_configuration') then 'high' else 'medium' end;
grant execute on function internal.change_request_risk_tier(core.change_requests) to axiom_definer;

create function internal.signature_challenge_json(c core.signature_challenges)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', c.id, 'target_type', c.target_type, 'target_id', c.target_id, 'record_kind', c.record_kind,
  'record_id', c.record_id, 'record_hash', pg_catalog.encode(c.record_hash, 'hex'), 'meaning', c.meaning,
  'risk_tier', c.risk_tier, 'required_factors', c.required_factors, 'identification_required', c.identification_required,
  'satisfied_factors', pg_catalog.to_jsonb(c.satisfied_factors), 'identification_confirmed', c.identification_confirmed,
  'expires_at', c.expires_at, 'consumed_at', c.consumed_at, 'signature_id', c.signature_id);
grant execute on function internal.signature_challenge_json(core.signature_challenges) to axiom_definer;

create function internal.signature_json(s audit.signatures)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', s.id, 'signed_at', s.signed_at, 'signer_id', s.signer_id, 'signer_name', s.signer_name,
  'signer_email', s.signer_email, 'meaning', s.meaning, 'record_table', s.record_table, 'record_id', s.record_id,
  'record_hash', pg_catalog.encode(s.record_hash, 'hex'), 'factors', pg_catalog.to_jsonb(s.factors),
  'continuous', s.continuous, 'lane', s.lane, 'seq', s.seq, 'hash', pg_catalog.encode(s.hash, 'hex'));
grant execute on function internal.signature_json(audit.signatures) to axiom_definer;

-- The challenge of the caller, open (not consumed, not expired).
create function internal.open_challenge(p_caller internal.caller, p_challenge_id uuid)
returns core.signature_challenges
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.signature_challenges;
begin
  select * into v from core.signature_challenges c where c.id = p_challenge_id;
  if v.id is null or v.principal_id <> p_caller.principal_id then
    -- Nobody signs for another: someone else's challenge is as good as unknown.
    perform internal.raise('AX404', 'signature challenge not found', 'challenge_not_found');
  end if;
  if v.session_id <> p_caller.session_id then
    perform internal.raise('AX403', 'a challenge is answered in the session that asked for it', 'challenge_other_session');
  end if;
  if v.consumed_at is not null then
    perform internal.raise('AX409', 'the challenge was already used by a signature', 'challenge_used');
  end if;
  if v.expires_at <= now() then
    perform internal.raise('AX410', 'the challenge expired; ask for a new one', 'challenge_expired');
  end if;
  return v;
end
$$;
grant execute on function internal.open_challenge(internal.caller, uuid) to axiom_definer;

-- Mark a factor as verified on a challenge.
create function internal.satisfy_factor(p_caller internal.caller, p_challenge core.signature_challenges, p_factor text,
                                        p_identified boolean)
returns core.signature_challenges
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.signature_challenges;
begin
  update core.signature_challenges c
     set satisfied_factors = (select array_agg(distinct f order by f)
                                from unnest(c.satisfied_factors || array[p_factor]) f),
         identification_confirmed = c.identification_confirmed or p_identified
   where c.id = p_challenge.id
  returning * into v;
  perform internal.append_audit_event(p_caller.organization_id, 'esignature.factor_verified', p_caller.session_id,
    p_caller.principal_id, v.domain, v.facility_id, 'core.signature_challenges', v.id, v.record_id, v.record_hash,
    p_details => jsonb_build_object('factor', p_factor, 'meaning', v.meaning));
  return v;
end
$$;
grant execute on function internal.satisfy_factor(internal.caller, core.signature_challenges, text, boolean) to axiom_definer;

-- Apply a signature: the challenge must be open, answered with one of the required factor sets (and
-- the identification when §11.200 asks for it), for this record and meaning, and the record must not
-- have changed since the challenge. The signer must be a person who is enabled (never the agent).
create function internal.create_signature(p_caller internal.caller, p_challenge_id uuid, p_record_id uuid, p_meaning text)
returns uuid
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ch core.signature_challenges;
  v_principal core.principals;
  v_current bytea;
  v_table text;
  v_ok boolean;
  v_prev record;
  v_sig audit.signatures;
begin
  if p_caller.is_agent then
    perform internal.raise('AX403', 'the agent never signs', 'agent_cannot_sign');
  end if;
  v_ch := internal.open_challenge(p_caller, p_challenge_id);
  if v_ch.record_id <> p_record_id or v_ch.meaning <> p_meaning then
    perform internal.raise('AX409', 'the challenge was issued for another record or meaning', 'challenge_mismatch');
  end if;
  select * into v_principal from core.principals p where p.id = p_caller.principal_id;
  if v_principal.disabled_at is not null or v_principal.kind <> 'human' then
    perform internal.raise('AX403', 'only enabled people sign', 'signer_not_allowed');
  end if;
  select exists (
    select 1 from jsonb_array_elements(v_ch.required_factors) s
     where not exists (select 1 from jsonb_array_elements_text(s) f where not (f = any (v_ch.satisfied_factors))))
    into v_ok;
  if not v_ok then
    perform internal.raise('AX401', format('this signature needs one of %s', v_ch.required_factors), 'factors_missing');
  end if;
  if v_ch.identification_required and not v_ch.identification_confirmed then
    perform internal.raise('AX401', 'the first signature of a session needs your e-mail address and password',
      'identification_missing');
  end if;
  select r.record_hash, c.table_name into v_current, v_table
    from core.records r join internal.controlled_tables c on c.kind = r.kind
   where r.kind = v_ch.record_kind and r.record_id = v_ch.record_id;
  if v_current is null or v_current <> v_ch.record_hash then
    perform internal.raise('AX409', 'the record changed after the challenge was issued', 'record_changed');
  end if;

  v_sig.lane := internal.chain_lane();
  perform internal.chain_lock('signature', p_caller.organization_id, v_sig.lane);
  select x.seq, x.hash into v_prev from audit.signatures x
   where x.organization_id = p_caller.organization_id and x.lane = v_sig.lane order by x.seq desc limit 1;
  v_sig.organization_id := p_caller.organization_id;
  v_sig.seq := coalesce(v_prev.seq, 0) + 1;
  v_sig.id := gen_random_uuid();
  v_sig.signed_at := clock_timestamp();
  v_sig.signer_id := v_principal.id;
  v_sig.signer_name := v_principal.display_name;
  v_sig.signer_email := v_principal.email;
  v_sig.meaning := v_ch.meaning;
  v_sig.record_table := v_table;
  v_sig.record_id := v_ch.record_id;
  v_sig.record_hash := v_ch.record_hash;
  v_sig.factors := v_ch.satisfied_factors;
  v_sig.continuous := not v_ch.identification_required;
  v_sig.challenge_id := v_ch.id;
  v_sig.session_id := p_caller.session_id;
  v_sig.previous_hash := v_prev.hash;
  v_sig.hash := internal.signature_hash(v_sig.organization_id, v_sig.lane, v_sig.seq, v_sig.id, v_sig.signed_at, v_sig.signer_id, v_sig.signer_name,
    v_sig.signer_email, v_sig.meaning, v_sig.record_table, v_sig.record_id, v_sig.record_hash, v_sig.factors, v_sig.continuous, v_sig.challenge_id,
    v_sig.session_id, v_sig.previous_hash);
  insert into audit.signatures values (v_sig.*);
  update core.signature_challenges c set consumed_at = now(), signature_id = v_sig.id where c.id = v_ch.id;
  update core.sessions x set last_signed_at = v_sig.signed_at where x.id = p_caller.session_id;
  perform internal.append_audit_event(p_caller.organization_id, 'esignature.applied', p_caller.session_id,
    p_caller.principal_id, v_ch.domain, v_ch.facility_id, v_table, v_ch.record_id, v_ch.record_id, v_ch.record_hash,
    array[v_sig.id, v_ch.target_id],
    p_details => jsonb_build_object('meaning', v_sig.meaning, 'factors', to_jsonb(v_sig.factors), 'continuous', v_sig.continuous,
                                    'signer_name', v_sig.signer_name));
  return v_sig.id;
end
$$;
grant execute on function internal.create_signature(internal.caller, uuid, uuid, text) to axiom_definer;

-- The e-signature plug of change management (005): approving or rejecting is signing.
-- p_signature: {"challenge_id": "..."} from api.signature_challenge_create (target change_request).
create or replace function internal.sign_decision(
  p_caller internal.caller,
  p_change_request core.change_requests,
  p_meaning text,
  p_signature jsonb
)
returns uuid
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_signature is null or jsonb_typeof(p_signature) <> 'object' or jsonb_typeof(p_signature -> 'challenge_id') <> 'string'
     or (p_signature ->> 'challenge_id') !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    perform internal.raise('AX401', 'an approval or a rejection is an e-signature: answer a signature challenge first',
      'signature_required');
  end if;
  return internal.create_signature(p_caller, (p_signature ->> 'challenge_id')::uuid,
    p_change_request.proposed_record_id, p_meaning);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The api
-- ---------------------------------------------------------------------------------------------
-- Requires: a signed-in person (never the agent, never an API token); for approving or rejecting a
-- change request, review in its domain at its facility and not being its author; for other meanings,
-- read in the record's domain. p_target: {"type": "change_request" | "record", "id": ..., "kind"?: ...}
create function api.signature_challenge_create(p_caller jsonb, p_target jsonb, p_meaning text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_cr core.change_requests;
  v_rec core.records;
  v_org core.organizations;
  v_session core.sessions;
  v_risk text;
  v_action text;
  v_identify boolean;
  v_row core.signature_challenges;
  v_target_id uuid;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.challenge');
  if v_caller.is_agent then
    perform internal.raise('AX403', 'the agent never signs', 'agent_cannot_sign');
  end if;
  if v_caller.session_kind <> 'web' then
    perform internal.raise('AX403', 'signatures are made by a person in a signed-in session, not with an API token',
      'token_cannot_sign');
  end if;
  if p_meaning is null or p_meaning not in ('authored', 'reviewed', 'approved', 'rejected', 'responsibility') then
    perform internal.raise('AX400', 'meaning is authored, reviewed, approved, rejected or responsibility', 'invalid_meaning');
  end if;
  if p_target is null or jsonb_typeof(p_target) <> 'object'
     or (p_target ->> 'id') !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    perform internal.raise('AX400', 'target is {type, id}', 'invalid_target');
  end if;
  v_target_id := (p_target ->> 'id')::uuid;
  if p_target ->> 'type' = 'change_request' then
    v_cr := internal.require_change_request(v_target_id);
    if p_meaning in ('approved', 'rejected') then
      perform internal.require(v_caller, 'review', v_cr.domain, v_cr.facility_id);
      if v_cr.author_id = v_caller.principal_id then
        perform internal.raise('AX403', 'the author of a change cannot approve or reject it', 'self_approval');
      end if;
    else
      perform internal.require(v_caller, 'read', v_cr.domain, v_cr.facility_id);
    end if;
    select * into v_rec from core.records r where r.kind = v_cr.target_kind and r.record_id = v_cr.proposed_record_id;
    v_risk := internal.change_request_risk_tier(v_cr);
    v_action := 'change_request.' || case p_meaning when 'approved' then 'approve' when 'rejected' then 'reject' else p_meaning end;
  elsif p_target ->> 'type' = 'record' then
    select * into v_rec from core.records r where r.record_id = v_target_id and r.kind = (internal.controlled_table(p_target ->> 'kind')).kind;
    if v_rec.record_id is null then
      perform internal.raise('AX404', 'record not found', 'record_not_found');
    end if;
    perform internal.require(v_caller, 'read', v_rec.domain, v_rec.facility_id);
    v_risk := 'low';
    v_action := 'record.' || p_meaning;
  else
    perform internal.raise('AX400', 'target type is change_request or record', 'invalid_target');
  end if;

  select * into v_org from core.organizations o where o.id = v_caller.organization_id;
  select * into v_session from core.sessions s where s.id = v_caller.session_id;
  v_identify := v_session.last_signed_at is null
             or v_session.last_signed_at < now() - make_interval(mins => v_org.signing_continuity_minutes);
  insert into core.signature_challenges (organization_id, principal_id, session_id, target_type, target_id, record_kind,
                                         record_id, record_hash, meaning, domain, facility_id, action, risk_tier,
                                         required_factors, identification_required, webauthn_challenge, expires_at)
  values (v_caller.organization_id, v_caller.principal_id, v_caller.session_id, p_target ->> 'type', v_target_id,
          v_rec.kind, v_rec.record_id, v_rec.record_hash, p_meaning, v_rec.domain, v_rec.facility_id, v_action, v_risk,
          internal.required_factors(v_rec.domain, v_action, v_risk), v_identify, internal.new_challenge(),
          now() + interval '5 minutes')
  returning * into v_row;
  perform internal.append_audit_event(v_caller.organization_id, 'esignature.challenged', v_caller.session_id,
    v_caller.principal_id, v_row.domain, v_row.facility_id, 'core.signature_challenges', v_row.id, v_row.record_id,
    v_row.record_hash, array[v_target_id],
    p_details => jsonb_build_object('meaning', p_meaning, 'risk_tier', v_risk, 'required_factors', v_row.required_factors));
  return internal.succeed(v_caller, internal.signature_challenge_json(v_row)
    || jsonb_build_object('printed_name', (select p.display_name from core.principals p where p.id = v_caller.principal_id)),
    'signature_challenge', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_challenge_create(jsonb, jsonb, text) is
  'Requires: a signed-in person; review in the domain (approve/reject, not the author) or read (other meanings).';

-- Requires: the challenge's signer, in the session that asked for it. Verifies the password in the
-- database; with the e-mail address when §11.200 requires every identification component. A wrong
-- password counts toward the lockout and is recorded.
create function api.signature_factor_password(p_caller jsonb, p_challenge_id uuid, p_identification text, p_password text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
  v_principal core.principals;
  v_cred core.password_credentials;
  v_identified boolean := false;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.factor_password');
  v_ch := internal.open_challenge(v_caller, p_challenge_id);
  select * into v_principal from core.principals p where p.id = v_caller.principal_id;
  select * into v_cred from core.password_credentials c where c.principal_id = v_principal.id;
  if v_cred.locked_until is not null and v_cred.locked_until > now() then
    perform internal.raise('AX423', 'the account is locked after repeated failed attempts', 'account_locked');
  end if;
  if p_identification is not null then
    if lower(p_identification) <> v_principal.email then
      perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
        v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
        v_ch.record_hash, p_reason => 'identification does not match the signer');
      return internal.refuse(v_caller, 'AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
    end if;
    v_identified := true;
  elsif v_ch.identification_required then
    perform internal.raise('AX401', 'the first signature of a session needs your e-mail address and password',
      'identification_missing');
  end if;
  if p_password is null or length(p_password) > 256 or not internal.auth_check_password(v_principal.id, p_password) then
    perform internal.record_failed_password(v_principal, v_caller.session_id, 'wrong password at signing');
    perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
      v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'wrong password');
    return internal.refuse(v_caller, 'AX401', 'the e-mail address or the password is wrong', 'invalid_credentials');
  end if;
  if v_cred.failed_attempts > 0 then
    update core.password_credentials c set failed_attempts = 0 where c.principal_id = v_principal.id;
  end if;
  v_ch := internal.satisfy_factor(v_caller, v_ch, 'password', v_identified);
  return internal.succeed(v_caller, internal.signature_challenge_json(v_ch), 'signature_challenge', v_ch.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_factor_password(jsonb, uuid, text, text) is 'Requires: the challenge''s signer.';

-- Requires: the challenge's signer. What the server needs to ask the signer's authenticator: the
-- challenge's WebAuthn challenge and the signer's enrolled credentials (public keys and counters).
create function api.signature_webauthn_options(p_caller jsonb, p_challenge_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.webauthn_options');
  v_ch := internal.open_challenge(v_caller, p_challenge_id);
  return internal.succeed(v_caller, jsonb_build_object(
    'challenge', v_ch.webauthn_challenge,
    'credentials', coalesce((select jsonb_agg(jsonb_build_object(
        'id', c.id, 'credential_id', c.credential_id, 'public_key', encode(c.public_key, 'base64'),
        'sign_count', c.sign_count, 'transports', to_jsonb(c.transports)))
      from core.webauthn_credentials c where c.principal_id = v_caller.principal_id and c.revoked_at is null), '[]'::jsonb)),
    'signature_challenge', v_ch.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_webauthn_options(jsonb, uuid) is 'Requires: the challenge''s signer.';

-- Requires: the challenge's signer and the service secret (the server verified the assertion against
-- the challenge's WebAuthn challenge and the credential's public key). The sign counter must move
-- forward: a counter that does not is a cloned or replayed authenticator, refused and raised as an alert.
create function api.signature_factor_webauthn(p_caller jsonb, p_service_secret text, p_challenge_id uuid,
                                              p_credential_id text, p_new_sign_count bigint)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
  v_cred core.webauthn_credentials;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.factor_webauthn');
  perform internal.require_service_secret(p_service_secret);
  v_ch := internal.open_challenge(v_caller, p_challenge_id);
  select * into v_cred from core.webauthn_credentials c
   where c.credential_id = p_credential_id and c.principal_id = v_caller.principal_id and c.revoked_at is null;
  if v_cred.id is null then
    perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
      v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'unknown or revoked authenticator');
    return internal.refuse(v_caller, 'AX401', 'this authenticator is not enrolled for you', 'credential_unknown');
  end if;
  if p_new_sign_count is null or p_new_sign_count < 0
     or not (p_new_sign_count > v_cred.sign_count or (p_new_sign_count = 0 and v_cred.sign_count = 0)) then
    perform internal.append_audit_event(v_caller.organization_id, 'webauthn.counter_replayed', v_caller.session_id,
      v_caller.principal_id, p_target_table => 'core.webauthn_credentials', p_target_id => v_cred.id,
      p_details => jsonb_build_object('stored', v_cred.sign_count, 'presented', p_new_sign_count));
    perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
      v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'authenticator sign counter did not move forward');
    insert into core.alerts (organization_id, kind, severity, subject_id, message)
    values (v_caller.organization_id, 'webauthn.counter_replayed', 'critical', v_cred.id,
            format('authenticator "%s" presented sign counter %s after %s: possibly cloned', v_cred.name,
                   p_new_sign_count, v_cred.sign_count));
    return internal.refuse(v_caller, 'AX409', 'the authenticator''s sign counter went backwards: a possible clone',
      'counter_replayed');
  end if;
  update core.webauthn_credentials c set sign_count = p_new_sign_count, last_used_at = now() where c.id = v_cred.id;
  v_ch := internal.satisfy_factor(v_caller, v_ch, 'webauthn', true);
  return internal.succeed(v_caller, internal.signature_challenge_json(v_ch), 'signature_challenge', v_ch.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_factor_webauthn(jsonb, text, uuid, text, bigint) is
  'Requires: the challenge''s signer and the service secret.';

-- Requires: the challenge's signer and the service secret (the server verified a fresh ID token from
-- the organization's provider, asked with prompt=login and max_age=0). The subject must be the
-- signer's identity at that provider and auth_time no older than the challenge.
create function api.signature_factor_oidc(p_caller jsonb, p_service_secret text, p_challenge_id uuid, p_provider_id uuid,
                                          p_subject text, p_auth_time timestamptz)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.factor_oidc');
  perform internal.require_service_secret(p_service_secret);
  v_ch := internal.open_challenge(v_caller, p_challenge_id);
  if not exists (select 1 from core.external_identities e
                  where e.provider_id = p_provider_id and e.subject = p_subject and e.principal_id = v_caller.principal_id) then
    perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
      v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'the provider identity is not the signer');
    return internal.refuse(v_caller, 'AX401', 'the identity provider signed in someone else', 'identity_mismatch');
  end if;
  if p_auth_time is null or p_auth_time < v_ch.created_at - interval '5 seconds' or p_auth_time > now() + interval '1 minute' then
    perform internal.append_audit_event(v_caller.organization_id, 'esignature.failed', v_caller.session_id,
      v_caller.principal_id, v_ch.domain, v_ch.facility_id, 'core.signature_challenges', v_ch.id, v_ch.record_id,
      v_ch.record_hash, p_reason => 'stale auth_time', p_details => jsonb_build_object('auth_time', p_auth_time));
    return internal.refuse(v_caller, 'AX401', 'the sign-in at the identity provider was not fresh', 'stale_auth_time');
  end if;
  v_ch := internal.satisfy_factor(v_caller, v_ch, 'oidc_reauth', true);
  return internal.succeed(v_caller, internal.signature_challenge_json(v_ch), 'signature_challenge', v_ch.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_factor_oidc(jsonb, text, uuid, uuid, text, timestamptz) is
  'Requires: the challenge''s signer and the service secret.';

-- Requires: the challenge's signer. Signs a record for a meaning other than approving/rejecting a change
-- request (those sign through change_request_approve / change_request_reject).
create function api.signature_create(p_caller jsonb, p_challenge_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_ch core.signature_challenges;
  v_id uuid;
begin
  v_caller := internal.begin_call(p_caller, 'esignature.sign');
  v_ch := internal.open_challenge(v_caller, p_challenge_id);
  if v_ch.target_type = 'change_request' and v_ch.meaning in ('approved', 'rejected') then
    perform internal.raise('AX422', 'approvals and rejections sign through the change request', 'use_change_request');
  end if;
  v_id := internal.create_signature(v_caller, p_challenge_id, v_ch.record_id, v_ch.meaning);
  return internal.succeed(v_caller, (select internal.signature_json(s) from audit.signatures s where s.id = v_id),
    'signature', v_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.signature_create(jsonb, uuid) is 'Requires: the challenge''s signer.';

-- Requires: audit:read organization-wide, or read in the signed record's domain. Checks the
-- signature's hash and its binding: the record it covers must still hash to the signed record_hash.
create function api.signature_verify(p_caller jsonb, p_signature_id uuid)
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
  if not internal.has_grant(v_caller.principal_id, 'read', 'audit', null) then
    perform internal.require(v_caller, 'read', v_rec.domain, v_rec.facility_id);
  end if;
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
  'Requires: audit:read organization-wide, or read in the signed record''s domain.';

-- Requires: a valid session; lists the signatures on a record (or, without one, the caller's own).
create function api.signature_list(p_caller jsonb, p_record_id uuid default null)
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
    perform internal.require(v_caller, 'read', v_rec.domain, v_rec.facility_id);
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
comment on function api.signature_list(jsonb, uuid) is 'Requires: a valid session; read in the record''s domain for a record.';

-- ---------------------------------------------------------------------------------------------
-- Verification covers the signature chain too.
-- ---------------------------------------------------------------------------------------------
create function internal.verify_signatures(p_org uuid default null)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
  select 'audit.signatures', x.organization_id, x.id, x.lane * 1000000000000::bigint + x.seq,
         case
           when x.seq <> coalesce(x.prev_seq, 0) + 1 then 'sequence_gap'
           when x.hash <> x.computed then 'hash_mismatch'
           when x.previous_hash is distinct from x.prev_hash then 'broken_link'
         end
    from (
      select s.organization_id, s.lane, s.id, s.seq, s.hash, s.previous_hash,
             lag(s.seq) over w as prev_seq, lag(s.hash) over w as prev_hash,
             internal.signature_hash(s.organization_id, s.lane, s.seq, s.id, s.signed_at, s.signer_id, s.signer_name,
               s.signer_email, s.meaning, s.record_table, s.record_id, s.record_hash, s.factors, s.continuous,
               s.challenge_id, s.session_id, s.previous_hash) as computed
        from audit.signatures s
       where p_org is null or s.organization_id = p_org
      window w as (partition by s.organization_id, s.lane order by s.seq)
    ) x
   where x.seq <> coalesce(x.prev_seq, 0) + 1 or x.hash <> x.computed or x.previous_hash is distinct from x.prev_hash
  union all
  -- A signature's binding: the record it covers must still be the one signed.
  select 'audit.signatures', s.organization_id, s.id, s.lane * 1000000000000::bigint + s.seq, 'record_missing'
    from audit.signatures s
   where (p_org is null or s.organization_id = p_org)
     and not exists (select 1 from core.records r
                      where r.organization_id = s.organization_id and r.record_id = s.record_id
                        and r.record_hash = s.record_hash)
$$;
call internal.set_function_owner('internal.verify_signatures(uuid)', 'axiom_verifier');
grant execute on function internal.verify_signatures(uuid) to axiom_definer;

create or replace function internal.verify_all(p_org uuid default null, p_limit integer default 1000)
returns table (table_name text, organization_id uuid, record_id uuid, pos bigint, problem text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
as $$
  select * from (
    select * from internal.verify_event_chains(p_org)
    union all
    select * from internal.verify_records(p_org)
    union all
    select * from internal.verify_signatures(p_org)
  ) p
  order by p.table_name collate "C", p.organization_id, p.pos,
           case p.problem when 'sequence_gap' then 1 when 'record_missing' then 2 when 'hash_mismatch' then 3
                          when 'audit_event_missing' then 4 else 5 end
  limit p_limit
$$;

create or replace function internal.chain_counts(p_org uuid default null)
returns table (table_name text, rows bigint)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
  select 'audit.audit_events'::text, count(*) from audit.audit_events e where p_org is null or e.organization_id = p_org
  union all
  select 'audit.session_events'::text, count(*) from audit.session_events e where p_org is null or e.organization_id = p_org
  union all
  select 'audit.signatures'::text, count(*) from audit.signatures s where p_org is null or s.organization_id = p_org
  union all
  select c.table_name, count(r.record_id)
    from internal.controlled_tables c
    left join core.records r on r.kind = c.kind and (p_org is null or r.organization_id = p_org)
   group by c.table_name
$$;

call internal.finalize_api();
