-- 013: WebAuthn credentials (hardware keys, platform authenticators).
--
-- The attestation and assertion signatures are verified by the server (@simplewebauthn/server); the
-- database issues and consumes the challenges (single use, 5 minutes), keeps the credentials (several
-- per person), refuses a sign counter that does not move forward (a cloned authenticator), and accepts
-- the server's verification only with the service secret.

create table core.webauthn_credentials (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null,
  credential_id text not null unique check (credential_id ~ '^[A-Za-z0-9_-]+$' and length(credential_id) between 16 and 1400),
  public_key bytea not null check (length(public_key) between 16 and 4096),
  sign_count bigint not null check (sign_count >= 0),
  transports text[] not null default '{}',
  aaguid text check (length(aaguid) <= 64),
  name text not null check (length(btrim(name)) between 1 and 100),
  created_at timestamptz not null default now(),
  -- Lifecycle.
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid,
  revoke_reason text,
  foreign key (organization_id, principal_id) references core.principals (organization_id, id)
);
create index webauthn_credentials_principal on core.webauthn_credentials (principal_id);

create table core.webauthn_challenges (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references core.organizations (id),
  principal_id uuid not null,
  session_id uuid not null,
  purpose text not null check (purpose in ('register')),
  challenge text not null check (challenge ~ '^[A-Za-z0-9_-]{43}$'),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- Lifecycle.
  consumed_at timestamptz,
  foreign key (organization_id, principal_id) references core.principals (organization_id, id)
);

do $rls$
declare
  v_table text;
begin
  foreach v_table in array array['webauthn_credentials', 'webauthn_challenges'] loop
    execute format('alter table core.%I enable row level security', v_table);
    execute format('alter table core.%I force row level security', v_table);
    execute format($p$create policy tenant on core.%I
      using (organization_id = (select internal.current_org_id()))
      with check (organization_id = (select internal.current_org_id()))$p$, v_table);
    execute format('create trigger _900_no_delete before delete on core.%I for each row execute function internal.tg__no_delete()', v_table);
    execute format('create trigger _901_no_truncate before truncate on core.%I for each statement execute function internal.tg__no_delete()', v_table);
  end loop;
end
$rls$;

grant select on core.webauthn_credentials, core.webauthn_challenges to axiom_definer;
grant select (id, organization_id, principal_id, credential_id, transports, aaguid, name, created_at, last_used_at,
  revoked_at) on core.webauthn_credentials to axiom_reporting;
grant insert (organization_id, principal_id, credential_id, public_key, sign_count, transports, aaguid, name)
  on core.webauthn_credentials to axiom_definer;
grant update (sign_count, last_used_at, revoked_at, revoked_by, revoke_reason) on core.webauthn_credentials to axiom_definer;
grant insert (id, organization_id, principal_id, session_id, purpose, challenge, expires_at) on core.webauthn_challenges
  to axiom_definer;
grant update (consumed_at) on core.webauthn_challenges to axiom_definer;

-- The sign counter only moves forward (authenticators that do not count always report 0).
create function internal.tg_webauthn_credentials__counter()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.sign_count is distinct from old.sign_count
     and not (new.sign_count > old.sign_count or (new.sign_count = 0 and old.sign_count = 0)) then
    perform internal.raise('AX409', 'the authenticator''s sign counter went backwards: a possible clone', 'counter_replayed');
  end if;
  if (new.organization_id, new.principal_id, new.credential_id, new.public_key)
     is distinct from (old.organization_id, old.principal_id, old.credential_id, old.public_key) then
    perform internal.raise('AX403', 'a credential cannot be edited', 'immutable_columns');
  end if;
  return new;
end
$$;
create trigger _100_counter before update on core.webauthn_credentials
  for each row execute function internal.tg_webauthn_credentials__counter();

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('webauthn.registered', 'A security key or platform authenticator was enrolled', '{CC6.1,CC6.2}', '{A.5.17,A.8.5}', '{11.300(c),11.300(e)}'),
  ('webauthn.revoked', 'An enrolled authenticator was revoked', '{CC6.1,CC6.2}', '{A.5.17}', '{11.300(c)}'),
  ('webauthn.counter_replayed', 'An authenticator presented a sign counter that did not move forward', '{CC6.1,CC7.2,CC7.3}', '{A.8.5,A.8.16}', '{11.300(d),11.300(e)}');

-- A random challenge, base64url (43 characters for 32 bytes).
create function internal.new_challenge()
returns text
language sql volatile
return pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(ext.gen_random_bytes(32), 'base64'), '+/', '-_'), '=');
grant execute on function internal.new_challenge() to axiom_definer;

create function internal.webauthn_credential_json(c core.webauthn_credentials)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', c.id, 'credential_id', c.credential_id, 'name', c.name, 'transports', c.transports, 'aaguid', c.aaguid,
  'created_at', c.created_at, 'last_used_at', c.last_used_at, 'revoked_at', c.revoked_at, 'principal_id', c.principal_id);
grant execute on function internal.webauthn_credential_json(core.webauthn_credentials) to axiom_definer;

