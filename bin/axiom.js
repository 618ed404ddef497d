#!/usr/bin/env node
// The `axiom` command. Runs the TypeScript sources through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: a long-running command has returned by now, and a library timer or socket left
// open must not keep the process (or change its exit code).
process.exit(code);
