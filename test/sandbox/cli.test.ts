import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { main } from '../../src/cli/main.js';
import { setSandboxStopSignal } from '../../src/cli/commands/sandbox.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    ctx: {
      env: {},
      io: {
        out: (l: string) => out.push(l),
        err: (l: string) => err.push(l),
        json: (v: unknown) => out.push(JSON.stringify(v)),
      },
    },
  };
}

describe('axiom sandbox', () => {
  it('exits 2 on bad arguments', async () => {
    for (const args of [
      ['--port', 'abc'],
      ['--size', '-3'],
      ['--regions', 'mars-east-1'],
      ['--port', '70000'],
    ]) {
      const t = io();
      expect(await main(['sandbox', ...args], t.ctx)).toBe(2);
      expect(t.err.join('\n')).toMatch(/error:/);
    }
  });

  it('starts, prints the endpoint, the credentials location and accounts (no secrets), and stops', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-sbx-'));
    const file = path.join(dir, 'creds.json');
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    setSandboxStopSignal(() => stopped);
    const t = io();
    const run = main(
      [
        'sandbox',
        '--port',
        '0',
        '--seed',
        'cli',
        '--size',
        '40',
        '--regions',
        'us-east-1',
        '--credentials-file',
        file,
      ],
      t.ctx,
    );
    try {
      for (let i = 0; i < 100 && !t.out.some((l) => l.startsWith('press Ctrl-C')); i++)
        await new Promise((r) => setTimeout(r, 50));
      const text = t.out.join('\n');
      const endpoint = /listening on (http:\/\/\S+)/.exec(text)![1]!;
      expect(text).toContain(file);
      expect(text).toMatch(/customer account \d{12}/);
      const creds = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        platform: { accessKeyId: string; secretAccessKey: string };
      };
      expect(text).not.toContain(creds.platform.secretAccessKey);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const me = await new STSClient({
        endpoint,
        region: 'us-east-1',
        credentials: creds.platform,
      }).send(new GetCallerIdentityCommand({}));
      expect(me.Account).toBe('111111111111');
    } finally {
      stop();
      expect(await run).toBe(0);
      setSandboxStopSignal(undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(t.out.at(-1)).toBe('sandbox stopped');
  });
});
