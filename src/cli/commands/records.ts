// `axiom record list|show|propose`: controlled records (policies, check configurations, facility
// configurations with their autonomy tier, signing policies) through the HTTPS API (docs/cli.md). A
// record is never edited: proposing opens a change request for a new version, which takes effect
// only once it is approved (`axiom change-request ...`). The database decides who may read or author.
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import {
  type CallApi,
  facilityRef,
  readJsonObject,
  urlOption,
  uuidArg,
  withClient,
} from '../api.js';
import type { CliContext, Lazy } from '../main.js';

/** The kinds the dashboard offers; the database's registry decides (plans have `axiom plan`). */
const KINDS = 'policy, check_configuration, facility_configuration, signing_policy';

/** The largest content the CLI sends (the API's body limit is larger; the database checks the content). */
const MAX_CONTENT_BYTES = 256 * 1024;

interface RecordVersion {
  id: string;
  record_id: string;
  kind: string;
  version: number;
  lifecycle_state: string;
  facility_id: string | null;
  item_key: string | null;
  content: Record<string, unknown>;
  record_hash: string;
  created_at: string;
}

interface RecordHistory {
  item_id: string;
  kind: string;
  effective: RecordVersion | null;
  latest: RecordVersion;
  versions: Array<{
    version: number;
    lifecycle_state: string;
    created_at: string;
    created_by: string;
    change_reason: string | null;
    change_request_id: string | null;
    record_hash: string;
  }>;
}

const kindArg = (v: string): string => {
  if (!/^[a-z][a-z_]{1,40}$/.test(v))
    throw new AppError('invalid_input', `${v} is not a record kind (${KINDS})`, {
      reason: 'usage',
    });
  return v;
};

const clip = (v: unknown, n: number): string => {
  const s = JSON.stringify(v);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
};

/** The facility of a new version: the one given, else its item's (a version stays at its facility). */
async function facilityOf(
  api: CallApi,
  kind: string,
  item: string | undefined,
  given: string | undefined,
): Promise<string | null> {
  if (given !== undefined) return await facilityRef(api, given);
  if (item === undefined) return null;
  const r = await api.call<RecordHistory>('GET', `/api/v1/records/${kind}/${item}`);
  return r.latest.facility_id;
}

export function registerRecordCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const record = program
    .command('record')
    .alias('records')
    .description(`controlled records (${KINDS}), changed only through change requests`);

  record
    .command('list <kind>')
    .description(
      'the effective version of each record of a kind, organization-wide or at a facility',
    )
    .option('--facility <facility>', 'records of this facility (id or slug) instead')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (kind: string, o: { facility?: string; json?: boolean; url?: string }) => {
      const k = kindArg(kind);
      const { records } = await withClient(ctx, o.url, async (api) => {
        const facility = o.facility === undefined ? null : await facilityRef(api, o.facility);
        return await api.call<{ records: RecordVersion[] }>(
          'GET',
          `/api/v1/records/${k}${facility ? `?facility_id=${facility}` : ''}`,
        );
      });
      if (o.json) return ctx.io.json(records);
      if (records.length === 0) return ctx.io.out(`no effective ${k} records here`);
      for (const r of records)
        ctx.io.out(
          `${r.id}  v${r.version}  ${(r.item_key ?? '-').padEnd(24)}  ${r.record_hash.slice(0, 12)}  ${clip(r.content, 100)}`,
        );
    });

  record
    .command('show <kind> <id>')
    .description('one record: its effective content and every version, with who changed it and why')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (kind: string, id: string, o: { json?: boolean; url?: string }) => {
      const k = kindArg(kind);
      const r = await withClient(ctx, o.url, (api) =>
        api.call<RecordHistory>('GET', `/api/v1/records/${k}/${uuidArg(id)}`),
      );
      if (o.json) return ctx.io.json(r);
      ctx.io.out(
        `${r.kind} ${r.item_id}  ${r.latest.item_key ?? ''}  ${r.latest.facility_id ? `facility ${r.latest.facility_id}` : 'organization-wide'}`,
      );
      ctx.io.out(
        r.effective
          ? `effective: version ${r.effective.version}, record hash ${r.effective.record_hash}`
          : 'effective: none yet',
      );
      for (const line of JSON.stringify(r.effective?.content ?? null, null, 2).split('\n'))
        ctx.io.out(`  ${line}`);
      ctx.io.out('versions:');
      for (const v of r.versions)
        ctx.io.out(
          `  v${v.version}  ${v.lifecycle_state.padEnd(10)}  ${v.created_at}  by ${v.created_by}${v.change_request_id ? `  change request ${v.change_request_id}` : ''}${v.change_reason ? `  ${v.change_reason}` : ''}`,
        );
    });

  record
    .command('propose <kind>')
    .description(
      'propose a new record (--key) or a new version of one (--item): opens a change request; nothing takes effect until it is approved',
    )
    .option('--item <id>', 'the record to change (axiom record list)')
    .option('--key <key>', 'a new record’s stable name (letters, digits and _.:/-)')
    .option(
      '--facility <facility>',
      'a new record’s facility, by id or slug (default: organization-wide)',
    )
    .requiredOption(
      '--content-file <file>',
      'the whole new content, a JSON object (- for standard input)',
    )
    .requiredOption('--title <text>', 'the change request’s title')
    .requiredOption('--reason <text>', 'why the change is needed')
    .option('--submit', 'submit the change request for review right away')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (
        kind: string,
        o: {
          item?: string;
          key?: string;
          facility?: string;
          contentFile: string;
          title: string;
          reason: string;
          submit?: boolean;
          json?: boolean;
          url?: string;
        },
      ) => {
        const k = kindArg(kind);
        if ((o.item === undefined) === (o.key === undefined))
          throw new AppError(
            'invalid_input',
            'give --key for a new record or --item for a new version of one (not both)',
            { reason: 'usage' },
          );
        const item = o.item === undefined ? undefined : uuidArg(o.item);
        const content = await readJsonObject(
          ctx,
          o.contentFile,
          '--content-file',
          MAX_CONTENT_BYTES,
        );
        const cr = await withClient(ctx, o.url, async (api) => {
          const opened = await api.call<{ id: string; state: string }>(
            'POST',
            `/api/v1/records/${k}`,
            {
              facility_id: await facilityOf(api, k, item, o.facility),
              item_id: item ?? null,
              item_key: o.key ?? null,
              content,
              title: o.title,
              reason: o.reason,
            },
          );
          return o.submit
            ? await api.call<{ id: string; state: string }>(
                'POST',
                `/api/v1/change-requests/${opened.id}/submit`,
              )
            : opened;
        });
        if (o.json) return ctx.io.json(cr);
        ctx.io.out(`change request ${cr.id}: ${cr.state}`);
        ctx.io.out(
          cr.state === 'draft'
            ? `Then: axiom change-request submit ${cr.id}`
            : `Then: a reviewer signs it: axiom change-request approve ${cr.id}`,
        );
      },
    );
}
