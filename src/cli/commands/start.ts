import type { Command } from 'commander';
import type { CliContext, Lazy } from '../main.js';
export function registerStartCommand(_program: Command, _ctx: CliContext, _lazy: Lazy): void {}
