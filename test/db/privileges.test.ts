// DESIGN.md invariants 1-3 and 6: who owns what, who may do what, proven from the catalog and then
// by trying every forbidden statement for real.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg } from '../support/fixtures.js';

const db = useTestDatabase();

const ourSchemas = ['api', 'core', 'audit', 'internal', 'ext', 'public'];
const runtimeRoles = [
  'axiom_definer',
  'axiom_user',
  'axiom_worker',
  'axiom_auth',
  'axiom_verifier',
  'axiom_reporting',
];

async function rows<T extends pg.QueryResultRow>(
  p: pg.Pool,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await p.query<T>(sql, params)).rows;
}

async function tables(
  t: ReturnType<typeof db>,
): Promise<Array<{ schema: string; name: string; kind: string }>> {
  return rows(
    t.superuser,
    `select n.nspname as schema, c.relname as name, c.relkind as kind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and c.relkind in ('r', 'p') order by 1, 2`,
    [ourSchemas],
  );
}

describe('the catalog', () => {
  it('has axiom_owner own every schema, table, type and trigger function, and nothing else own them', async () => {
    const t = db();
    const owners = await rows<{ what: string; owner: string }>(
      t.superuser,
      `select 'schema ' || nspname as what, pg_get_userbyid(nspowner) as owner from pg_namespace where nspname = any($1)
       union all
       select 'table ' || n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner)
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'S')
       union all
       select 'type ' || n.nspname || '.' || t.typname, pg_get_userbyid(t.typowner)
         from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = any($1) and t.typtype in ('e', 'c', 'd') and t.typrelid = 0`,
      [ourSchemas.filter((s) => s !== 'public')],
    );
    expect(owners.length).toBeGreaterThan(30);
    expect(owners.filter((o) => o.owner !== 'axiom_owner')).toEqual([]);
  });

  it('gives every api function to axiom_definer as SECURITY DEFINER with a pinned search_path', async () => {
    const t = db();
    const fns = await rows<{
      name: string;
      owner: string;
      secdef: boolean;
      config: string[] | null;
    }>(
      t.superuser,
      `select p.oid::regprocedure::text as name, pg_get_userbyid(p.proowner) as owner, p.prosecdef as secdef,
              p.proconfig as config
         from pg_proc p where p.pronamespace = 'api'::regnamespace`,
    );
    expect(fns.length).toBeGreaterThan(25);
    for (const f of fns) {
      expect({ f: f.name, owner: f.owner, secdef: f.secdef }).toEqual({
        f: f.name,
        owner: 'axiom_definer',
        secdef: true,
      });
      expect(f.config, f.name).toContain('search_path=pg_catalog, pg_temp');
    }
  });

  it('pins search_path on every SECURITY DEFINER function anywhere, and says which grant each api function requires', async () => {
    const t = db();
    const unpinned = await rows<{ name: string }>(
      t.superuser,
      `select p.oid::regprocedure::text as name from pg_proc p
        where p.prosecdef and p.pronamespace = any (select oid from pg_namespace where nspname = any($1))
          and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=pg_catalog%')`,
      [ourSchemas],
    );
    expect(unpinned).toEqual([]);
    const undocumented = await rows<{ name: string }>(
      t.superuser,
      `select p.oid::regprocedure::text as name from pg_proc p
        where p.pronamespace = 'api'::regnamespace and coalesce(obj_description(p.oid, 'pg_proc'), '') !~ '^Requires: '`,
    );
    expect(undocumented).toEqual([]);
  });

  it('lets axiom_user execute api functions and nothing else of ours, with no table privilege and no CREATE anywhere', async () => {
    const t = db();
    const executable = await rows<{ name: string; schema: string }>(
      t.superuser,
      `select p.oid::regprocedure::text as name, n.nspname as schema
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and has_function_privilege('axiom_user', p.oid, 'execute')
          and has_schema_privilege('axiom_user', n.oid, 'usage')`,
      [ourSchemas],
    );
    expect(executable.length).toBeGreaterThan(25);
    expect(executable.filter((f) => f.schema !== 'api')).toEqual([]);
    // Not even reachable: no EXECUTE on anything outside api, schema usage aside.
    const outside = await rows<{ name: string }>(
      t.superuser,
      `select p.oid::regprocedure::text as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and n.nspname <> 'api' and has_function_privilege('axiom_user', p.oid, 'execute')`,
      [ourSchemas],
    );
    expect(outside).toEqual([]);
    const privileges = await rows<{ t: string; priv: string }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t, p.priv
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join unnest(array['select','insert','update','delete','truncate','references','trigger']) p(priv)
        where n.nspname = any($1) and c.relkind in ('r','p','v','m','S','f')
          and has_table_privilege('axiom_user', c.oid, p.priv)`,
      [ourSchemas],
    );
    expect(privileges).toEqual([]);
    const columnPrivs = await rows<{ t: string }>(
      t.superuser,
      `select table_schema || '.' || table_name || '.' || column_name || ' ' || privilege_type as t
         from information_schema.column_privileges where grantee in ('axiom_user', 'PUBLIC') and table_schema = any($1)`,
      [ourSchemas],
    );
    expect(columnPrivs).toEqual([]);
    for (const role of runtimeRoles) {
      const creates = await rows<{ s: string }>(
        t.superuser,
        `select nspname as s from pg_namespace where has_schema_privilege($1, oid, 'create')`,
        [role],
      );
      // The job queue's own schema belongs to axiom_worker (graphile-worker migrates it); nothing else.
      expect({ role, creates: creates.map((c) => c.s) }).toEqual({
        role,
        creates: role === 'axiom_worker' ? ['graphile_worker'] : [],
      });
      const db = await rows<{ create: boolean; temp: boolean }>(
        t.superuser,
        `select has_database_privilege($1, current_database(), 'create') as create,
                has_database_privilege($1, current_database(), 'temporary') as temp`,
        [role],
      );
      expect({ role, ...db[0] }).toEqual({ role, create: false, temp: false });
    }
    const usage = await rows<{ s: string }>(
      t.superuser,
      `select nspname as s from pg_namespace where has_schema_privilege('axiom_user', oid, 'usage') and nspname = any($1)`,
      [ourSchemas],
    );
    expect(usage.map((u) => u.s)).toEqual(['api']);
  });

  it('gives axiom_worker (the job queue) EXECUTE on api functions and no privilege on any table of ours', async () => {
    const t = db();
    const privileges = await rows<{ t: string; priv: string }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t, p.priv
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join unnest(array['select','insert','update','delete','truncate','references','trigger']) p(priv)
        where n.nspname = any($1) and c.relkind in ('r','p','v','m','S','f')
          and has_table_privilege('axiom_worker', c.oid, p.priv)`,
      [ourSchemas],
    );
    expect(privileges).toEqual([]);
    const outside = await rows<{ name: string }>(
      t.superuser,
      `select p.oid::regprocedure::text as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and n.nspname <> 'api' and has_function_privilege('axiom_worker', p.oid, 'execute')
          and has_schema_privilege('axiom_worker', n.oid, 'usage')`,
      [ourSchemas],
    );
    expect(outside).toEqual([]);
    const owned = await rows<{ s: string }>(
      t.superuser,
      `select nspname as s from pg_namespace where pg_get_userbyid(nspowner) = 'axiom_worker'`,
    );
    expect(owned.map((o) => o.s)).toEqual(['graphile_worker']);
  });

  it('keeps axiom_definer from deleting, truncating or updating audit rows, and limits its UPDATE to lifecycle columns', async () => {
    const t = db();
    const attrs = await rows<{ rolbypassrls: boolean; rolsuper: boolean; rolcanlogin: boolean }>(
      t.superuser,
      `select rolbypassrls, rolsuper, rolcanlogin from pg_roles where rolname = 'axiom_definer'`,
    );
    expect(attrs[0]).toEqual({ rolbypassrls: false, rolsuper: false, rolcanlogin: false });
    const forbidden = await rows<{ t: string; priv: string }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t, p.priv
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join unnest(array['delete','truncate']) p(priv)
        where n.nspname = any($1) and c.relkind in ('r','p') and has_table_privilege('axiom_definer', c.oid, p.priv)
       union all
       select n.nspname || '.' || c.relname, 'update'
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'audit' and c.relkind in ('r','p') and has_any_column_privilege('axiom_definer', c.oid, 'update')`,
      [ourSchemas],
    );
    expect(forbidden).toEqual([]);
    // UPDATE names columns: every updatable column is a lifecycle column.
    const updatable = await rows<{ t: string; col: string }>(
      t.superuser,
      `select table_schema || '.' || table_name as t, column_name as col from information_schema.column_privileges
        where grantee = 'axiom_definer' and privilege_type = 'UPDATE' order by 1, 2`,
    );
    // Lifecycle columns of history tables, and the settings of an organization (not versioned data).
    const mutable = new Set([
      'lifecycle_state',
      'lifecycle_changed_at',
      'lifecycle_changed_by',
      'revoked_at',
      'revoked_by',
      'revoke_reason',
      'disabled_at',
      'disabled_by',
      'retired_at',
      'last_seen_at',
      'legal_hold',
      'failed_attempts',
      'locked_until',
      'last_failed_at',
      'password_hash',
      'set_at',
      'state',
      'submitted_at',
      'decided_at',
      'last_signed_at',
      'satisfied_factors',
      'identification_confirmed',
      'consumed_at',
      'signature_id',
      'sign_count',
      'last_used_at',
      'removed_at',
      'last_login_at',
      'password_min_length',
      'password_history',
      'password_max_age_days',
      'lockout_threshold',
      'lockout_minutes',
      'session_idle_minutes',
      'session_max_hours',
      'signing_continuity_minutes',
      'max_delegation_days',
      // core.findings: the current state of a versioned finding (each status change is also a new
      // version in core.finding_versions) and its latest observation by a scan.
      'last_scan_id',
      'evidence',
      'estimated_monthly_saving_usd',
      'status',
      'status_changed_at',
      'status_changed_by',
      'suppressed_until',
      'suppression_reason',
      'resolved_at',
      'current_record_id',
      'current_version',
      // Cloud (issue 5): External ID rotation, the state of a scan job, the inventory's pointer to
      // each resource's current observation (observations themselves are append-only).
      'superseded_at',
      'accepted_until',
      'status',
      'started_at',
      'finished_at',
      'progress',
      'errors',
      'summary',
      'last_seen_scan_id',
      'observation_id',
      'content_hash',
      'removed_scan_id',
      // The retention watermark of the audit trail (db/migrations/040): only moves forward.
      'archived_before',
    ]);
    // The versioned table itself: lifecycle columns only.
    expect(updatable.filter((u) => u.t === 'core.records').map((u) => u.col)).toEqual([
      'lifecycle_changed_at',
      'lifecycle_changed_by',
      'lifecycle_state',
    ]);
    // Columns emptied rather than changed, by table: a CLI sign-in handoff forgets the identity it
    // carried once it is spent or expired (db/migrations/099).
    const emptied = new Set(['core.sso_cli_handoffs.identity']);
    expect(updatable.filter((u) => !mutable.has(u.col) && !emptied.has(`${u.t}.${u.col}`))).toEqual(
      [],
    );
    expect(updatable.some((u) => u.t === 'core.policies' && u.col === 'content')).toBe(false);
    // No table-wide UPDATE at all (only column grants).
    const wide = await rows<{ t: string }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r','p') and has_table_privilege('axiom_definer', c.oid, 'update')`,
      [ourSchemas],
    );
    expect(wide).toEqual([]);
  });

  it('enables and forces RLS on every table holding tenant data, partitions included', async () => {
    const t = db();
    const all = await tables(t);
    const tenant = all.filter((x) => x.schema === 'core' || x.schema === 'audit');
    expect(tenant.length).toBeGreaterThan(25);
    const flags = await rows<{ t: string; rls: boolean; forced: boolean }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t, c.relrowsecurity as rls, c.relforcerowsecurity as forced
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('core', 'audit') and c.relkind in ('r', 'p')`,
    );
    expect(flags.filter((f) => !f.rls || !f.forced)).toEqual([]);
    const withoutPolicy = await rows<{ t: string }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('core', 'audit') and c.relkind in ('r', 'p')
          and not exists (select 1 from pg_policy p where p.polrelid = c.oid)`,
    );
    expect(withoutPolicy).toEqual([]);
    // The tables outside core/audit hold no tenant data (installation bookkeeping and registries).
    expect(
      all
        .filter((x) => x.schema === 'internal' || x.schema === 'public')
        .map((x) => x.name)
        .sort(),
    ).toEqual([
      'action_types',
      'axiom_schema_version',
      'controlled_tables',
      'event_types',
      'finding_checks',
      'installation',
      'password_denylist',
      'signature_factors',
    ]);
  });

  it('gives BYPASSRLS only to the two function-owning roles, which cannot log in and own only their functions', async () => {
    const t = db();
    const bypass = await rows<{ rolname: string; rolcanlogin: boolean }>(
      t.superuser,
      `select rolname, rolcanlogin from pg_roles where rolbypassrls and not rolsuper order by 1`,
    );
    expect(bypass).toEqual([
      { rolname: 'axiom_auth', rolcanlogin: false },
      { rolname: 'axiom_verifier', rolcanlogin: false },
    ]);
    const owned = await rows<{ owner: string; name: string }>(
      t.superuser,
      `select pg_get_userbyid(p.proowner) as owner, p.proname as name from pg_proc p
        where pg_get_userbyid(p.proowner) in ('axiom_auth', 'axiom_verifier') order by 1, 2`,
    );
    expect(owned.map((o) => `${o.owner}:${o.name}`)).toEqual([
      'axiom_auth:auth_check_password',
      'axiom_auth:auth_dead_session',
      'axiom_auth:auth_find_organization',
      'axiom_auth:auth_find_principal',
      'axiom_auth:auth_find_provider',
      'axiom_auth:auth_organization_ids',
      'axiom_auth:context_org_id',
      'axiom_auth:current_org_id',
      'axiom_auth:current_principal_id',
      'axiom_auth:session_identity',
      'axiom_verifier:chain_counts',
      'axiom_verifier:chain_heads',
      'axiom_verifier:verify_all',
      'axiom_verifier:verify_event_chains',
      'axiom_verifier:verify_records',
      'axiom_verifier:verify_signatures',
    ]);
    const authTables = await rows<{ t: string }>(
      t.superuser,
      `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r','p') and n.nspname = any($1)
          and (has_table_privilege('axiom_auth', c.oid, 'insert') or has_table_privilege('axiom_auth', c.oid, 'update')
               or has_table_privilege('axiom_auth', c.oid, 'delete') or has_table_privilege('axiom_verifier', c.oid, 'insert')
               or has_table_privilege('axiom_verifier', c.oid, 'update') or has_table_privilege('axiom_verifier', c.oid, 'delete'))`,
      [ourSchemas],
    );
    expect(authTables).toEqual([]);
  });
});

