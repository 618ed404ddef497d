// The configuration is one zod schema: bad values are refused with the variable's name, and the
// README's configuration table documents every variable the schema knows.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configVariables,
  defaultPoolSize,
  loadConfig,
} from '../../src/config/index.js';

describe('configuration', () => {
  it('refuses bad values, naming the variable', () => {
    expect(() => loadConfig({ AXIOM_HTTP_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ AXIOM_HTTP_PORT: 'eighty' })).toThrow(/AXIOM_HTTP_PORT/);
    expect(() => loadConfig({ AXIOM_DEMO: 'perhaps' })).toThrow(/AXIOM_DEMO/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ AXIOM_TLS_CERT_FILE: '/x.pem' })).toThrow(/go together/);
  });

  it('has sane defaults: the demo on, HTTPS on 8443, data under ./.axiom', () => {
    const c = loadConfig({});
    expect(c.demo.enabled).toBe(true);
    expect(c.http.port).toBe(8443);
    expect(c.dataDir.endsWith('.axiom')).toBe(true);
    expect(loadConfig({ AXIOM_DEMO: 'false' }).demo.enabled).toBe(false);
  });

  it('sizes the server’s database pool by the machine’s cores unless told', () => {
    expect([1, 2, 4, 8, 64].map((cores) => defaultPoolSize(cores))).toEqual([4, 6, 12, 20, 20]);
    expect(loadConfig({}).dbPoolSize).toBe(defaultPoolSize());
    expect(loadConfig({ AXIOM_DB_POOL_SIZE: '9' }).dbPoolSize).toBe(9);
    for (const bad of ['0', '-1', '2.5', 'many', '1000'])
      expect(() => loadConfig({ AXIOM_DB_POOL_SIZE: bad }), bad).toThrow(/AXIOM_DB_POOL_SIZE/);
  });

  it('is documented: every variable appears in the README configuration table', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const missing = configVariables.map((v) => v.name).filter((n) => !readme.includes(`\`${n}\``));
    expect(missing).toEqual([]);
  });
});
