-- 030: findings, their check registry, and the content rules of check configurations, required-tag
-- policies and baselines (issue 6).
--
-- A finding is one (connection, check, resource ARN), deduplicated across scans. Its lifecycle is
-- versioned like every controlled record: each state change (opened, acknowledged, suppressed,
-- unsuppressed, suppression expired, resolved, reopened) is a new version of kind 'finding' in
-- core.records — hash-chained, and recorded in the organization's audit chain by the records
-- triggers. core.findings is the current-state row used for queries: the finding's identity
-- (immutable), its lifecycle columns, and the latest observation (last seen, evidence, saving).
--
-- connection_id and scan_id are plain uuids here; the connections and scans tables arrive with the
-- scanner, and the foreign keys with them.

-- ---------------------------------------------------------------------------------------------
-- The check registry: every check id of src/findings/catalog.ts with what the database needs to
-- know about it (a test keeps the two equal). The domain decides the grants a finding needs; the
-- services say which complete scans may resolve it (empty: the service of the resource's own type).
-- ---------------------------------------------------------------------------------------------
create table internal.finding_checks (
  check_id text primary key check (check_id ~ '^[a-z][a-z0-9_]{2,60}$'),
  domain core.domain not null check (domain in ('security', 'cost', 'drift')),
  severity text not null check (severity in ('critical', 'high', 'medium', 'low', 'informational')),
  services text[] not null,
  resource_types text[] not null
);
comment on table internal.finding_checks is 'The check catalog as the database knows it (src/findings/catalog.ts).';
grant select on internal.finding_checks to axiom_definer, axiom_reporting;

insert into internal.finding_checks (check_id, domain, severity, services, resource_types) values
  ('s3_account_public_access_block_off', 'security', 'high', '{s3}', '{AWS::S3::AccountPublicAccessBlock}'),
  ('s3_bucket_public_acl', 'security', 'critical', '{s3}', '{AWS::S3::Bucket}'),
  ('s3_bucket_public_policy', 'security', 'critical', '{s3}', '{AWS::S3::Bucket}'),
  ('s3_bucket_no_public_access_block', 'security', 'high', '{s3}', '{AWS::S3::Bucket}'),
  ('s3_bucket_no_encryption', 'security', 'medium', '{s3}', '{AWS::S3::Bucket}'),
  ('s3_bucket_versioning_off', 'security', 'medium', '{s3}', '{AWS::S3::Bucket}'),
  ('s3_bucket_logging_off', 'security', 'medium', '{s3}', '{AWS::S3::Bucket}'),
  ('sg_open_ssh', 'security', 'high', '{ec2}', '{AWS::EC2::SecurityGroup}'),
  ('sg_open_rdp', 'security', 'high', '{ec2}', '{AWS::EC2::SecurityGroup}'),
  ('sg_open_all_ports', 'security', 'critical', '{ec2}', '{AWS::EC2::SecurityGroup}'),
  ('sg_default_has_rules', 'security', 'high', '{ec2}', '{AWS::EC2::SecurityGroup}'),
  ('ec2_imdsv2_not_required', 'security', 'high', '{ec2}', '{AWS::EC2::Instance}'),
  ('ebs_default_encryption_off', 'security', 'medium', '{ec2}', '{AWS::EC2::EbsEncryptionByDefault}'),
  ('ebs_volume_unencrypted', 'security', 'medium', '{ec2}', '{AWS::EC2::Volume}'),
  ('ebs_snapshot_public', 'security', 'critical', '{ec2}', '{AWS::EC2::Snapshot}'),
  ('ami_public', 'security', 'critical', '{ec2}', '{AWS::EC2::Image}'),
  ('rds_public', 'security', 'critical', '{rds}', '{AWS::RDS::DBInstance}'),
  ('rds_unencrypted', 'security', 'high', '{rds}', '{AWS::RDS::DBInstance}'),
  ('rds_no_backups', 'security', 'medium', '{rds}', '{AWS::RDS::DBInstance}'),
  ('rds_no_deletion_protection', 'security', 'low', '{rds}', '{AWS::RDS::DBInstance}'),
  ('rds_snapshot_public', 'security', 'critical', '{rds}', '{AWS::RDS::DBSnapshot}'),
  ('cloudtrail_missing', 'security', 'high', '{cloudtrail}', '{AWS::::Account}'),
  ('cloudtrail_single_region', 'security', 'medium', '{cloudtrail}', '{AWS::CloudTrail::Trail}'),
  ('cloudtrail_no_log_validation', 'security', 'medium', '{cloudtrail}', '{AWS::CloudTrail::Trail}'),
  ('cloudtrail_not_logging', 'security', 'high', '{cloudtrail}', '{AWS::CloudTrail::Trail}'),
  ('iam_root_access_keys', 'security', 'critical', '{iam}', '{AWS::IAM::Root}'),
  ('iam_root_mfa_off', 'security', 'critical', '{iam}', '{AWS::IAM::Root}'),
  ('iam_user_console_no_mfa', 'security', 'high', '{iam}', '{AWS::IAM::User}'),
  ('iam_access_key_old', 'security', 'medium', '{iam}', '{AWS::IAM::AccessKey}'),
  ('iam_access_key_unused', 'security', 'medium', '{iam}', '{AWS::IAM::AccessKey}'),
  ('iam_password_policy_weak', 'security', 'medium', '{iam}', '{AWS::IAM::PasswordPolicy}'),
  ('iam_role_third_party_trust_no_external_id', 'security', 'high', '{iam}', '{AWS::IAM::Role}'),
  ('kms_rotation_off', 'security', 'medium', '{kms}', '{AWS::KMS::Key}'),
  ('ebs_volume_unattached', 'cost', 'medium', '{ec2}', '{AWS::EC2::Volume}'),
  ('ebs_volume_gp2', 'cost', 'low', '{ec2}', '{AWS::EC2::Volume}'),
  ('eip_unassociated', 'cost', 'low', '{ec2}', '{AWS::EC2::EIP}'),
  ('ec2_idle', 'cost', 'medium', '{ec2,cloudwatch}', '{AWS::EC2::Instance}'),
  ('ec2_stopped_long', 'cost', 'low', '{ec2}', '{AWS::EC2::Instance}'),
  ('ebs_snapshot_old', 'cost', 'low', '{ec2}', '{AWS::EC2::Snapshot}'),
  ('rds_idle', 'cost', 'medium', '{rds,cloudwatch}', '{AWS::RDS::DBInstance}'),
  ('tags_missing', 'drift', 'low', '{}', '{AWS::EC2::Instance,AWS::EC2::Volume,AWS::RDS::DBInstance}'),
  ('drift_configuration_baseline', 'drift', 'medium', '{}', '{*}'),
  ('drift_changed_since_baseline', 'drift', 'low', '{}', '{*}'),
  ('drift_new_since_baseline', 'drift', 'informational', '{}', '{*}');

insert into internal.event_types (event_type, description, soc2, iso27001, part11) values
  ('finding.synced', 'A scan''s finding candidates were reconciled with the findings of its connection',
   '{CC7.1,CC4.1}', '{A.8.8,A.8.16}', '{11.10(e)}');

call internal.add_record_kind('finding', 'core.finding_versions', false, null,
  'Finding lifecycle versions: one per state change of a finding (opened, acknowledged, suppressed, resolved, ...).');
call internal.add_record_kind('baseline', 'core.baselines', true, 'configuration',
  'Baselines per organization or facility: the configuration baseline (rules) and the accepted inventory (fingerprints).');

-- The scanned service a resource type belongs to (src/cloud/inventory.ts SERVICE_OF).
create function internal.finding_service_of(p_resource_type text)
returns text
language sql immutable parallel safe
return case split_part(p_resource_type, '::', 2)
  when 'S3' then 's3' when 'EC2' then 'ec2' when 'RDS' then 'rds' when 'CloudTrail' then 'cloudtrail'
  when 'IAM' then 'iam' when 'KMS' then 'kms' end;

create function internal.severity_rank(p text)
returns smallint
language sql immutable parallel safe
return case p when 'critical' then 5 when 'high' then 4 when 'medium' then 3 when 'low' then 2
  when 'informational' then 1 end;

grant execute on function internal.finding_service_of(text), internal.severity_rank(text) to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- core.findings: the current state of each finding.
-- ---------------------------------------------------------------------------------------------
create table core.findings (
  organization_id uuid not null references core.organizations (id),
  -- The item id of its versions in core.records (kind 'finding').
  id uuid not null,
  facility_id uuid not null,
  connection_id uuid not null,
  check_id text not null check (check_id ~ '^[a-z][a-z0-9_]{2,60}$'),
  resource_arn text not null check (length(resource_arn) between 5 and 2048 and resource_arn ~ '^arn:'),
  resource_type text not null check (resource_type ~ '^AWS::[A-Za-z0-9]*::[A-Za-z0-9]+$'),
  resource_id text not null check (length(resource_id) between 1 and 1024),
  region text not null check (region ~ '^[a-z0-9-]{2,30}$'),
  domain core.domain not null check (domain in ('security', 'cost', 'drift')),
  severity text not null check (severity in ('critical', 'high', 'medium', 'low', 'informational')),
  severity_rank smallint generated always as (internal.severity_rank(severity)) stored,
  -- Resolution needs a scan complete for every one of these services.
  services text[] not null check (cardinality(services) between 1 and 10),
  item_key text not null,
  first_seen_at timestamptz not null,
  first_scan_id uuid not null,
  -- The latest observation (every scan that sees the finding updates these).
  last_seen_at timestamptz not null,
  last_scan_id uuid not null,
  evidence jsonb not null check (jsonb_typeof(evidence) = 'object' and pg_column_size(evidence) <= 16384),
  estimated_monthly_saving_usd numeric(14, 2) check (estimated_monthly_saving_usd >= 0),
  -- Lifecycle columns.
  status text not null check (status in ('open', 'acknowledged', 'suppressed', 'resolved')),
  status_changed_at timestamptz not null,
  status_changed_by uuid not null,
  suppressed_until timestamptz,
  suppression_reason text check (length(suppression_reason) <= 2000),
  resolved_at timestamptz,
  current_record_id uuid not null,
  current_version integer not null check (current_version >= 1),
  primary key (organization_id, id),
  unique (organization_id, connection_id, check_id, resource_arn),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id),
  check ((status = 'suppressed') = (suppressed_until is not null)),
  check ((status = 'suppressed') = (suppression_reason is not null)),
  check ((status = 'resolved') = (resolved_at is not null))
);
comment on table core.findings is
  'Findings: one per (connection, check, resource), current state; every state change is a version in core.finding_versions.';
