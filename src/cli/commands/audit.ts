// `axiom audit ...`: export the trail from a running server, verify an export offline, sign checkpoints
// (operator, on the installation's machine), and report the evidence for one control. Exit codes:
// 0 success (verify: intact), 1 verify found a broken entry, 2 anything else (docs/cli.md).
import { Option, type Command } from 'commander';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Problem } from '../../audit/verifier.js';
import { AppError } from '../../errors.js';
import { urlOption } from '../api.js';
import { withLocalApi } from '../local.js';
import { registerAuditEventCommands } from './audit-events.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';
import { mib, progressBar } from '../progress.js';

// Loaded when a command runs, so that every other command starts without them.
const checkpoints = () => import('../../audit/checkpoints.js');
const verifyFileModule = () => import('../../audit/verify-file.js');
const client = () => import('../client.js');

/** The last non-empty line of a file (the export's end row). */
function lastLine(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const n = Math.min(size, 4096);
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, size - n);
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    return lines[lines.length - 1] ?? '';
  } finally {
    fs.closeSync(fd);
  }
}

function endRows(line: string, format: 'jsonl' | 'csv'): number | undefined {
  if (format === 'jsonl') {
    try {
      const row = JSON.parse(line) as { stream?: unknown; rows?: unknown };
      return row.stream === 'end' && typeof row.rows === 'number' ? row.rows : undefined;
    } catch {
      return undefined;
    }
  }
  const m = /^"end",.*"\{""rows"":(\d+)\}"$/.exec(line);
  return m ? Number(m[1]) : undefined;
}

function describe(p: Problem): string {
  return `${p.table} ${p.recordId ?? '-'} (${p.problem}, position ${p.position})${p.detail ? `: ${p.detail}` : ''}`;
}

