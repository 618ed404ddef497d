// An e-signature from the command line: a challenge for a change request (a plan's or a controlled
// record's) with the meaning the person signs, answered with their password, read without echo from
// the terminal or from standard input. Signatures whose policy needs a security key or single sign-on
// are made in the dashboard: the CLI says so and signs nothing.
import { read } from 'read';
import { AppError } from '../errors.js';
import type { CallApi } from './api.js';
import type { CliContext } from './main.js';

/**
 * Standard input as text, without its last line break; refused (before anything is sent) once it
 * passes `maxBytes` — 64 KiB unless a caller allows more — instead of holding whatever arrives.
 */
export async function readAll(
  input: NodeJS.ReadableStream,
  maxBytes: number = 64 * 1024,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = Buffer.from(chunk as Buffer);
    size += b.length;
    if (size > maxBytes)
      throw new AppError(
        'invalid_input',
        `standard input is larger than ${Math.floor(maxBytes / 1024)} KiB`,
        { reason: 'usage' },
      );
    chunks.push(b);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function password(ctx: CliContext, fromStdin: boolean | undefined): Promise<string> {
  const p = fromStdin
    ? await readAll(ctx.stdin ?? process.stdin)
    : String(
        await read({
          prompt: 'Password (to sign): ',
          silent: true,
          replace: '',
          input: ctx.stdin ?? process.stdin,
          output: ctx.promptOutput ?? process.stderr,
        }),
      );
  if (!p)
    throw new AppError('invalid_input', 'a password is required to sign', { reason: 'usage' });
  return p;
}

/** Sign change request `id` with `meaning`: a challenge, answered with the password. */
export async function signChangeRequest(
  ctx: CliContext,
  api: CallApi,
  id: string,
  meaning: 'approved' | 'rejected',
  fromStdin: boolean | undefined,
): Promise<{ challenge_id: string }> {
  const ch = await api.call<{
    id: string;
    required_factors: string[][];
    identification_required: boolean;
  }>('POST', '/api/v1/signatures/challenges', {
    target: { type: 'change_request', id },
    meaning,
  });
  if (!ch.required_factors.some((set) => set.length === 1 && set[0] === 'password'))
    throw new AppError(
      'rule_violation',
      `this signature needs ${ch.required_factors.map((s) => s.join(' + ')).join(' or ')}: sign it in the dashboard`,
      { reason: 'factors_missing' },
    );
  const secret = await password(ctx, fromStdin);
  const who = ch.identification_required
    ? await api.call<{ principal: { email: string } }>('GET', '/api/v1/auth/session')
    : null;
  await api.call('POST', `/api/v1/signatures/challenges/${ch.id}/password`, {
    password: secret,
    ...(who ? { identification: who.principal.email } : {}),
  });
  return { challenge_id: ch.id };
}