create index findings_by_facility on core.findings (organization_id, facility_id, status);
create index findings_by_severity on core.findings (organization_id, severity_rank desc, last_seen_at desc, id desc);
create index findings_by_last_seen on core.findings (organization_id, last_seen_at desc, id desc);
create index findings_by_check on core.findings (organization_id, check_id);
create index findings_by_arn on core.findings (organization_id, resource_arn);

alter table core.findings enable row level security;
alter table core.findings force row level security;
create policy tenant on core.findings
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));

grant select on core.findings to axiom_definer, axiom_reporting;
grant insert (organization_id, id, facility_id, connection_id, check_id, resource_arn, resource_type, resource_id,
  region, domain, severity, services, item_key, first_seen_at, first_scan_id, last_seen_at, last_scan_id, evidence,
  estimated_monthly_saving_usd, status, status_changed_at, status_changed_by, suppressed_until, suppression_reason,
  resolved_at, current_record_id, current_version) on core.findings to axiom_definer;
-- Lifecycle and latest-observation columns only; the identity of a finding never changes.
grant update (last_seen_at, last_scan_id, evidence, estimated_monthly_saving_usd, status, status_changed_at,
  status_changed_by, suppressed_until, suppression_reason, resolved_at, current_record_id, current_version)
  on core.findings to axiom_definer;

create function internal.finding_transition_allowed(p_from text, p_to text)
returns boolean
language sql immutable parallel safe
return p_from = p_to or (p_from, p_to) in (
  ('open', 'acknowledged'), ('open', 'suppressed'), ('open', 'resolved'),
  ('acknowledged', 'suppressed'), ('acknowledged', 'resolved'),
  ('suppressed', 'open'), ('suppressed', 'acknowledged'), ('suppressed', 'resolved'),
  ('resolved', 'open'));
grant execute on function internal.finding_transition_allowed(text, text) to axiom_definer;

create function internal.tg_findings__rules()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if (new.organization_id, new.id, new.facility_id, new.connection_id, new.check_id, new.resource_arn,
      new.resource_type, new.resource_id, new.region, new.domain, new.severity, new.services, new.item_key,
      new.first_seen_at, new.first_scan_id)
     is distinct from
     (old.organization_id, old.id, old.facility_id, old.connection_id, old.check_id, old.resource_arn,
      old.resource_type, old.resource_id, old.region, old.domain, old.severity, old.services, old.item_key,
      old.first_seen_at, old.first_scan_id) then
    perform internal.raise('AX403', 'the identity of a finding never changes', 'immutable_columns');
  end if;
  if not internal.finding_transition_allowed(old.status, new.status) then
    perform internal.raise('AX409', pg_catalog.format('a %s finding cannot become %s', old.status, new.status),
      'illegal_transition');
  end if;
  if new.status <> old.status and new.current_version <= old.current_version then
    perform internal.raise('AX409', 'a state change of a finding is a new version', 'version_required');
  end if;
  return new;
end
$$;
create trigger _100_rules before update on core.findings
  for each row execute function internal.tg_findings__rules();
create trigger _900_no_delete before delete on core.findings
  for each row execute function internal.tg__no_delete();
create trigger _901_no_truncate before truncate on core.findings
  for each statement execute function internal.tg__no_delete();

-- One row per synced scan of a connection: idempotency (a scan is reconciled once) and the counts.
create table core.finding_scans (
  organization_id uuid not null references core.organizations (id),
  connection_id uuid not null,
  scan_id uuid not null,
  facility_id uuid not null,
  synced_at timestamptz not null default now(),
  synced_by uuid not null,
  complete_services text[] not null,
  counts jsonb not null,
  primary key (organization_id, connection_id, scan_id),
  foreign key (organization_id, facility_id) references core.facilities (organization_id, id)
);
comment on table core.finding_scans is 'Scans whose findings were reconciled, with their outcome. Append-only.';
alter table core.finding_scans enable row level security;
alter table core.finding_scans force row level security;
create policy tenant on core.finding_scans
  using (organization_id = (select internal.current_org_id()))
  with check (organization_id = (select internal.current_org_id()));
grant select on core.finding_scans to axiom_definer, axiom_reporting;
grant insert (organization_id, connection_id, scan_id, facility_id, synced_by, complete_services, counts)
  on core.finding_scans to axiom_definer;
create trigger _900_append_only before update or delete on core.finding_scans
  for each row execute function internal.tg__append_only();
create trigger _901_append_only_truncate before truncate on core.finding_scans
  for each statement execute function internal.tg__append_only();

-- ---------------------------------------------------------------------------------------------
-- Content rules (the same as src/findings/config.ts): check configurations, required-tag policies and
-- baselines. A BEFORE INSERT trigger on core.records, so no path writes bad content.
-- ---------------------------------------------------------------------------------------------
create function internal.findings_resource_types()
returns text[]
language sql immutable parallel safe
return array['AWS::S3::AccountPublicAccessBlock', 'AWS::S3::Bucket', 'AWS::EC2::Instance', 'AWS::EC2::Volume',
  'AWS::EC2::Snapshot', 'AWS::EC2::SecurityGroup', 'AWS::EC2::NetworkInterface', 'AWS::EC2::EIP', 'AWS::EC2::Image',
  'AWS::EC2::EbsEncryptionByDefault', 'AWS::RDS::DBInstance', 'AWS::RDS::DBSnapshot', 'AWS::CloudTrail::Trail',
  'AWS::IAM::Root', 'AWS::IAM::PasswordPolicy', 'AWS::IAM::User', 'AWS::IAM::AccessKey', 'AWS::IAM::Role',
  'AWS::KMS::Key'];