describe('trying the forbidden thing for real', () => {
  it('refuses SELECT, INSERT, UPDATE, DELETE and TRUNCATE on every table to axiom_user', async () => {
    const t = db();
    const org = await createOrg(t);
    await createFacility(t, org);
    const all = await tables(t);
    const client = new pg.Client({ connectionString: connectionString(t.target('axiom_user')) });
    await client.connect();
    try {
      for (const { schema, name } of all) {
        const q = `"${schema}"."${name}"`;
        const column = (
          await t.superuser.query<{ c: string }>(
            `select attname as c from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped
              order by attnum limit 1`,
            [q],
          )
        ).rows[0]!.c;
        for (const sql of [
          `select * from ${q} limit 1`,
          `insert into ${q} default values`,
          `update ${q} set "${column}" = "${column}"`,
          `delete from ${q}`,
          `truncate ${q}`,
        ]) {
          const err = await client.query(sql).then(
            () => null,
            (e: { code?: string }) => e.code,
          );
          expect({ sql, err }).toEqual({ sql, err: '42501' }); // insufficient_privilege
        }
      }
    } finally {
      await client.end();
    }
  });

  it('refuses UPDATE and DELETE on audit rows to axiom_definer (no privilege) and to the owner (triggers)', async () => {
    const t = db();
    const org = await createOrg(t);
    const client = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('set local role axiom_definer');
      await client.query(`select set_config('axiom.session_token', $1, true)`, [org.admin.token]);
      for (const sql of [
        'update audit.audit_events set reason = $$x$$',
        'delete from audit.audit_events',
        'update audit.session_events set outcome = $$ok$$',
        'delete from audit.session_events',
        'truncate audit.audit_events',
        'delete from core.grants',
        'update core.policies set content = $${}$$',
      ]) {
        await client.query('savepoint s');
        const err = await client.query(sql).then(
          () => null,
          (e: { code?: string }) => e.code,
        );
        expect({ sql, err }).toEqual({ sql, err: '42501' });
        await client.query('rollback to savepoint s');
      }
      await client.query('rollback');

      // The owner has the privileges (it owns the tables); the triggers refuse. RLS is forced on the
      // owner too, so it needs a valid session to even see the rows.
      const parts = (
        await client.query<{ t: string }>(
          `select 'audit.' || relname as t from pg_class where relnamespace = 'audit'::regnamespace and relkind in ('r','p')`,
        )
      ).rows.map((r) => r.t);
      await client.query('begin');
      await client.query('set local role axiom_owner');
      await client.query(`select set_config('axiom.session_token', $1, true)`, [org.admin.token]);
      const visible = await client.query('select count(*)::int as n from audit.audit_events');
      expect(visible.rows[0].n).toBeGreaterThan(3);
      for (const sql of [
        'update audit.audit_events set reason = $$x$$',
        'delete from audit.audit_events',
        'update audit.session_events set outcome = $$ok$$',
        'delete from audit.session_events',
        ...parts.map((p) => `truncate ${p}`),
      ]) {
        await client.query('savepoint s');
        const err = await client.query(sql).then(
          () => null,
          (e: { code?: string; message?: string }) => `${e.code}`,
        );
        expect({ sql, err }).toEqual({ sql, err: 'AX403' });
        await client.query('rollback to savepoint s');
      }
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });

  it('keeps controlled-record data immutable even for the owner, and refuses deleting history', async () => {
    const t = db();
    const org = await createOrg(t);
    await createFacility(t, org);
    const client = new pg.Client({ connectionString: connectionString(t.target('axiom_owner')) });
    await client.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('axiom.session_token', $1, true)`, [org.admin.token]);
      const n = await client.query('select count(*)::int as n from core.facility_configurations');
      expect(n.rows[0].n).toBe(1);
      for (const [sql, code] of [
        [
          `update core.facility_configurations set content = '{"autonomy_tier":"auto_apply_low_risk"}'`,
          'AX403',
        ],
        [`update core.facility_configurations set version = 7`, 'AX403'],
        [`update core.facility_configurations set lifecycle_state = 'draft'`, 'AX409'],
        [`delete from core.facility_configurations`, 'AX403'],
        [`delete from core.grants`, 'AX403'],
        [`update core.grants set level = 'review'`, 'AX403'],
        [`truncate core.grants`, 'AX403'],
        [`delete from core.principals`, 'AX403'],
      ] as const) {
        await client.query('savepoint s');
        const err = await client.query(sql).then(
          () => null,
          (e: { code?: string }) => e.code,
        );
        expect({ sql, err }).toEqual({ sql, err: code });
        await client.query('rollback to savepoint s');
      }
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });

  it('does not let axiom_user become another role or read the installation secrets', async () => {
    const t = db();
    const client = new pg.Client({ connectionString: connectionString(t.target('axiom_user')) });
    await client.connect();
    try {
      for (const role of [
        'axiom_definer',
        'axiom_owner',
        'axiom_auth',
        'axiom_verifier',
        'axiom_reporting',
        'postgres',
      ]) {
        const err = await client.query(`set role ${role}`).then(
          () => null,
          (e: { code?: string }) => e.code,
        );
        expect({ role, err }).toEqual({ role, err: '42501' });
      }
      const err = await client.query('select * from internal.installation').then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(err).toBe('42501');
      const temp = await client.query('create temp table x (a int)').then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(temp).toBe('42501');
      const fn = await client.query('select internal.current_org_id()').then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(fn).toBe('42501');
    } finally {
      await client.end();
    }
  });
});
