-- 102: a plan step acts on the resource it names.
--
-- A step carries two descriptions of its target: resourceArn, from which the database derives the
-- blast radius and the risk tier that decide how many people must sign, and params, which the
-- executor acts on (the bucket, the instance id, the key id, ...). Nothing checked that the two agree:
-- an author revising a plan (api.plan_revise takes the steps from the caller) could name a harmless
-- resource in resourceArn and another in params, and the approvers would sign a blast radius that
-- was not the one the execution would touch. The database now refuses a plan version (any path
-- that writes one: propose, revise, rollback) whose step's params name another resource, region or
-- account than its resourceArn, or lack the identifying parameter. src/execution/params.ts holds the
-- same rule for the executor, which applies it again when it runs a plan.
--
-- The ARN forms are the inventory's (src/cloud/collectors.ts, arnFor in src/cloud/inventory.ts):
-- arn:<partition>:<service>:<region>:<account>:<resource>, with an empty region for S3 and IAM and an
-- empty account for S3 buckets and public EC2 snapshots and images.

-- What is wrong with the step's target, or null when resourceArn names what params act on. p_account
-- is the plan's AWS account (content.account_id, derived from the connection by internal.plan_content).
create function internal.plan_step_target_problem(p_step jsonb, p_account text)
returns text
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_action text := p_step ->> 'actionId';
  v_arn text := p_step ->> 'resourceArn';
  v_p jsonb := p_step -> 'params';
  v_parts text[];
  v_service text;
  v_region text;
  v_resource text;
  v_id text;
begin
  v_parts := regexp_match(v_arn, '^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):([0-9]{12})?:(.+)$');
  if v_parts is null then
    return format('resourceArn %s is not an ARN of a resource', left(coalesce(v_arn, 'null'), 200));
  end if;
  if jsonb_typeof(v_p) is distinct from 'object' then
    return 'params is an object';
  end if;
  -- The ARN's account, when it has one, is the plan's.
  if v_parts[3] is not null and v_parts[3] is distinct from p_account then
    return format('resourceArn %s is in account %s, not the plan''s account %s', v_arn, v_parts[3],
      coalesce(p_account, 'unknown'));
  end if;

  -- The service, region ('' for global ones) and resource the params name.
  v_region := coalesce(v_p ->> 'region', '');
  case
    when v_action = 's3.put_account_public_access_block' then
      if v_p ->> 'accountId' is distinct from p_account then
        return 'params.accountId is the plan''s account';
      end if;
      v_service := 's3'; v_region := ''; v_resource := 'account-public-access-block';
    when v_action in ('s3.put_bucket_public_access_block', 's3.enable_default_encryption',
                      's3.enable_versioning', 's3.enable_access_logging') then
      v_service := 's3'; v_region := ''; v_resource := v_p ->> 'bucket';
    when v_action = 'ec2.revoke_security_group_rule' then
      v_service := 'ec2'; v_resource := 'security-group/' || (v_p ->> 'groupId');
    when v_action in ('ec2.require_imdsv2', 'ec2.stop_instance') then
      v_service := 'ec2'; v_resource := 'instance/' || (v_p ->> 'instanceId');
    when v_action = 'ec2.enable_ebs_default_encryption' then
      v_service := 'ec2'; v_resource := 'ebs-encryption-by-default';
    when v_action in ('ec2.disable_snapshot_public', 'ec2.delete_snapshot') then
      v_service := 'ec2'; v_resource := 'snapshot/' || (v_p ->> 'snapshotId');
    when v_action = 'ec2.disable_image_public' then
      v_service := 'ec2'; v_resource := 'image/' || (v_p ->> 'imageId');
    when v_action in ('ec2.snapshot_and_delete_volume', 'ec2.modify_volume_gp3') then
      v_service := 'ec2'; v_resource := 'volume/' || (v_p ->> 'volumeId');
    when v_action = 'ec2.release_address' then
      v_service := 'ec2'; v_resource := 'elastic-ip/' || (v_p ->> 'allocationId');
    when v_action in ('rds.disable_public_access', 'rds.enable_backups', 'rds.enable_deletion_protection') then
      -- RDS keeps identifiers in lower case; its ARNs do too.
      v_service := 'rds'; v_resource := 'db:' || lower(v_p ->> 'dbInstanceIdentifier');
    when v_action = 'rds.disable_snapshot_public' then
      v_service := 'rds'; v_resource := 'snapshot:' || lower(v_p ->> 'dbSnapshotIdentifier');
    when v_action in ('cloudtrail.enable_log_validation', 'cloudtrail.start_logging', 'cloudtrail.enable_multi_region') then
      v_service := 'cloudtrail'; v_resource := 'trail/' || (v_p ->> 'trailName');
    when v_action = 'iam.deactivate_access_key' then
      v_service := 'iam'; v_region := '';
      v_resource := 'user/' || (v_p ->> 'userName') || '/access-key/' || (v_p ->> 'fingerprint');
    when v_action = 'iam.update_password_policy' then
      v_service := 'iam'; v_region := ''; v_resource := 'account-password-policy';
    when v_action = 'kms.enable_key_rotation' then
      v_service := 'kms'; v_resource := 'key/' || (v_p ->> 'keyId');
    when v_action = 'tags.add_required_tags' then
      v_id := v_p ->> 'resourceId';
      v_service := 'ec2';
      v_resource := case when v_id like 'i-%' then 'instance/' when v_id like 'vol-%' then 'volume/' end || v_id;
    else
      return format('unknown action %s', left(coalesce(v_action, 'null'), 60));
  end case;

  if v_resource is null then
    return format('params do not name the resource %s acts on', v_action);
  end if;
  if v_parts[1] <> v_service or v_parts[2] <> v_region
     or (case when v_service = 'rds' then lower(v_parts[4]) else v_parts[4] end) <> v_resource then
    return format('resourceArn %s is not what its params act on (%s %s%s)', v_arn, v_service,
      case when v_region = '' then '' else v_region || ' ' end, v_resource);
  end if;
  return null;
end
$$;

-- Every version of a plan, whichever function writes it. Named to run before _100_chain hashes the row.
create function internal.tg_records__plan_step_targets()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_step jsonb;
  v_i bigint;
  v_problem text;
begin
  for v_step, v_i in
    select s, n - 1 from jsonb_array_elements(new.content -> 'steps') with ordinality as x(s, n)
  loop
    v_problem := internal.plan_step_target_problem(v_step, new.content ->> 'account_id');
    if v_problem is not null then
      perform internal.raise('AX422', format('step %s (%s): %s: a step acts on the resource it names', v_i,
        left(coalesce(v_step ->> 'actionId', 'null'), 60), v_problem), 'step_target_mismatch');
    end if;
  end loop;
  return new;
end
$$;
create trigger _060_plan_step_targets before insert on core.records
  for each row when (new.kind = 'plan')
  execute function internal.tg_records__plan_step_targets();

grant execute on function internal.plan_step_target_problem(jsonb, text) to axiom_definer;
