import type { Command } from 'commander';
import type { CliContext, Lazy } from '../main.js';
export function registerVerifyCommands(_program: Command, _ctx: CliContext, _lazy: Lazy): void {}
