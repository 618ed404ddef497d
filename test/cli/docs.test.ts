// docs/cli.md stays true to the CLI: every command the program registers is documented there under its
// full name (`axiom plan approve`, ...), and every command the page names exists.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { projectRoot } from '../../src/paths.js';

function leaves(c: Command, prefix: string[] = []): string[][] {
  return c.commands.flatMap((s) =>
    s.commands.length ? leaves(s, [...prefix, s.name()]) : [[...prefix, s.name()]],
  );
}

describe('docs/cli.md', () => {
  const program = buildProgram({
    env: {},
    io: { out: () => undefined, err: () => undefined, json: () => undefined },
  });
  const doc = fs.readFileSync(path.join(projectRoot, 'docs', 'cli.md'), 'utf8');

  it('documents every command', () => {
    const missing = leaves(program)
      .map((words) => words.join(' '))
      .filter((name) => {
        const [group, ...rest] = name.split(' ');
        // A row may list a group's subcommands after the first one, as in
        // "`axiom plan approve ID` / `reject ID`": accept "`<sub> " within a row about the group.
        const rows = doc.split('\n').filter((l) => l.includes(`axiom ${group}`));
        return !(
          doc.includes(`axiom ${name}`) ||
          (rest.length > 0 && rows.some((l) => l.includes(`\`${rest.join(' ')} `)))
        );
      });
    expect(missing).toEqual([]);
  });

  it('names no command that does not exist', () => {
    const names = new Set<string>();
    for (const words of leaves(program))
      for (let i = 1; i <= words.length; i++) names.add(words.slice(0, i).join(' '));
    const aliases = new Set(program.commands.flatMap((c) => c.aliases().map((a) => a)));
    // A command without subcommands may be followed by an argument (`axiom verify FILE`).
    const single = new Set(
      leaves(program)
        .filter((w) => w.length === 1)
        .map((w) => w[0]!),
    );
    const named = [...doc.matchAll(/`axiom ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)].map((m) =>
      [m[1]!, m[2]].filter((w): w is string => w !== undefined),
    );
    const unknown = named
      .filter(([first]) => !aliases.has(first!))
      .filter((w) => !names.has(w.join(' ')) && !single.has(w[0]!))
      .map((w) => w.join(' '));
    expect([...new Set(unknown)]).toEqual([]);
  });
});