-- Requires: a signed-in person (their own enrollment).
create function api.webauthn_registration_begin(p_caller jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_principal core.principals;
  v_id uuid := gen_random_uuid();
  v_challenge text := internal.new_challenge();
begin
  v_caller := internal.begin_call(p_caller, 'webauthn.registration_begin');
  if v_caller.session_kind <> 'web' then
    perform internal.raise('AX403', 'authenticators are enrolled in a signed-in session', 'token_cannot_enroll');
  end if;
  select * into v_principal from core.principals p where p.id = v_caller.principal_id;
  insert into core.webauthn_challenges (id, organization_id, principal_id, session_id, purpose, challenge, expires_at)
  values (v_id, v_caller.organization_id, v_caller.principal_id, v_caller.session_id, 'register', v_challenge,
          now() + interval '5 minutes');
  return internal.succeed(v_caller, jsonb_build_object(
    'challenge_id', v_id, 'challenge', v_challenge,
    'user', jsonb_build_object('id', v_principal.id, 'name', v_principal.email, 'display_name', v_principal.display_name),
    'exclude', coalesce((select jsonb_agg(c.credential_id) from core.webauthn_credentials c
                          where c.principal_id = v_principal.id and c.revoked_at is null), '[]'::jsonb)),
    'webauthn_challenge', v_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.webauthn_registration_begin(jsonb) is 'Requires: a signed-in person.';

-- Requires: a signed-in person (the credential's owner) and the service secret (the server verified the
-- attestation). p_credential: {challenge (as signed by the authenticator), credential_id, public_key
-- (base64), sign_count, transports[], aaguid, name}
create function api.webauthn_registration_finish(p_caller jsonb, p_service_secret text, p_challenge_id uuid, p_credential jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_challenge core.webauthn_challenges;
  v_row core.webauthn_credentials;
begin
  v_caller := internal.begin_call(p_caller, 'webauthn.registration_finish');
  perform internal.require_service_secret(p_service_secret);
  update core.webauthn_challenges c set consumed_at = now()
   where c.id = p_challenge_id and c.principal_id = v_caller.principal_id and c.session_id = v_caller.session_id
     and c.purpose = 'register' and c.consumed_at is null and c.expires_at > now()
  returning * into v_challenge;
  if v_challenge.id is null then
    perform internal.raise('AX409', 'the enrollment challenge is unknown, used or expired', 'challenge_invalid');
  end if;
  if p_credential is null or jsonb_typeof(p_credential) <> 'object' then
    perform internal.raise('AX400', 'credential is an object', 'invalid_credential');
  end if;
  -- The challenge the authenticator signed (from its clientDataJSON) must be the one issued here.
  if p_credential ->> 'challenge' is distinct from v_challenge.challenge then
    perform internal.raise('AX409', 'the authenticator answered another challenge', 'challenge_mismatch');
  end if;
  insert into core.webauthn_credentials (organization_id, principal_id, credential_id, public_key, sign_count, transports,
                                         aaguid, name)
  values (v_caller.organization_id, v_caller.principal_id, p_credential ->> 'credential_id',
          decode(p_credential ->> 'public_key', 'base64'), coalesce((p_credential ->> 'sign_count')::bigint, 0),
          coalesce(array(select jsonb_array_elements_text(coalesce(p_credential -> 'transports', '[]'))), '{}'),
          p_credential ->> 'aaguid', internal.text_arg(coalesce(p_credential ->> 'name', 'security key'), 'name', 1, 100))
  returning * into v_row;
  perform internal.append_audit_event(v_caller.organization_id, 'webauthn.registered', v_caller.session_id,
    v_caller.principal_id, p_target_table => 'core.webauthn_credentials', p_target_id => v_row.id,
    p_details => jsonb_build_object('name', v_row.name, 'aaguid', v_row.aaguid));
  return internal.succeed(v_caller, internal.webauthn_credential_json(v_row), 'webauthn_credential', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.webauthn_registration_finish(jsonb, text, uuid, jsonb) is
  'Requires: a signed-in person and the service secret.';

-- Requires: a valid session (own credentials); configuration:review organization-wide for someone else's.
create function api.webauthn_credential_list(p_caller jsonb, p_principal_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_result jsonb;
  v_who uuid;
begin
  v_caller := internal.begin_call(p_caller, 'webauthn.credential_list');
  v_who := coalesce(p_principal_id, v_caller.principal_id);
  if v_who <> v_caller.principal_id then
    perform internal.require(v_caller, 'review', 'configuration', null);
  end if;
  select coalesce(jsonb_agg(internal.webauthn_credential_json(c) order by c.created_at), '[]'::jsonb) into v_result
    from core.webauthn_credentials c where c.principal_id = v_who;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.webauthn_credential_list(jsonb, uuid) is
  'Requires: a valid session (own); configuration:review organization-wide for another person''s.';

-- Requires: the credential's owner, or configuration:review organization-wide (loss management, 11.300(c)).
create function api.webauthn_credential_revoke(p_caller jsonb, p_credential uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_row core.webauthn_credentials;
begin
  v_caller := internal.begin_call(p_caller, 'webauthn.credential_revoke');
  select * into v_row from core.webauthn_credentials c where c.id = p_credential;
  if v_row.id is null then
    perform internal.raise('AX404', 'credential not found', 'credential_not_found');
  end if;
  if v_row.principal_id <> v_caller.principal_id then
    perform internal.require(v_caller, 'review', 'configuration', null);
  end if;
  if v_row.revoked_at is not null then
    perform internal.raise('AX409', 'the credential is already revoked', 'already_revoked');
  end if;
  update core.webauthn_credentials c set revoked_at = now(), revoked_by = v_caller.principal_id,
         revoke_reason = internal.text_arg(p_reason, 'reason', 3, 1000)
   where c.id = p_credential returning * into v_row;
  perform internal.append_audit_event(v_caller.organization_id, 'webauthn.revoked', v_caller.session_id,
    v_caller.principal_id, p_target_table => 'core.webauthn_credentials', p_target_id => v_row.id,
    p_reason => v_row.revoke_reason, p_related_ids => array[v_row.principal_id]);
  return internal.succeed(v_caller, internal.webauthn_credential_json(v_row), 'webauthn_credential', v_row.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.webauthn_credential_revoke(jsonb, uuid, text) is
  'Requires: the credential''s owner, or configuration:review organization-wide.';

call internal.finalize_api();
