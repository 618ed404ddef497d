// The HTTPS server's database pool is AXIOM_DB_POOL_SIZE connections: a burst of requests larger
// than the pool queues for a connection and every request is answered; no more connections open.
import { describe, expect, it } from 'vitest';
import { createOrg } from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer({ AXIOM_DB_POOL_SIZE: '3' });

describe('the server’s database pool', () => {
  it('holds AXIOM_DB_POOL_SIZE connections, and a burst beyond it waits its turn', async () => {
    const org = await createOrg(s().db);
    const pool = s().server.api.pool;
    expect(pool.options.max).toBe(3);
    const c = s().client();
    c.bearer = org.admin.token;
    let most = 0;
    const answers = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const r = await c.get('/api/v1/auth/session');
        most = Math.max(most, pool.totalCount);
        return r.status;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 24 }, () => 200));
    expect(most).toBe(3);
    expect(pool.totalCount).toBeLessThanOrEqual(3);
  });
});
