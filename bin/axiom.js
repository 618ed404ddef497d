#!/usr/bin/env node
// The `axiom` command. Runs the TypeScript sources through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
// The memory policy (src/heap.ts, AXIOM_MEMORY), before the rest of Axiom is loaded; an invalid
// configuration is reported by the command itself.
const [{ loadConfig }, { applyMemoryPolicy }] = await Promise.all([
  import('../src/config/index.ts'),
  import('../src/heap.ts'),
]);
try {
  applyMemoryPolicy(loadConfig(process.env).memory);
} catch {
  // loadConfig's error is printed by main() below, with its exit code.
}
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: a long-running command has returned by now, and a library timer or socket left
// open must not keep the process (or change its exit code).
process.exit(code);
