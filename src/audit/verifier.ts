// The independent verifier: recomputes every hash of an export (api.audit_export rows) with no
// database and no network, and checks the same things as internal.verify_all in SQL:
// hashes, links, gapless sequences, and that every version of a controlled record has its
// record.version_created event in the organization's audit chain (and every such event its version).
import {
  Encoder,
  EncodingError,
  auditEventFields,
  controlledRecordFields,
  hashRow,
  sessionEventFields,
} from '../security/canonical.js';

export type ProblemKind =
  'sequence_gap' | 'record_missing' | 'hash_mismatch' | 'audit_event_missing' | 'broken_link';

export interface Problem {
  table: string;
  organizationId: string;
  recordId: string | null;
  position: number;
  problem: ProblemKind;
}

export interface VerifyResult {
  intact: boolean;
  problems: Problem[];
  counts: Record<string, number>;
}

export type ExportRow = Record<string, unknown> & { stream: string };

const problemRank: Record<ProblemKind, number> = {
  sequence_gap: 1,
  record_missing: 2,
  hash_mismatch: 3,
  audit_event_missing: 4,
  broken_link: 5,
};

export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
}

interface EventRow {
  organization_id: string;
  lane: number;
  seq: number;
  id: string;
  hash: string;
  previous_hash: string | null;
  [k: string]: unknown;
}

interface RecordRow {
  table: string;
  organization_id: string;
  id: string;
  record_id: string;
  version: number;
  record_hash: string;
  previous_record_id: string | null;
  previous_record_hash: string | null;
  [k: string]: unknown;
}

function str(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (typeof v !== 'string') throw new ExportFormatError(`field ${key} must be a string`);
  return v;
}

