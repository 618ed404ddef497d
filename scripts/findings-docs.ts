// Regenerate the catalog and threshold tables of docs/findings.md from the code.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDoc } from '../src/findings/docs.js';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'findings.md');
fs.writeFileSync(file, renderDoc(fs.readFileSync(file, 'utf8')));
process.stdout.write(`updated ${file}\n`);
