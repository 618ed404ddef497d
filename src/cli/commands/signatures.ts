// `axiom signature list|verify`: electronic signatures (21 CFR Part 11) as an auditor checks them over
// the HTTPS API. A signature names who signed, what it meant and when, and the record hash it is bound
// to; verifying recomputes both the signature's own hash and the signed record's, so a record changed
// after it was signed no longer verifies (exit 1). Signing itself is `axiom plan approve` and
// `axiom change-request approve` (or the dashboard for security keys and single sign-on).
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { urlOption, uuidArg, withClient } from '../api.js';
import { ExitCode, type CliContext, type Lazy } from '../main.js';

interface Signature {
  id: string;
  signed_at: string;
  signer_id: string;
  signer_name: string;
  signer_email: string;
  meaning: string;
  record_table: string;
  record_id: string;
  record_hash: string;
  factors: string[];
}

interface Verified extends Signature {
  signature_hash_valid: boolean;
  record_unchanged: boolean;
  valid: boolean;
}

const line = (s: Signature): string =>
  `${s.id}  ${s.signed_at}  ${s.meaning.padEnd(9)}  ${s.signer_name} <${s.signer_email}>  ${s.factors.join('+')}  ${s.record_table} ${s.record_id}`;

export function registerSignatureCommands(program: Command, ctx: CliContext, lazy: Lazy): void {
  void lazy;
  const signature = program
    .command('signature')
    .alias('signatures')
    .description('electronic signatures: who signed what, and whether it still verifies');

  signature
    .command('list')
    .description(
      'the signatures of a change request (or plan) or of one record version; without either, your own',
    )
    .option('--change-request <id>', 'the signatures over its proposed version')
    .option('--record <record-id>', 'the signatures over this record version (its record_id)')
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(
      async (o: { changeRequest?: string; record?: string; json?: boolean; url?: string }) => {
        if (o.changeRequest !== undefined && o.record !== undefined)
          throw new AppError('invalid_input', 'give --change-request or --record, not both', {
            reason: 'usage',
          });
        const cr = o.changeRequest === undefined ? undefined : uuidArg(o.changeRequest);
        const record = o.record === undefined ? undefined : uuidArg(o.record);
        const { signatures } = await withClient(ctx, o.url, async (api) => {
          const recordId = cr
            ? (
                await api.call<{ proposed_record_id: string }>(
                  'GET',
                  `/api/v1/change-requests/${cr}`,
                )
              ).proposed_record_id
            : record;
          return await api.call<{ signatures: Signature[] }>(
            'GET',
            `/api/v1/signatures${recordId ? `?record_id=${recordId}` : ''}`,
          );
        });
        if (o.json) return ctx.io.json(signatures);
        if (signatures.length === 0) return ctx.io.out('no signatures');
        for (const s of signatures) ctx.io.out(line(s));
      },
    );

  signature
    .command('verify <id>')
    .description(
      'recompute a signature’s hash and the signed record’s: exit 0 valid, 1 when either no longer matches',
    )
    .option('--json', 'machine output')
    .addOption(urlOption())
    .action(async (id: string, o: { json?: boolean; url?: string }) => {
      const v = await withClient(ctx, o.url, (api) =>
        api.call<Verified>('GET', `/api/v1/signatures/${uuidArg(id)}/verify`),
      );
      if (o.json) ctx.io.json(v);
      else {
        ctx.io.out(line(v));
        ctx.io.out(`  record hash ${v.record_hash}`);
        ctx.io.out(
          v.signature_hash_valid
            ? '  the signature is as it was recorded'
            : '  BROKEN: the signature no longer hashes to what was recorded',
        );
        ctx.io.out(
          v.record_unchanged
            ? '  the signed record is unchanged'
            : '  BROKEN: the signed record has changed since it was signed (or is gone)',
        );
        ctx.io.out(v.valid ? 'valid' : 'NOT valid');
      }
      if (!v.valid) throw new ExitCode(1);
    });
}