export function registerAuditCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  const audit = program
    .command('audit')
    .description('read, export, verify and report on the audit trail; sign checkpoints');
  registerAuditEventCommands(audit, ctx);

  audit
    .command('export')
    .description(
      'download the organization’s whole audit trail from the server (AXIOM_URL; AXIOM_TOKEN or `axiom login`; audit:read)',
    )
    .requiredOption('--out <file>', 'where to write the export')
    .addOption(
      new Option('--format <format>', 'JSON Lines or CSV')
        .choices(['jsonl', 'csv'])
        .default('jsonl'),
    )
    .addOption(urlOption())
    .action(async (opts: { out: string; format: 'jsonl' | 'csv'; url?: string }) => {
      const { clientFor } = await client();
      const http = clientFor(lazy.config(), ctx.env, { url: opts.url });
      const partial = `${opts.out}.partial`;
      try {
        const body = await http.stream(`/api/v1/audit/export?format=${opts.format}`);
        // The size is not known before the end: the bar counts what has arrived.
        const bar = await progressBar(ctx, 'export | {received} MiB received', 0, {
          received: '0.0',
        });
        let received = 0;
        const counted = async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            received += chunk.length;
            bar.update(0, { received: mib(received) });
            yield chunk;
          }
        };
        try {
          // The export holds the organization's trail: readable by its owner only.
          await pipeline(body, counted, fs.createWriteStream(partial, { mode: 0o600 }));
        } finally {
          bar.stop();
        }
        const rows = endRows(lastLine(partial), opts.format);
        if (rows === undefined)
          throw new AppError(
            'unavailable',
            'the export was interrupted before its end (the server stopped sending); nothing was written',
            { reason: 'export_interrupted' },
          );
        fs.renameSync(partial, opts.out);
        ctx.io.out(`exported ${rows} rows to ${opts.out}`);
      } finally {
        fs.rmSync(partial, { force: true });
        await http.close();
      }
    });

  audit
    .command('verify')
    .description(
      'verify an export with no database and no network: every hash, link, signature binding and checkpoint (exit 0 intact, 1 broken, 2 unreadable)',
    )
    .argument('<file>', 'an export written by `axiom audit export`')
    .option(
      '--checkpoints <dir>',
      'a checkpoint directory (default: AXIOM_CHECKPOINT_DIR when it exists); its published keys are trusted',
    )
    .option('--public-key <file...>', 'a PEM public key whose checkpoints are trusted')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        file: string,
        opts: { checkpoints?: string; publicKey?: string[]; json?: boolean },
      ) => {
        const config = lazy.config();
        const { CheckpointKey } = await checkpoints();
        const { UnreadableExportError, verifyFile } = await verifyFileModule();
        const dir =
          opts.checkpoints ??
          (fs.existsSync(config.audit.checkpointDir) ? config.audit.checkpointDir : undefined);
        const publicKeys: string[] = [];
        for (const f of opts.publicKey ?? []) {
          try {
            publicKeys.push(fs.readFileSync(f, 'utf8'));
          } catch (e) {
            ctx.io.err(`error: cannot read the public key ${f}: ${(e as Error).message}`);
            throw new ExitCode(2);
          }
        }
        if (!opts.publicKey && fs.existsSync(config.audit.checkpointKeyFile)) {
          try {
            publicKeys.push(CheckpointKey.open(config.audit.checkpointKeyFile).publicKeyPem());
          } catch {
            // not ours to read: the published keys still apply
          }
        }
        let result: Awaited<ReturnType<typeof verifyFile>>;
        const bar = opts.json
          ? undefined
          : await progressBar(
              ctx,
              'verify [{bar}] {percentage}% | {done}/{size} MiB | {eta_formatted}',
              1,
              {
                done: '0.0',
                size: '?',
              },
            );
        try {
          result = await verifyFile(file, {
            publicKeys,
            checkpointDir: dir,
            ...(bar
              ? {
                  onProgress: (read: number, size: number) => {
                    bar.setTotal(Math.max(1, size));
                    bar.update(read, { done: mib(read), size: mib(size) });
                  },
                }
              : {}),
          });
        } catch (e) {
          if (e instanceof UnreadableExportError) {
            bar?.stop();
            ctx.io.err(`error: ${e.message}`);
            throw new ExitCode(2);
          }
          throw e;
        } finally {
          bar?.stop();
        }
        const rows = Object.values(result.counts).reduce((a, b) => a + b, 0);
        const cp = result.checkpoints;
        if (opts.json) ctx.io.json(result);
        else if (result.intact) {
          ctx.io.out(
            `intact: ${rows} rows verified (${Object.entries(result.counts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`,
          );
          ctx.io.out(
            `checkpoints: ${cp.verified} verified, ${cp.notApplicable} newer than the export, ${cp.unchecked} unchecked`,
          );
          if (cp.unchecked > 0)
            ctx.io.out(
              'warning: some checkpoints were not checked: give --public-key or --checkpoints with the published key',
            );
          else if (cp.verified === 0)
            // Hashes and links prove the rows agree with each other; only a signed head proves that
            // none was removed from the end of a chain (docs/hashing.md).
            ctx.io.out(
              'note: no signed checkpoint was checked, so entries removed from the end of a chain would not show: give --checkpoints DIR (or run `axiom audit checkpoint` before exporting)',
            );
        } else {
          ctx.io.out(`BROKEN: ${describe(result.problems[0]!)}`);
          ctx.io.out(`${result.problems.length} problem(s) found`);
          for (const p of result.problems.slice(1, 20)) ctx.io.out(`  ${describe(p)}`);
        }
        if (!result.intact) throw new ExitCode(1);
      },
    );

  audit
    .command('checkpoint')
    .description(
      'sign and publish a checkpoint of every organization’s chains now (operator command, on the installation’s machine)',
    )
    .option('--json', 'print the checkpoints as JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = lazy.config();
      const { CheckpointKey, CheckpointService } = await checkpoints();
      const { openCheckpointStore } = await import('../../audit/checkpoint-s3.js');
      const { cloudSettings } = await import('../../cloud/index.js');
      // The directory, or the object-locked bucket (checked before anything is signed).
      const store = await openCheckpointStore(config, cloudSettings(config));
      const results = await withLocalApi(lazy, { migrate: false }, async (api, db) =>
        new CheckpointService({
          api,
          serviceSecret: db.secrets.workerSecret,
          key: CheckpointKey.open(config.audit.checkpointKeyFile, { create: true }),
          store,
        }).forAll(),
      ).finally(() => store.close?.());
      if (opts.json) ctx.io.json(results);
      else {
        for (const r of results)
          ctx.io.out(
            `${r.organization_id} ${r.id} root ${r.root} (${r.heads} heads) ${r.location}`,
          );
        ctx.io.out(`${results.length} checkpoint(s) signed with key ${results[0]?.key_id ?? '-'}`);
      }
    });

  audit
    .command('report')
    .description(
      'the evidence for one control (SOC 2, ISO 27001 or Part 11) over a period, from the server (audit:read)',
    )
    .requiredOption('--control <control>', 'e.g. CC6.1, A.8.15, 11.10(e)')
    .option('--from <time>', 'start of the period, ISO 8601 (default: 90 days ago)')
    .option('--to <time>', 'end of the period, exclusive (default: now)')
    .option('--json', 'print the report as JSON')
    .addOption(urlOption())
    .action(
      async (opts: {
        control: string;
        from?: string;
        to?: string;
        json?: boolean;
        url?: string;
      }) => {
        const to = opts.to ? new Date(opts.to) : new Date();
        const from = opts.from ? new Date(opts.from) : new Date(to.getTime() - 90 * 86_400_000);
        if (Number.isNaN(to.getTime()) || Number.isNaN(from.getTime())) {
          ctx.io.err(
            'error: --from and --to are ISO 8601 times, e.g. 2026-01-01 or 2026-01-01T00:00:00Z',
          );
          throw new ExitCode(2);
        }
        const { clientFor } = await client();
        const http = clientFor(lazy.config(), ctx.env, { url: opts.url });
        interface Report {
          control: string;
          frameworks: string[];
          event_types: Array<{ event_type: string; description: string }>;
          from: string;
          to: string;
          counts: Record<string, number>;
          archived_count: number;
          archived_before: string | null;
          rows: Array<Record<string, unknown>>;
          next_cursor: string | null;
        }
        try {
          let report: Report | undefined;
          let cursor: string | null = null;
          do {
            const q = new URLSearchParams({
              control: opts.control,
              from: from.toISOString(),
              to: to.toISOString(),
              limit: '5000',
              ...(cursor ? { cursor } : {}),
            });
            const page: Report = await http.call<Report>(
              'GET',
              `/api/v1/audit/compliance/report?${q}`,
            );
            if (report) report.rows.push(...page.rows);
            else report = page;
            cursor = page.next_cursor;
          } while (cursor);
          const r = report!;
          r.next_cursor = null;
          if (opts.json) return ctx.io.json(r);
          ctx.io.out(`control ${r.control} (${r.frameworks.join(', ')}), ${r.from} to ${r.to}`);
          for (const t of r.event_types)
            ctx.io.out(
              `  ${String(r.counts[t.event_type] ?? 0).padStart(7)}  ${t.event_type}: ${t.description}`,
            );
          if (r.archived_count > 0)
            ctx.io.out(
              `  ${r.archived_count} more in the period are archived (before ${r.archived_before}): export the trail to see them`,
            );
          for (const e of r.rows)
            ctx.io.out(
              `${String(e.occurred_at)}  ${String(e.event_type)}  actor ${String(e.actor_id ?? '-')}  ${String(e.target_table ?? '')} ${String(e.target_id ?? '')}`.trimEnd(),
            );
          ctx.io.out(`${r.rows.length} event(s)`);
        } finally {
          await http.close();
        }
      },
    );
}