function num(row: Record<string, unknown>, key: string): number {
  const v = row[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new ExportFormatError(`field ${key} must be an integer`);
  return v;
}

/** Verify a whole export. Throws ExportFormatError when the input is not an export at all. */
export function verifyExport(rows: Iterable<ExportRow>): VerifyResult {
  const enc = new Encoder();
  const problems: Problem[] = [];
  const events = {
    audit_events: new Map<string, EventRow[]>(),
    session_events: new Map<string, EventRow[]>(),
  };
  const records = new Map<string, Map<string, RecordRow[]>>(); // table -> org/id -> versions
  const counts: Record<string, number> = { 'audit.audit_events': 0, 'audit.session_events': 0 };

  for (const row of rows) {
    if (row === null || typeof row !== 'object')
      throw new ExportFormatError('each line is a JSON object');
    if (row.stream === 'manifest') {
      continue;
    } else if (row.stream === 'audit_events' || row.stream === 'session_events') {
      const r = row as unknown as EventRow;
      str(row, 'organization_id');
      num(row, 'lane');
      num(row, 'seq');
      str(row, 'hash');
      const byLane = events[row.stream];
      const key = `${r.organization_id}/${String(r.lane).padStart(2, '0')}`;
      let list = byLane.get(key);
      if (!list) byLane.set(key, (list = []));
      list.push(r);
      counts[`audit.${row.stream}`]! += 1;
    } else if (row.stream === 'records') {
      const r = row as unknown as RecordRow;
      const table = str(row, 'table');
      str(row, 'organization_id');
      str(row, 'id');
      num(row, 'version');
      str(row, 'record_hash');
      let byItem = records.get(table);
      if (!byItem) records.set(table, (byItem = new Map()));
      const key = `${r.organization_id}/${r.id}`;
      let list = byItem.get(key);
      if (!list) byItem.set(key, (list = []));
      list.push(r);
      counts[table] = (counts[table] ?? 0) + 1;
    } else {
      throw new ExportFormatError(`unknown stream ${JSON.stringify(row.stream)}`);
    }
  }

  // Event chains: gapless seq from 1, hash, link.
  const chains: Array<[string, Map<string, EventRow[]>, (r: EventRow) => string]> = [
    [
      'audit.audit_events',
      events.audit_events,
      (r) => {
        const ct = r.state_ciphertext;
        const row =
          typeof ct === 'string' ? { ...r, state_ciphertext: Buffer.from(ct, 'base64') } : r;
        return hashRow(enc, 'audit.audit_events', auditEventFields, row);
      },
    ],
    [
      'audit.session_events',
      events.session_events,
      (r) => hashRow(enc, 'audit.session_events', sessionEventFields, r),
    ],
  ];
  for (const [table, byLane, hash] of chains) {
    for (const list of byLane.values()) {
      list.sort((a, b) => a.seq - b.seq);
      let prev: EventRow | undefined;
      for (const r of list) {
        const expectedSeq = (prev?.seq ?? 0) + 1;
        let problem: ProblemKind | undefined;
        if (r.seq !== expectedSeq) problem = 'sequence_gap';
        else if (safeHash(hash, r) !== r.hash) problem = 'hash_mismatch';
        else if ((r.previous_hash ?? null) !== (prev?.hash ?? null)) problem = 'broken_link';
        if (problem) {
          const position = r.lane * 1e12 + r.seq; // the SQL verifier's ordering: lanes, then seq
          problems.push({
            table,
            organizationId: r.organization_id,
            recordId: r.id,
            position,
            problem,
          });
        }
        prev = r;
      }
    }
  }

  // Controlled records: gapless versions, hash, link; and the cross-check with the audit chain.
  const versionEvents = new Map<string, EventRow>(); // target_record_id -> event
  for (const list of events.audit_events.values()) {
    for (const e of list) {
      if (e.event_type === 'record.version_created' && typeof e.target_record_id === 'string') {
        versionEvents.set(e.target_record_id, e);
      }
    }
  }
  const seenRecords = new Map<string, string>(); // record_id -> record_hash
  for (const [table, byItem] of records) {
    for (const list of byItem.values()) {
      list.sort((a, b) => a.version - b.version);
      let prev: RecordRow | undefined;
      for (const r of list) {
        seenRecords.set(r.record_id, r.record_hash);
        let problem: ProblemKind | undefined;
        if (r.version !== (prev?.version ?? 0) + 1) problem = 'sequence_gap';
        else if (
          safeHash((x) => hashRow(enc, table, controlledRecordFields, x), r) !== r.record_hash
        )
          problem = 'hash_mismatch';
        else if (
          (r.previous_record_id ?? null) !== (prev?.record_id ?? null) ||
          (r.previous_record_hash ?? null) !== (prev?.record_hash ?? null)
        )
          problem = 'broken_link';
        if (problem)
          problems.push({
            table,
            organizationId: r.organization_id,
            recordId: r.record_id,
            position: r.version,
            problem,
          });
        const ev = versionEvents.get(r.record_id);
        if (
          !ev ||
          ev.target_record_hash !== r.record_hash ||
          ev.organization_id !== r.organization_id
        ) {
          problems.push({
            table,
            organizationId: r.organization_id,
            recordId: r.record_id,
            position: r.version,
            problem: 'audit_event_missing',
          });
        }
        prev = r;
      }
    }
  }
  for (const [recordId, ev] of versionEvents) {
    const table = typeof ev.target_table === 'string' ? ev.target_table : '';
    if (seenRecords.get(recordId) !== ev.target_record_hash) {
      let version = 0;
      try {
        version = Number((JSON.parse(String(ev.details)) as { version?: number }).version ?? 0);
      } catch {
        version = 0;
      }
      problems.push({
        table,
        organizationId: ev.organization_id,
        recordId,
        position: version,
        problem: 'record_missing',
      });
    }
  }

  problems.sort(compareProblems);
  return { intact: problems.length === 0, problems, counts };
}

function safeHash<T>(fn: (r: T) => string, r: T): string {
  try {
    return fn(r);
  } catch (e) {
    if (e instanceof EncodingError) return 'unencodable';
    throw e;
  }
}

/** The same order as internal.verify_all: table, organization, position, problem rank. */
export function compareProblems(a: Problem, b: Problem): number {
  if (a.table !== b.table) return a.table < b.table ? -1 : 1;
  if (a.organizationId !== b.organizationId) return a.organizationId < b.organizationId ? -1 : 1;
  if (a.position !== b.position) return a.position - b.position;
  return problemRank[a.problem] - problemRank[b.problem];
}
