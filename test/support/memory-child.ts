// A process under a memory policy (src/heap.ts), for test/heap.test.ts: applies the policy named by its
// argument the way bin/axiom.js does, allocates like a scan (a live set, and short-lived objects made and
// dropped), then prints the young generation's size and the largest heap it saw, as one JSON line.
import v8 from 'node:v8';
import { applyMemoryPolicy, type MemoryPolicy } from '../../src/heap.js';

applyMemoryPolicy(process.argv[2] as MemoryPolicy);
const live: unknown[] = [];
for (let i = 0; i < 100_000; i++) live.push({ name: `resource-${i}`, tags: [i, i + 1] });
let peak = 0;
let ring: unknown[] = [];
for (let i = 0; i < 2_000_000; i++) {
  ring.push({ page: `item-${i}`, values: [i, i * 2, i * 3] });
  if (ring.length === 5000) ring = [];
  if (i % 20_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
}
const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!;
process.stdout.write(
  JSON.stringify({ youngBytes: young.space_size, peakHeapBytes: peak, live: live.length }) + '\n',
);
