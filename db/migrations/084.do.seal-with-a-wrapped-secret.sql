-- 084: sealing audit states — one RSA operation per connection and organization, not per state.
--
-- Before: every sealed state was pgp_pub_encrypt(state, organization public key), i.e. one RSA-3072
-- public-key operation per audit event with a before/after state (about 1,000,000 CPU instructions,
-- a sixth of an audited write).
--
-- Now: a connection that seals for an organization draws a random 32-byte secret S, wraps it once
-- with the organization's active public key (W = pgp_pub_encrypt(S), the same OpenPGP public-key
-- encryption as before) and seals each state with it (M = pgp_sym_encrypt(state, hex(S)), OpenPGP
-- AES-256 with an integrity check). The stored ciphertext is self-contained:
--
--   'AXS1' || int4 length(W) || W || M
--
-- so opening a state still needs exactly the organization's private key, which only the application
-- can unwrap with the key-encryption key (src/security/orgkeys.ts unsealState reads both this form
-- and the plain OpenPGP messages written before). The chain hashes the ciphertext as before.
--
-- The connection keeps (key id, time, S, W) in two session settings, bound by an HMAC under the
-- installation's context key so that a value set by hand is ignored (a new secret is drawn instead);
-- it is used for at most 10 minutes and only while that key is the organization's active key. What
-- this changes in the threat model (docs/threat-model.md): a dump still holds no secret that opens a
-- state; the database process holds S in memory for up to 10 minutes after sealing with it, and so can
-- whoever runs SQL on that very connection (the application itself, which holds the key-encryption
-- key anyway).

do $check$
begin
  if not pg_catalog.has_function_privilege('axiom_definer', 'ext.pgp_sym_encrypt_bytea(bytea, text, text)', 'execute') then
    raise exception 'run the bootstrap step (axiom db migrate with a superuser): axiom_definer needs ext.pgp_sym_encrypt_bytea';
  end if;
end
$check$;

create or replace function internal.seal_state(p_org uuid, p_state jsonb, out ciphertext bytea, out key_id uuid)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_key_id uuid;
  v_public_key bytea;
  v_setting text := 'axiom.seal_' || pg_catalog.replace(p_org::text, '-', '');
  v_parts text[];
  v_context_key bytea;
  v_now bigint := pg_catalog.floor(extract(epoch from pg_catalog.clock_timestamp()))::bigint;
  v_secret bytea;
  v_wrapped bytea;
  v_value text;
begin
  if p_state is null or p_state = '{}'::jsonb then
    return;
  end if;
  select k.id, k.public_key into v_key_id, v_public_key from core.organization_keys k
   where k.organization_id = p_org and k.retired_at is null;
  if not found then
    perform internal.raise('AX409', 'the organization has no active key to seal audit states with', 'no_org_key');
  end if;
  select i.context_key into v_context_key from internal.installation i;

  -- Two settings: v_setting = "<key id>:<unix time>:<hex S>:<hex SHA-256 of the text of v_setting_w>:<hex
  -- HMAC of the first four parts>" and v_setting_w = the hex of W. Nothing is decoded before the HMAC
  -- verifies.
  v_parts := pg_catalog.string_to_array(nullif(pg_catalog.current_setting(v_setting, true), ''), ':');
  if pg_catalog.cardinality(v_parts) = 5 and v_parts[1] = v_key_id::text then
    v_value := pg_catalog.current_setting(v_setting || '_w', true);
    if v_parts[4] = pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(v_value, 'UTF8')), 'hex')
       and v_parts[5] = pg_catalog.encode(ext.hmac(pg_catalog.convert_to(
             'seal:' || p_org::text || ':' || v_parts[1] || ':' || v_parts[2] || ':' || v_parts[3] || ':' || v_parts[4],
             'UTF8'), v_context_key, 'sha256'), 'hex') then
      if v_parts[2]::bigint > v_now - 600 then
        v_secret := pg_catalog.decode(v_parts[3], 'hex');
        v_wrapped := pg_catalog.decode(v_value, 'hex');
      end if;
    end if;
  end if;
  if v_secret is null then
    v_secret := ext.gen_random_bytes(32);
    v_wrapped := ext.pgp_pub_encrypt_bytea(v_secret, v_public_key, 'cipher-algo=aes256, compress-algo=0');
    v_value := pg_catalog.encode(v_wrapped, 'hex');
    perform pg_catalog.set_config(v_setting || '_w', v_value, false);
    v_value := v_key_id::text || ':' || v_now::text || ':' || pg_catalog.encode(v_secret, 'hex') || ':' ||
               pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(v_value, 'UTF8')), 'hex');
    perform pg_catalog.set_config(v_setting, v_value || ':' || pg_catalog.encode(ext.hmac(pg_catalog.convert_to(
      'seal:' || p_org::text || ':' || v_value, 'UTF8'), v_context_key, 'sha256'), 'hex'), false);
  end if;

  ciphertext := '\x41585331'::bytea -- 'AXS1'
    || pg_catalog.int4send(pg_catalog.length(v_wrapped)) || v_wrapped
    || ext.pgp_sym_encrypt_bytea(pg_catalog.convert_to(p_state::text, 'UTF8'), pg_catalog.encode(v_secret, 'hex'),
         'cipher-algo=aes256, compress-algo=0, s2k-mode=1, s2k-digest-algo=sha256');
  key_id := v_key_id;
end
$$;
