// Regenerate the catalog and threshold tables of docs/findings.md from the code.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { renderDoc } from '../src/findings/docs.js';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'findings.md');
const options = { ...(await prettier.resolveConfig(file)), filepath: file };
fs.writeFileSync(file, await prettier.format(renderDoc(fs.readFileSync(file, 'utf8')), options));
process.stdout.write(`updated ${file}\n`);
