// The catalog as a Markdown table for docs/findings.md (generated: `npx tsx scripts/findings-docs.ts`;
// test/findings/catalog.test.ts fails when the document and the catalog disagree).
import { CHECKS } from './catalog.js';
import { THRESHOLDS, THRESHOLD_KEYS } from './config.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

export function catalogTable(): string {
  const rows = CHECKS.map((c) => {
    const refs = [
      ...c.compliance.cisAwsFoundationsV3.map((x) => `CIS ${x}`),
      ...c.compliance.awsFsbp.map((x) => `FSBP ${x}`),
    ].join(', ');
    const r = c.remediation;
    const fix =
      r.action === 'manual' ? 'manual' : `\`${r.action}\` (${r.reversibility}, ${r.riskTier} risk)`;
    return `| \`${c.id}\` | ${cell(c.title)} | ${c.domain} | ${c.severity} | ${c.resourceTypes.join(', ')} | ${refs || '—'} | ${fix} | ${c.enabledByDefault ? 'yes' : 'no'} |`;
  });
  return [
    '| check | title | domain | severity | resource | compliance | remediation | on by default |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function thresholdsTable(): string {
  return [
    '| threshold | default | allowed | meaning |',
    '| --- | --- | --- | --- |',
    ...THRESHOLD_KEYS.map((k) => {
      const t = THRESHOLDS[k];
      return `| \`${k}\` | ${t.default} ${t.unit} | ${t.min}–${t.max}${t.integer ? ', whole' : ''} | ${cell(t.description)} |`;
    }),
  ].join('\n');
}

export const CATALOG_BEGIN = '<!-- catalog:begin (generated from src/findings/catalog.ts) -->';
export const CATALOG_END = '<!-- catalog:end -->';
export const THRESHOLDS_BEGIN = '<!-- thresholds:begin (generated from src/findings/config.ts) -->';
export const THRESHOLDS_END = '<!-- thresholds:end -->';

/** Replace the generated sections of a document. */
export function renderDoc(doc: string): string {
  const put = (text: string, begin: string, end: string, body: string): string => {
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`markers ${begin} … ${end} not found`);
    return `${text.slice(0, a + begin.length)}\n\n${body}\n\n${text.slice(b)}`;
  };
  return put(
    put(doc, CATALOG_BEGIN, CATALOG_END, catalogTable()),
    THRESHOLDS_BEGIN,
    THRESHOLDS_END,
    thresholdsTable(),
  );
}