create function internal.content_refuse(p_message text)
returns void
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform internal.raise('AX400', p_message, 'invalid_content');
end
$$;

create function internal.is_scalar(p jsonb)
returns boolean
language sql immutable parallel safe
return jsonb_typeof(p) in ('number', 'boolean', 'null')
  or (jsonb_typeof(p) = 'string' and length(p #>> '{}') <= 1024);

create function internal.validate_check_configuration(p jsonb)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_list text;
  v_key text;
  v_value jsonb;
  v_spec record;
begin
  if exists (select 1 from jsonb_object_keys(p) k where k not in ('disabled_checks', 'enabled_checks', 'thresholds')) then
    perform internal.content_refuse('a check configuration has only disabled_checks, enabled_checks and thresholds');
  end if;
  foreach v_list in array array['disabled_checks', 'enabled_checks'] loop
    if p ? v_list then
      if jsonb_typeof(p -> v_list) <> 'array' or jsonb_array_length(p -> v_list) > 200 then
        perform internal.content_refuse(format('%s is a list of at most 200 check ids', v_list));
      end if;
      select e into v_value from jsonb_array_elements(p -> v_list) e
       where jsonb_typeof(e) <> 'string'
          or not exists (select 1 from internal.finding_checks c where c.check_id = e #>> '{}')
       limit 1;
      if found then
        perform internal.content_refuse(format('%s names an unknown check: %s', v_list, left(v_value::text, 80)));
      end if;
    end if;
  end loop;
  if p ? 'thresholds' then
    if jsonb_typeof(p -> 'thresholds') <> 'object' then
      perform internal.content_refuse('thresholds is an object of numbers');
    end if;
    for v_key, v_value in select * from jsonb_each(p -> 'thresholds') loop
      select * into v_spec from (values
        ('ec2_idle_cpu_percent', 0.1::numeric, 100::numeric, false),
        ('ec2_idle_network_bytes_per_day', 1, 1e12, true),
        ('ec2_idle_window_days', 1, 90, true),
        ('ec2_stopped_days', 1, 3650, true),
        ('ebs_snapshot_age_days', 1, 3650, true),
        ('rds_idle_window_days', 1, 90, true),
        ('rds_idle_max_connections', 0, 1000000, true),
        ('iam_access_key_max_age_days', 1, 3650, true),
        ('iam_access_key_unused_days', 1, 3650, true),
        ('password_min_length', 6, 128, true),
        ('password_reuse_prevention', 1, 24, true)) s(key, min, max, whole)
       where s.key = v_key;
      if not found then
        perform internal.content_refuse(format('unknown threshold %s', left(v_key, 80)));
      end if;
      if jsonb_typeof(v_value) <> 'number' or (v_value::text)::numeric < v_spec.min
         or (v_value::text)::numeric > v_spec.max
         or (v_spec.whole and (v_value::text)::numeric <> trunc((v_value::text)::numeric)) then
        perform internal.content_refuse(format('threshold %s is a %snumber from %s to %s', v_key,
          case when v_spec.whole then 'whole ' else '' end, v_spec.min, v_spec.max));
      end if;
    end loop;
  end if;
end
$$;

create function internal.validate_required_tags(p jsonb)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_tag jsonb;
begin
  if exists (select 1 from jsonb_object_keys(p) k where k not in ('type', 'tags', 'resource_types')) then
    perform internal.content_refuse('a required_tags policy has only type, tags and resource_types');
  end if;
  if jsonb_typeof(p -> 'tags') is distinct from 'array' or jsonb_array_length(p -> 'tags') not between 1 and 50 then
    perform internal.content_refuse('tags is a list of 1 to 50 tag keys or {key, allowed_values?}');
  end if;
  for v_tag in select * from jsonb_array_elements(p -> 'tags') loop
    if jsonb_typeof(v_tag) = 'string' then
      if length(v_tag #>> '{}') not between 1 and 128 then
        perform internal.content_refuse('a tag key has 1 to 128 characters');
      end if;
    elsif jsonb_typeof(v_tag) <> 'object'
       or exists (select 1 from jsonb_object_keys(v_tag) k where k not in ('key', 'allowed_values'))
       or jsonb_typeof(v_tag -> 'key') is distinct from 'string'
       or length(v_tag ->> 'key') not between 1 and 128
       or (v_tag ? 'allowed_values' and (jsonb_typeof(v_tag -> 'allowed_values') <> 'array'
           or jsonb_array_length(v_tag -> 'allowed_values') not between 1 and 100
           or exists (select 1 from jsonb_array_elements(v_tag -> 'allowed_values') a
                       where jsonb_typeof(a) <> 'string' or length(a #>> '{}') not between 1 and 256))) then
      perform internal.content_refuse('a tag is its key, or {key (1-128 characters), allowed_values? (1-100 strings)}');
    end if;
  end loop;
  if p ? 'resource_types' and (jsonb_typeof(p -> 'resource_types') is distinct from 'array'
     or jsonb_array_length(p -> 'resource_types') not between 1 and cardinality(internal.findings_resource_types())
     or exists (select 1 from jsonb_array_elements(p -> 'resource_types') t
                 where jsonb_typeof(t) <> 'string' or not ((t #>> '{}') = any (internal.findings_resource_types())))) then
    perform internal.content_refuse('resource_types lists inventory resource types (e.g. AWS::EC2::Instance)');
  end if;
end
$$;

create function internal.validate_baseline(p jsonb)
returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_rule jsonb;
  v_ops integer;
begin
  if p ->> 'type' = 'configuration' then
    if exists (select 1 from jsonb_object_keys(p) k where k not in ('type', 'rules')) then
      perform internal.content_refuse('a configuration baseline has only type and rules');
    end if;
    if jsonb_typeof(p -> 'rules') is distinct from 'array' or jsonb_array_length(p -> 'rules') not between 1 and 200 then
      perform internal.content_refuse('rules is a list of 1 to 200 rules');
    end if;
    for v_rule in select * from jsonb_array_elements(p -> 'rules') loop
      v_ops := (v_rule ? 'equals')::int + (v_rule ? 'in')::int + (v_rule ? 'not_in')::int + (v_rule ? 'exists')::int;
      if jsonb_typeof(v_rule) <> 'object'
         or exists (select 1 from jsonb_object_keys(v_rule) k
                     where k not in ('id', 'resource_type', 'path', 'equals', 'in', 'not_in', 'exists'))
         or coalesce(v_rule ->> 'id', '') !~ '^[a-z0-9][a-z0-9_.-]{0,63}$' or jsonb_typeof(v_rule -> 'id') <> 'string'
         or jsonb_typeof(v_rule -> 'resource_type') is distinct from 'string'
         or not ((v_rule ->> 'resource_type') = any (internal.findings_resource_types()))
         or jsonb_typeof(v_rule -> 'path') is distinct from 'string' or length(v_rule ->> 'path') > 200
         or (v_rule ->> 'path') !~ '^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$'
         or v_ops <> 1
         or (v_rule ? 'equals' and not internal.is_scalar(v_rule -> 'equals'))
         or (v_rule ? 'exists' and jsonb_typeof(v_rule -> 'exists') <> 'boolean')
         or exists (select 1 from unnest(array['in', 'not_in']) op
                     where v_rule ? op and (jsonb_typeof(v_rule -> op) <> 'array'
                       or jsonb_array_length(v_rule -> op) not between 1 and 100
                       or exists (select 1 from jsonb_array_elements(v_rule -> op) x where not internal.is_scalar(x)))) then
        perform internal.content_refuse(
          'a rule is {id, resource_type, path (dotted, into the metadata), and exactly one of equals, in, not_in, exists}');
      end if;
    end loop;
    if (select count(distinct r ->> 'id') from jsonb_array_elements(p -> 'rules') r) <> jsonb_array_length(p -> 'rules') then
      perform internal.content_refuse('rule ids are unique');
    end if;
  elsif p ->> 'type' = 'accepted_inventory' then
    if exists (select 1 from jsonb_object_keys(p) k
                where k not in ('type', 'accepted_at', 'connection_id', 'scan_id', 'resources')) then
      perform internal.content_refuse('an accepted inventory has only type, accepted_at, connection_id, scan_id and resources');
    end if;
    if jsonb_typeof(p -> 'accepted_at') is distinct from 'string'
       or (p ->> 'accepted_at') !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$' then
      perform internal.content_refuse('accepted_at is an ISO 8601 time with its offset');
    end if;
    begin
      perform (p ->> 'accepted_at')::timestamptz;
    exception when others then
      perform internal.content_refuse('accepted_at is an ISO 8601 time with its offset');
    end;
    if exists (select 1 from unnest(array['connection_id', 'scan_id']) k
                where p ? k and (jsonb_typeof(p -> k) <> 'string'
                  or (p ->> k) !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')) then
      perform internal.content_refuse('connection_id and scan_id are uuids');
    end if;
    if jsonb_typeof(p -> 'resources') is distinct from 'object'
       or exists (select 1 from jsonb_each(p -> 'resources') e
                   where length(e.key) not between 5 and 2048 or e.key !~ '^arn:'
                      or jsonb_typeof(e.value) <> 'string' or (e.value #>> '{}') !~ '^[0-9a-f]{16}$') then
      perform internal.content_refuse('resources maps resource ARNs to 16-hex-digit fingerprints');
    end if;
  else
    perform internal.content_refuse('a baseline''s type is configuration or accepted_inventory');
  end if;
end
$$;

create function internal.tg_records__findings_content()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.kind = 'check_configuration' then
    perform internal.validate_check_configuration(new.content);
  elsif new.kind = 'policy' and new.content ->> 'type' = 'required_tags' then
    perform internal.validate_required_tags(new.content);
  elsif new.kind = 'baseline' then
    perform internal.validate_baseline(new.content);
  end if;
  return new;
end
$$;
create trigger _050_findings_content before insert on core.records
  for each row when (new.kind in ('check_configuration', 'policy', 'baseline'))
  execute function internal.tg_records__findings_content();

grant execute on function internal.findings_resource_types(), internal.content_refuse(text), internal.is_scalar(jsonb),
  internal.validate_check_configuration(jsonb), internal.validate_required_tags(jsonb), internal.validate_baseline(jsonb)
  to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------------------------
-- What a finding's status is now: a suppression past its expiry no longer holds.
create function internal.finding_status(p_status text, p_suppressed_until timestamptz)
returns text
language sql stable parallel safe
return case when p_status = 'suppressed' and p_suppressed_until <= pg_catalog.now() then 'open' else p_status end;

create function internal.finding_json(f core.findings)
returns jsonb
language sql stable
return pg_catalog.jsonb_build_object(
  'id', f.id, 'facility_id', f.facility_id, 'connection_id', f.connection_id, 'check_id', f.check_id,
  'resource_arn', f.resource_arn, 'resource_type', f.resource_type, 'resource_id', f.resource_id,
  'region', f.region, 'domain', f.domain, 'severity', f.severity,
  'status', internal.finding_status(f.status, f.suppressed_until),
  'suppressed_until', f.suppressed_until, 'suppression_reason', f.suppression_reason,
  'first_seen_at', f.first_seen_at, 'first_scan_id', f.first_scan_id, 'last_seen_at', f.last_seen_at,
  'last_scan_id', f.last_scan_id, 'resolved_at', f.resolved_at, 'evidence', f.evidence,
  'estimated_monthly_saving_usd', f.estimated_monthly_saving_usd, 'version', f.current_version);

-- Write the version of a finding's new state (the records triggers chain it, hash it, supersede the
-- previous version and record it in the audit chain). Returns the new version's record id and number.
create function internal.finding_version(p_f core.findings, p_event text, p_scan_id uuid, p_actor uuid, p_reason text,
                                         out record_id uuid, out version integer)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into core.records (kind, id, organization_id, facility_id, domain, item_key, content, created_by,
                            change_reason, lifecycle_state)
  values ('finding', p_f.id, p_f.organization_id, p_f.facility_id, p_f.domain, p_f.item_key,
          jsonb_build_object(
            'event', p_event, 'status', p_f.status, 'scan_id', p_scan_id, 'connection_id', p_f.connection_id,
            'check_id', p_f.check_id, 'resource_arn', p_f.resource_arn, 'resource_type', p_f.resource_type,
            'resource_id', p_f.resource_id, 'region', p_f.region, 'severity', p_f.severity,
            'first_seen_at', p_f.first_seen_at, 'evidence', p_f.evidence,
            'estimated_monthly_saving_usd', p_f.estimated_monthly_saving_usd,
            'suppressed_until', p_f.suppressed_until, 'reason', p_reason),
          p_actor, left(p_reason, 2000), 'effective')
  returning core.records.record_id, core.records.version into record_id, version;
end
$$;

-- Move a finding to a new status: a new version, then the current-state row.
create function internal.finding_transition(p_f core.findings, p_status text, p_event text, p_scan_id uuid,
                                            p_actor uuid, p_reason text, p_until timestamptz default null)
returns core.findings
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_version record;
begin
  p_f.status := p_status;
  p_f.suppressed_until := case when p_status = 'suppressed' then p_until end;
  p_f.suppression_reason := case when p_status = 'suppressed' then p_reason end;
  p_f.resolved_at := case when p_status = 'resolved' then now() end;
  select * into v_version from internal.finding_version(p_f, p_event, p_scan_id, p_actor, p_reason);
  update core.findings f
     set status = p_f.status, status_changed_at = now(), status_changed_by = p_actor,
         suppressed_until = p_f.suppressed_until, suppression_reason = p_f.suppression_reason,
         resolved_at = p_f.resolved_at, current_record_id = v_version.record_id,
         current_version = v_version.version
   where f.organization_id = p_f.organization_id and f.id = p_f.id
  returning * into p_f;
  return p_f;
end
$$;

-- What is wrong with one finding candidate (NULL: nothing).
create function internal.finding_candidate_problem(c jsonb)
returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v internal.finding_checks;
begin
  if jsonb_typeof(c) is distinct from 'object' then
    return 'is not an object';
  end if;
  if exists (select 1 from jsonb_object_keys(c) k where k not in ('check_id', 'resource_arn', 'resource_type',
      'resource_id', 'region', 'domain', 'severity', 'evidence', 'estimated_monthly_saving_usd')) then
    return 'has an unknown field';
  end if;
  select * into v from internal.finding_checks k where k.check_id = c ->> 'check_id';
  if not found or jsonb_typeof(c -> 'check_id') <> 'string' then
    return 'names an unknown check_id';
  end if;
  if jsonb_typeof(c -> 'resource_arn') is distinct from 'string' or length(c ->> 'resource_arn') not between 5 and 2048
     or (c ->> 'resource_arn') !~ '^arn:' or (c ->> 'resource_arn') ~ '[\x00-\x1f\x7f]' then
    return 'has no valid resource_arn';
  end if;
  if jsonb_typeof(c -> 'resource_type') is distinct from 'string'
     or not ((c ->> 'resource_type') = any (internal.findings_resource_types() || array['AWS::::Account']))
     or not ('*' = any (v.resource_types) or (c ->> 'resource_type') = any (v.resource_types)) then
    return 'has a resource_type the check is not about';
  end if;
  if (cardinality(v.services) = 0 and internal.finding_service_of(c ->> 'resource_type') is null) then
    return 'has a resource_type without a scanned service';
  end if;
  if jsonb_typeof(c -> 'resource_id') is distinct from 'string' or length(c ->> 'resource_id') not between 1 and 1024
     or (c ->> 'resource_id') ~ '[\x00-\x1f\x7f]' then
    return 'has no valid resource_id';
  end if;
  if jsonb_typeof(c -> 'region') is distinct from 'string' or (c ->> 'region') !~ '^[a-z0-9-]{2,30}$' then
    return 'has no valid region';
  end if;
  if c ? 'domain' and (c ->> 'domain') is distinct from v.domain::text then
    return format('says domain %s, but %s is in %s', left(c ->> 'domain', 20), v.check_id, v.domain);
  end if;
  if c ? 'severity' and (c ->> 'severity') is distinct from v.severity then
    return format('says severity %s, but %s is %s', left(c ->> 'severity', 20), v.check_id, v.severity);
  end if;
  if jsonb_typeof(c -> 'evidence') is distinct from 'object' or pg_column_size(c -> 'evidence') > 16384 then
    return 'has no evidence object (at most 16 KiB)';
  end if;
  -- Axiom never stores AWS access keys (DESIGN.md invariant 11): evidence names keys by fingerprint.
  if (c -> 'evidence')::text ~ '(AKIA|ASIA)[A-Z0-9]{16}' or (c ->> 'resource_id') ~ '(AKIA|ASIA)[A-Z0-9]{16}'
     or (c ->> 'resource_arn') ~ '(AKIA|ASIA)[A-Z0-9]{16}' then
    return 'contains what looks like an AWS access key id (name keys by fingerprint)';
  end if;
  if c ? 'estimated_monthly_saving_usd' and jsonb_typeof(c -> 'estimated_monthly_saving_usd') <> 'null'
     and (jsonb_typeof(c -> 'estimated_monthly_saving_usd') <> 'number'
          or (c ->> 'estimated_monthly_saving_usd')::numeric not between 0 and 1e9) then
    return 'has an estimated_monthly_saving_usd that is not a number from 0 to 1e9';
  end if;
  return null;
end
$$;

create function internal.require_finding(p_id uuid)
returns core.findings
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v core.findings;
begin
  select * into v from core.findings f where f.id = p_id;
  if not found then
    perform internal.raise('AX404', 'finding not found', 'finding_not_found');
  end if;
  return v;
end
$$;

-- The facilities where the caller may read each finding domain (list filters use it).
create function internal.readable_facilities(p_caller internal.caller, p_domain core.domain)
returns uuid[]
language sql stable
as $$
  select coalesce(array_agg(f.id), '{}') from core.facilities f
   where internal.has_grant(p_caller.principal_id, 'read', p_domain, f.id)
     and internal.scope_allows(p_caller.scope, 'read', p_domain, f.id)
$$;

grant execute on function internal.finding_status(text, timestamptz), internal.finding_json(core.findings),
  internal.finding_version(core.findings, text, uuid, uuid, text),
  internal.finding_transition(core.findings, text, text, uuid, uuid, text, timestamptz),
  internal.finding_candidate_problem(jsonb), internal.require_finding(uuid),
  internal.readable_facilities(internal.caller, core.domain)
  to axiom_definer;

-- ---------------------------------------------------------------------------------------------
-- api.finding_sync: reconcile one scan's candidates with the connection's findings, in one transaction.
-- Requires: operate in the domain of every finding it opens, updates or resolves, at the facility.
-- ---------------------------------------------------------------------------------------------
create function api.finding_sync(p_caller jsonb, p_facility_id uuid, p_connection_id uuid, p_scan_id uuid,
                                 p_complete_services jsonb, p_candidates jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_problem record;
  v_domain core.domain;
  v_c record;
  v_f core.findings;
  v_v record;
  v_reason text;
  v_opened integer := 0;
  v_reopened integer := 0;
  v_resolved integer := 0;
  v_expired integer := 0;
  v_seen integer := 0;
  v_counts jsonb;
  v_complete text[];
begin
  v_caller := internal.begin_call(p_caller, 'finding.sync');
  if p_facility_id is null then
    perform internal.raise('AX400', 'facility_id is required', 'invalid_facility');
  end if;
  perform internal.require_facility(p_facility_id);
  if p_connection_id is null or p_scan_id is null then
    perform internal.raise('AX400', 'connection_id and scan_id are required', 'invalid_scan');
  end if;
  if p_complete_services is null or jsonb_typeof(p_complete_services) <> 'array'
     or jsonb_array_length(p_complete_services) > 20
     or exists (select 1 from jsonb_array_elements(p_complete_services) s
                 where jsonb_typeof(s) <> 'string'
                    or (s #>> '{}') not in ('s3', 'ec2', 'rds', 'cloudtrail', 'iam', 'kms', 'cloudwatch')) then
    perform internal.raise('AX400',
      'complete_services lists scanned services (s3, ec2, rds, cloudtrail, iam, kms, cloudwatch)', 'invalid_services');
  end if;
  v_complete := array(select distinct s from jsonb_array_elements_text(p_complete_services) s order by 1);
  if p_candidates is null or jsonb_typeof(p_candidates) <> 'array' then
    perform internal.raise('AX400', 'candidates is a list', 'invalid_candidates');
  end if;
  if jsonb_array_length(p_candidates) > 100000 then
    perform internal.raise('AX400', 'at most 100,000 candidates per scan', 'too_many_candidates');
  end if;
  select e.n, internal.finding_candidate_problem(e.c) as problem into v_problem
    from jsonb_array_elements(p_candidates) with ordinality e(c, n)
   where internal.finding_candidate_problem(e.c) is not null
   order by e.n limit 1;
  if found then
    perform internal.raise('AX400', format('candidate %s %s', v_problem.n - 1, v_problem.problem), 'invalid_candidate');
  end if;
  if exists (select 1 from jsonb_array_elements(p_candidates) e
              group by e ->> 'check_id', e ->> 'resource_arn' having count(*) > 1) then
    perform internal.raise('AX400', 'a (check_id, resource_arn) appears twice', 'duplicate_candidate');
  end if;

  -- Grants: every domain this sync can touch (candidates, and the connection's unresolved findings).
  for v_domain in
    select k.domain from jsonb_array_elements(p_candidates) e
      join internal.finding_checks k on k.check_id = e ->> 'check_id'
    union
    select f.domain from core.findings f
     where f.connection_id = p_connection_id and f.status <> 'resolved'
  loop
    perform internal.require(v_caller, 'operate', v_domain, p_facility_id);
  end loop;

  -- One sync of a connection at a time (a second waits, then sees the first one's findings).
  perform pg_advisory_xact_lock(hashtextextended('finding_sync:' || v_caller.organization_id::text || ':'
    || p_connection_id::text, 0));
  if exists (select 1 from core.findings f where f.connection_id = p_connection_id and f.facility_id <> p_facility_id) then
    perform internal.raise('AX409', 'this connection''s findings belong to another facility', 'connection_facility_mismatch');
  end if;
  if exists (select 1 from core.finding_scans s where s.connection_id = p_connection_id and s.scan_id = p_scan_id) then
    perform internal.raise('AX409', 'this scan was already synced', 'scan_already_synced');
  end if;

  -- Seen by this scan: open new findings, reopen resolved ones, expire lapsed suppressions, refresh the rest.
  for v_c in
    select x.check_id, x.resource_arn, x.resource_type, x.resource_id, x.region, x.evidence,
           x.estimated_monthly_saving_usd as saving, k.domain, k.severity,
           case when cardinality(k.services) > 0 then k.services
                else array[internal.finding_service_of(x.resource_type)] end as services
      from jsonb_to_recordset(p_candidates) as x(check_id text, resource_arn text, resource_type text,
             resource_id text, region text, evidence jsonb, estimated_monthly_saving_usd numeric)
      join internal.finding_checks k on k.check_id = x.check_id
     order by x.check_id, x.resource_arn
  loop
    v_seen := v_seen + 1;
    select * into v_f from core.findings f
     where f.organization_id = v_caller.organization_id and f.connection_id = p_connection_id
       and f.check_id = v_c.check_id and f.resource_arn = v_c.resource_arn;
    if not found then
      v_f := null;
      v_f.organization_id := v_caller.organization_id;
      v_f.id := gen_random_uuid();
      v_f.facility_id := p_facility_id;
      v_f.connection_id := p_connection_id;
      v_f.check_id := v_c.check_id;
      v_f.resource_arn := v_c.resource_arn;
      v_f.resource_type := v_c.resource_type;
      v_f.resource_id := v_c.resource_id;
      v_f.region := v_c.region;
      v_f.domain := v_c.domain;
      v_f.severity := v_c.severity;
      v_f.services := v_c.services;
      v_f.item_key := 'finding:' || encode(sha256(convert_to(
        p_connection_id::text || '|' || v_c.check_id || '|' || v_c.resource_arn, 'UTF8')), 'hex');
      v_f.first_seen_at := now();
      v_f.first_scan_id := p_scan_id;
      v_f.last_seen_at := now();
      v_f.last_scan_id := p_scan_id;
      v_f.evidence := v_c.evidence;
      v_f.estimated_monthly_saving_usd := round(v_c.saving, 2);
      v_f.status := 'open';
      v_f.status_changed_at := now();
      v_f.status_changed_by := v_caller.principal_id;
      select * into v_v from internal.finding_version(v_f, 'opened', p_scan_id, v_caller.principal_id,
        format('scan %s found it', p_scan_id));
      v_f.current_record_id := v_v.record_id;
      v_f.current_version := v_v.version;
      insert into core.findings (organization_id, id, facility_id, connection_id, check_id, resource_arn, resource_type,
        resource_id, region, domain, severity, services, item_key, first_seen_at, first_scan_id, last_seen_at,
        last_scan_id, evidence, estimated_monthly_saving_usd, status, status_changed_at, status_changed_by,
        current_record_id, current_version)
      values (v_f.organization_id, v_f.id, v_f.facility_id, v_f.connection_id, v_f.check_id, v_f.resource_arn,
        v_f.resource_type, v_f.resource_id, v_f.region, v_f.domain, v_f.severity, v_f.services, v_f.item_key,
        v_f.first_seen_at, v_f.first_scan_id, v_f.last_seen_at, v_f.last_scan_id, v_f.evidence,
        v_f.estimated_monthly_saving_usd, v_f.status, v_f.status_changed_at, v_f.status_changed_by,
        v_f.current_record_id, v_f.current_version);
      v_opened := v_opened + 1;
      continue;
    end if;
    update core.findings f
       set last_seen_at = now(), last_scan_id = p_scan_id, evidence = v_c.evidence,
           estimated_monthly_saving_usd = round(v_c.saving, 2)
     where f.organization_id = v_f.organization_id and f.id = v_f.id
    returning * into v_f;
    if v_f.status = 'resolved' then
      perform internal.finding_transition(v_f, 'open', 'reopened', p_scan_id, v_caller.principal_id,
        format('scan %s found it again', p_scan_id));
      v_reopened := v_reopened + 1;
    elsif v_f.status = 'suppressed' and v_f.suppressed_until <= now() then
      perform internal.finding_transition(v_f, 'open', 'suppression_expired', p_scan_id, v_caller.principal_id,
        format('the suppression expired on %s', v_f.suppressed_until));
      v_expired := v_expired + 1;
    end if;
  end loop;

  -- Not seen by this scan: resolved when the scan was complete for every service the finding depends
  -- on; otherwise left as they are (a partial scan proves nothing), except lapsed suppressions.
  for v_f in
    select * from core.findings f
     where f.organization_id = v_caller.organization_id and f.connection_id = p_connection_id
       and f.status in ('open', 'acknowledged', 'suppressed') and f.last_scan_id <> p_scan_id
     order by f.id
  loop
    if v_f.services <@ v_complete then
      perform internal.finding_transition(v_f, 'resolved', 'resolved', p_scan_id, v_caller.principal_id,
        format('scan %s, complete for %s, no longer sees it', p_scan_id, array_to_string(v_f.services, ', ')));
      v_resolved := v_resolved + 1;
    elsif v_f.status = 'suppressed' and v_f.suppressed_until <= now() then
      perform internal.finding_transition(v_f, 'open', 'suppression_expired', p_scan_id, v_caller.principal_id,
        format('the suppression expired on %s', v_f.suppressed_until));
      v_expired := v_expired + 1;
    end if;
  end loop;

  v_counts := jsonb_build_object('seen', v_seen, 'opened', v_opened, 'reopened', v_reopened,
    'resolved', v_resolved, 'suppression_expired', v_expired);
  insert into core.finding_scans (organization_id, connection_id, scan_id, facility_id, synced_by, complete_services, counts)
  values (v_caller.organization_id, p_connection_id, p_scan_id, p_facility_id, v_caller.principal_id,
          v_complete, v_counts);
  perform internal.append_audit_event(v_caller.organization_id, 'finding.synced', v_caller.session_id,
    v_caller.principal_id, null, p_facility_id, 'core.finding_scans', p_scan_id,
    p_related_ids => array[p_connection_id],
    p_details => v_counts || jsonb_build_object('complete_services', to_jsonb(v_complete)));
  return internal.succeed(v_caller, v_counts || jsonb_build_object('scan_id', p_scan_id,
    'connection_id', p_connection_id), 'finding_scan', p_scan_id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_sync(jsonb, uuid, uuid, uuid, jsonb, jsonb) is
  'Requires: operate in the domain of every finding the sync touches, at the facility.';

-- ---------------------------------------------------------------------------------------------
-- Triage
-- ---------------------------------------------------------------------------------------------
-- Requires: operate in the finding's domain at its facility; a person (never the agent).
create function api.finding_acknowledge(p_caller jsonb, p_finding_id uuid, p_note text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_f core.findings;
  v_note text;
begin
  v_caller := internal.begin_call(p_caller, 'finding.acknowledge');
  v_f := internal.require_finding(p_finding_id);
  perform internal.require(v_caller, 'operate', v_f.domain, v_f.facility_id);
  if v_caller.is_agent then
    perform internal.raise('AX403', 'findings are triaged by people, not by the agent', 'agent_cannot_triage');
  end if;
  if internal.finding_status(v_f.status, v_f.suppressed_until) <> 'open' then
    perform internal.raise('AX409', format('only an open finding can be acknowledged (this one is %s)',
      internal.finding_status(v_f.status, v_f.suppressed_until)), 'illegal_transition');
  end if;
  v_note := case when p_note is null then 'acknowledged' else internal.text_arg(p_note, 'note', 3, 2000) end;
  v_f := internal.finding_transition(v_f, 'acknowledged', 'acknowledged', null, v_caller.principal_id, v_note);
  return internal.succeed(v_caller, internal.finding_json(v_f), 'finding', v_f.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_acknowledge(jsonb, uuid, text) is
  'Requires: operate in the finding''s domain at its facility; not the agent.';

-- Requires: author in the finding's domain at its facility; a person (never the agent). A reason and
-- an expiry (in the future, at most 366 days away) are required.
create function api.finding_suppress(p_caller jsonb, p_finding_id uuid, p_reason text, p_until timestamptz)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_f core.findings;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'finding.suppress');
  v_f := internal.require_finding(p_finding_id);
  perform internal.require(v_caller, 'author', v_f.domain, v_f.facility_id);
  if v_caller.is_agent then
    perform internal.raise('AX403', 'findings are triaged by people, not by the agent', 'agent_cannot_triage');
  end if;
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  if p_until is null or p_until <= now() + interval '1 minute' or p_until > now() + interval '366 days' then
    perform internal.raise('AX400', 'a suppression expires in the future, at most 366 days from now', 'invalid_expiry');
  end if;
  if v_f.status = 'resolved' then
    perform internal.raise('AX409', 'a resolved finding cannot be suppressed', 'illegal_transition');
  end if;
  v_f := internal.finding_transition(v_f, 'suppressed', 'suppressed', null, v_caller.principal_id, v_reason, p_until);
  return internal.succeed(v_caller, internal.finding_json(v_f), 'finding', v_f.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_suppress(jsonb, uuid, text, timestamptz) is
  'Requires: author in the finding''s domain at its facility; not the agent.';

-- Requires: author in the finding's domain at its facility; a person (never the agent).
create function api.finding_unsuppress(p_caller jsonb, p_finding_id uuid, p_reason text)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_f core.findings;
  v_reason text;
begin
  v_caller := internal.begin_call(p_caller, 'finding.unsuppress');
  v_f := internal.require_finding(p_finding_id);
  perform internal.require(v_caller, 'author', v_f.domain, v_f.facility_id);
  if v_caller.is_agent then
    perform internal.raise('AX403', 'findings are triaged by people, not by the agent', 'agent_cannot_triage');
  end if;
  v_reason := internal.text_arg(p_reason, 'reason', 3, 2000);
  if v_f.status <> 'suppressed' then
    perform internal.raise('AX409', format('the finding is %s, not suppressed', v_f.status), 'illegal_transition');
  end if;
  v_f := internal.finding_transition(v_f, 'open', 'unsuppressed', null, v_caller.principal_id, v_reason);
  return internal.succeed(v_caller, internal.finding_json(v_f), 'finding', v_f.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_unsuppress(jsonb, uuid, text) is
  'Requires: author in the finding''s domain at its facility; not the agent.';

-- ---------------------------------------------------------------------------------------------
-- Queries
-- ---------------------------------------------------------------------------------------------
-- Requires: a valid session; lists the findings in the (domain, facility) pairs where the caller holds
-- read (others are left out, not refused). Filter: facility_id, connection_id, domain, severity, status,
-- check_id, resource_arn, resource (text contained in the ARN or id); sort: severity (default),
-- last_seen, first_seen, saving; keyset pagination with cursor (the previous page's next_cursor), limit
-- 1..500 (default 100).
create function api.finding_list(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_filter jsonb := coalesce(p_filter, '{}');
  v_facility uuid;
  v_connection uuid;
  v_domain text;
  v_severity text;
  v_status text;
  v_check text;
  v_arn text;
  v_like text;
  v_sort text;
  v_limit integer;
  v_cursor jsonb;
  v_k1 numeric;
  v_k2 timestamptz;
  v_kid uuid;
  v_sec uuid[];
  v_cost uuid[];
  v_drift uuid[];
  v_rows core.findings[];
  v_items jsonb;
  v_last core.findings;
  v_next text;
begin
  v_caller := internal.begin_call(p_caller, 'finding.list');
  if jsonb_typeof(v_filter) <> 'object' or exists (select 1 from jsonb_object_keys(v_filter) k
       where k not in ('facility_id', 'connection_id', 'domain', 'severity', 'status', 'check_id', 'resource_arn',
                       'resource', 'sort', 'cursor', 'limit')) then
    perform internal.raise('AX400', 'unknown filter; use facility_id, connection_id, domain, severity, status, check_id, resource_arn, resource, sort, cursor, limit',
      'invalid_filter');
  end if;
  if exists (select 1 from jsonb_each(v_filter) e where jsonb_typeof(e.value) not in ('string', 'number', 'null')) then
    perform internal.raise('AX400', 'filter values are strings', 'invalid_filter');
  end if;
  begin
    v_facility := (v_filter ->> 'facility_id')::uuid;
    v_connection := (v_filter ->> 'connection_id')::uuid;
  exception when others then
    perform internal.raise('AX400', 'facility_id and connection_id are uuids', 'invalid_filter');
  end;
  v_domain := v_filter ->> 'domain';
  if v_domain is not null and v_domain not in ('security', 'cost', 'drift') then
    perform internal.raise('AX400', 'domain is security, cost or drift', 'invalid_domain');
  end if;
  v_severity := v_filter ->> 'severity';
  if v_severity is not null and v_severity not in ('critical', 'high', 'medium', 'low', 'informational') then
    perform internal.raise('AX400', 'severity is critical, high, medium, low or informational', 'invalid_severity');
  end if;
  v_status := v_filter ->> 'status';
  if v_status is not null and v_status not in ('open', 'acknowledged', 'suppressed', 'resolved', 'active') then
    perform internal.raise('AX400', 'status is open, acknowledged, suppressed, resolved or active', 'invalid_status');
  end if;
  v_check := v_filter ->> 'check_id';
  if v_check is not null and v_check !~ '^[a-z][a-z0-9_]{2,60}$' then
    perform internal.raise('AX400', 'check_id is a check id', 'invalid_check');
  end if;
  v_arn := v_filter ->> 'resource_arn';
  if v_arn is not null and length(v_arn) > 2048 then
    perform internal.raise('AX400', 'resource_arn is at most 2048 characters', 'invalid_filter');
  end if;
  if v_filter ? 'resource' and v_filter ->> 'resource' is not null then
    if length(v_filter ->> 'resource') not between 1 and 200 then
      perform internal.raise('AX400', 'resource is 1 to 200 characters', 'invalid_filter');
    end if;
    v_like := '%' || replace(replace(replace(v_filter ->> 'resource', '\', '\\'), '%', '\%'), '_', '\_') || '%';
  end if;
  v_sort := coalesce(v_filter ->> 'sort', 'severity');
  if v_sort not in ('severity', 'last_seen', 'first_seen', 'saving') then
    perform internal.raise('AX400', 'sort is severity, last_seen, first_seen or saving', 'invalid_sort');
  end if;
  begin
    v_limit := (v_filter ->> 'limit')::integer;
  exception when others then
    perform internal.raise('AX400', 'limit is a whole number from 1 to 500', 'invalid_limit');
  end;
  v_limit := internal.limit_arg(v_limit, 500);
  if v_filter ->> 'cursor' is not null then
    begin
      v_cursor := convert_from(decode(v_filter ->> 'cursor', 'base64'), 'UTF8')::jsonb;
      v_k1 := (v_cursor ->> 0)::numeric;
      v_k2 := (v_cursor ->> 1)::timestamptz;
      v_kid := (v_cursor ->> 2)::uuid;
      if v_kid is null or (v_cursor ->> 3) is distinct from v_sort then
        raise exception 'bad cursor';
      end if;
    exception when others then
      perform internal.raise('AX400', 'cursor is the next_cursor of the previous page (same sort)', 'invalid_cursor');
    end;
  end if;
  v_sec := internal.readable_facilities(v_caller, 'security');
  v_cost := internal.readable_facilities(v_caller, 'cost');
  v_drift := internal.readable_facilities(v_caller, 'drift');

  select array_agg(x order by
           case v_sort when 'severity' then x.severity_rank::numeric
                       when 'saving' then coalesce(x.estimated_monthly_saving_usd, -1) else 0 end desc,
           case v_sort when 'first_seen' then x.first_seen_at else x.last_seen_at end desc,
           x.id desc)
    into v_rows
    from (select f.* from core.findings f
           where ((f.domain = 'security' and f.facility_id = any (v_sec))
               or (f.domain = 'cost' and f.facility_id = any (v_cost))
               or (f.domain = 'drift' and f.facility_id = any (v_drift)))
             and (v_facility is null or f.facility_id = v_facility)
             and (v_connection is null or f.connection_id = v_connection)
             and (v_domain is null or f.domain::text = v_domain)
             and (v_severity is null or f.severity = v_severity)
             and (v_status is null
                  or (v_status = 'active' and internal.finding_status(f.status, f.suppressed_until) in ('open', 'acknowledged'))
                  or internal.finding_status(f.status, f.suppressed_until) = v_status)
             and (v_check is null or f.check_id = v_check)
             and (v_arn is null or f.resource_arn = v_arn)
             and (v_like is null or f.resource_arn ilike v_like or f.resource_id ilike v_like)
             and (v_kid is null or
                  (case v_sort when 'severity' then f.severity_rank::numeric
                               when 'saving' then coalesce(f.estimated_monthly_saving_usd, -1) else 0 end,
                   case v_sort when 'first_seen' then f.first_seen_at else f.last_seen_at end, f.id)
                  < (coalesce(v_k1, 0), v_k2, v_kid))
           order by
             case v_sort when 'severity' then f.severity_rank::numeric
                         when 'saving' then coalesce(f.estimated_monthly_saving_usd, -1) else 0 end desc,
             case v_sort when 'first_seen' then f.first_seen_at else f.last_seen_at end desc,
             f.id desc
           limit v_limit + 1) x;

  v_rows := coalesce(v_rows, '{}');
  if cardinality(v_rows) > v_limit then
    v_rows := v_rows[1:v_limit];
    v_last := v_rows[v_limit];
    v_next := translate(encode(convert_to(jsonb_build_array(
      case v_sort when 'severity' then v_last.severity_rank::numeric
                  when 'saving' then coalesce(v_last.estimated_monthly_saving_usd, -1) else 0 end,
      case v_sort when 'first_seen' then v_last.first_seen_at else v_last.last_seen_at end,
      v_last.id, v_sort)::text, 'UTF8'), 'base64'), E'\n', '');
  end if;
  select coalesce(jsonb_agg(internal.finding_json(v_rows[i]) order by i), '[]') into v_items
    from generate_subscripts(v_rows, 1) i;
  return internal.succeed(v_caller, jsonb_build_object('items', v_items, 'next_cursor', v_next, 'sort', v_sort));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_list(jsonb, jsonb) is 'Requires: a valid session; filtered by read grants per domain and facility.';

-- Requires: read in the finding's domain at its facility. The finding and every version of its lifecycle.
create function api.finding_get(p_caller jsonb, p_finding_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_f core.findings;
begin
  v_caller := internal.begin_call(p_caller, 'finding.get');
  v_f := internal.require_finding(p_finding_id);
  perform internal.require(v_caller, 'read', v_f.domain, v_f.facility_id);
  return internal.succeed(v_caller, internal.finding_json(v_f) || jsonb_build_object(
    'versions', (select coalesce(jsonb_agg(jsonb_build_object(
                   'version', r.version, 'record_id', r.record_id, 'record_hash', encode(r.record_hash, 'hex'),
                   'previous_record_hash', encode(r.previous_record_hash, 'hex'), 'created_at', r.created_at,
                   'created_by', r.created_by, 'change_reason', r.change_reason, 'lifecycle_state', r.lifecycle_state,
                   'content', r.content) order by r.version), '[]')
                   from core.records r where r.kind = 'finding' and r.id = v_f.id)),
    'finding', v_f.id);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_get(jsonb, uuid) is 'Requires: read in the finding''s domain at its facility.';

-- Requires: a valid session; counts the findings the caller may read (as finding_list), optionally for
-- one facility or connection: by status, and the active ones (open or acknowledged) by severity and
-- domain, with the estimated monthly savings of active cost findings.
create function api.finding_counts(p_caller jsonb, p_filter jsonb default '{}')
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
  v_filter jsonb := coalesce(p_filter, '{}');
  v_facility uuid;
  v_connection uuid;
  v_sec uuid[];
  v_cost uuid[];
  v_drift uuid[];
  v_result jsonb;
begin
  v_caller := internal.begin_call(p_caller, 'finding.counts');
  if jsonb_typeof(v_filter) <> 'object'
     or exists (select 1 from jsonb_object_keys(v_filter) k where k not in ('facility_id', 'connection_id')) then
    perform internal.raise('AX400', 'counts filter by facility_id and connection_id', 'invalid_filter');
  end if;
  begin
    v_facility := (v_filter ->> 'facility_id')::uuid;
    v_connection := (v_filter ->> 'connection_id')::uuid;
  exception when others then
    perform internal.raise('AX400', 'facility_id and connection_id are uuids', 'invalid_filter');
  end;
  v_sec := internal.readable_facilities(v_caller, 'security');
  v_cost := internal.readable_facilities(v_caller, 'cost');
  v_drift := internal.readable_facilities(v_caller, 'drift');
  with visible as (
    select f.domain::text as domain, f.severity, internal.finding_status(f.status, f.suppressed_until) as status,
           f.estimated_monthly_saving_usd as saving
      from core.findings f
     where ((f.domain = 'security' and f.facility_id = any (v_sec))
         or (f.domain = 'cost' and f.facility_id = any (v_cost))
         or (f.domain = 'drift' and f.facility_id = any (v_drift)))
       and (v_facility is null or f.facility_id = v_facility)
       and (v_connection is null or f.connection_id = v_connection)
  )
  select jsonb_build_object(
    'total', count(*),
    'active', count(*) filter (where status in ('open', 'acknowledged')),
    'by_status', jsonb_build_object(
      'open', count(*) filter (where status = 'open'),
      'acknowledged', count(*) filter (where status = 'acknowledged'),
      'suppressed', count(*) filter (where status = 'suppressed'),
      'resolved', count(*) filter (where status = 'resolved')),
    'by_severity', jsonb_build_object(
      'critical', count(*) filter (where status in ('open', 'acknowledged') and severity = 'critical'),
      'high', count(*) filter (where status in ('open', 'acknowledged') and severity = 'high'),
      'medium', count(*) filter (where status in ('open', 'acknowledged') and severity = 'medium'),
      'low', count(*) filter (where status in ('open', 'acknowledged') and severity = 'low'),
      'informational', count(*) filter (where status in ('open', 'acknowledged') and severity = 'informational')),
    'by_domain', jsonb_build_object(
      'security', count(*) filter (where status in ('open', 'acknowledged') and domain = 'security'),
      'cost', count(*) filter (where status in ('open', 'acknowledged') and domain = 'cost'),
      'drift', count(*) filter (where status in ('open', 'acknowledged') and domain = 'drift')),
    'estimated_monthly_savings_usd',
      coalesce(sum(saving) filter (where status in ('open', 'acknowledged') and domain = 'cost'), 0))
    into v_result
    from visible;
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_counts(jsonb, jsonb) is 'Requires: a valid session; counts only findings the caller may read.';

-- Requires: read in configuration at the facility. The effective check configurations, required-tag
-- policies and baselines that apply to the facility (organization-wide and its own): what the scan job
-- turns into the engine's context (src/findings/config.ts effectiveConfiguration).
create function api.finding_configuration(p_caller jsonb, p_facility_id uuid)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_caller internal.caller;
  v_detail text;
begin
  v_caller := internal.begin_call(p_caller, 'finding.configuration');
  if p_facility_id is null then
    perform internal.raise('AX400', 'facility_id is required', 'invalid_facility');
  end if;
  perform internal.require_facility(p_facility_id);
  perform internal.require(v_caller, 'read', 'configuration', p_facility_id);
  return internal.succeed(v_caller, jsonb_build_object('facility_id', p_facility_id, 'records',
    (select coalesce(jsonb_agg(jsonb_build_object('kind', r.kind, 'facility_id', r.facility_id, 'item_key', r.item_key,
              'item_id', r.id, 'version', r.version, 'record_hash', encode(r.record_hash, 'hex'), 'content', r.content)
              order by r.kind, r.facility_id nulls first, r.item_key), '[]')
       from core.records r
      where r.kind in ('check_configuration', 'policy', 'baseline')
        and r.lifecycle_state = 'effective'
        and (r.facility_id is null or r.facility_id = p_facility_id)
        and (r.kind <> 'policy' or r.content ->> 'type' = 'required_tags'))));
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.finding_configuration(jsonb, uuid) is 'Requires: read in configuration at the facility.';

-- ---------------------------------------------------------------------------------------------
-- api.record_list, replaced: a kind without a fixed domain (findings) has a domain per row, so the list
-- shows only the rows whose domain the caller may read at the facility (migration 009 checked
-- configuration for such kinds, which would have shown every finding to a configuration reader).
-- ---------------------------------------------------------------------------------------------
create or replace function api.record_list(p_caller jsonb, p_kind text, p_facility_id uuid default null)
returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, pg_temp
set client_encoding = 'UTF8'
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
  if v_reg.fixed_domain is not null then
    perform internal.require(v_caller, 'read', v_reg.fixed_domain, p_facility_id);
  end if;
  select coalesce(jsonb_agg(internal.record_json(r) order by r.item_key), '[]'::jsonb) into v_result
    from core.records r
   where r.kind = p_kind and r.facility_id is not distinct from p_facility_id and r.lifecycle_state = 'effective'
     and (v_reg.fixed_domain is not null
          or (internal.has_grant(v_caller.principal_id, 'read', r.domain, r.facility_id)
              and internal.scope_allows(v_caller.scope, 'read', r.domain, r.facility_id)));
  return internal.succeed(v_caller, v_result);
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return internal.fail_call(p_caller, v_caller, sqlstate, sqlerrm, v_detail);
end
$$;
comment on function api.record_list(jsonb, text, uuid) is
  'Requires: read in the kind''s domain at the facility; for kinds with a domain per row, lists only readable rows.';

call internal.finalize_api();
