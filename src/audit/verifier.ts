// The independent verifier: recomputes every hash of an export (api.audit_export rows) with no database
// and no network, and checks what internal.verify_all checks in SQL — hashes, links, gapless sequences,
// that every version of a controlled record has its record.version_created event in the organization's
// audit chain (and every such event its version), and that every signature is bound to a record that
// still hashes to what was signed — plus, given signed checkpoints, that each chain still reaches every
// head a checkpoint committed to (a rewritten and re-hashed chain, or a shortened one, does not).
//
// It streams: rows are pushed one at a time and only each chain's last hash is kept (plus the records'
// hashes for the cross-checks), so a file of any size verifies in constant memory per chain. Rows may
// arrive in any order; rows ahead of their chain wait until the gap before them is filled.
import type { CheckpointBody } from './checkpoints.js';
import { EncodingError } from '../security/canonical.js';
import { RowHasher } from './rowhash.js';

export type ProblemKind =
  | 'sequence_gap'
  | 'record_missing'
  | 'hash_mismatch'
  | 'audit_event_missing'
  | 'broken_link'
  | 'checkpoint_truncated'
  | 'checkpoint_mismatch'
  | 'checkpoint_invalid'
  | 'export_incomplete';

export interface Problem {
  table: string;
  organizationId: string;
  recordId: string | null;
  position: number;
  problem: ProblemKind;
  /** For checkpoint problems: which checkpoint, and what it expected. */
  detail?: string;
}

export interface CheckpointSummary {
  /** Checked against the export (signature valid, older than the export). */
  verified: number;
  /** Valid, but made after the export started: they cannot be compared with it. */
  notApplicable: number;
  /** Forged or unreadable (reported as problems too). */
  invalid: number;
  /** Present, but no trusted public key was given to check them. */
  unchecked: number;
}

export interface VerifyResult {
  intact: boolean;
  problems: Problem[];
  counts: Record<string, number>;
  checkpoints: CheckpointSummary;
  /** The manifest row, when the export had one. */
  manifest?: ExportRow;
}

export type ExportRow = Record<string, unknown> & { stream: string };

const problemRank: Record<ProblemKind, number> = {
  sequence_gap: 1,
  record_missing: 2,
  hash_mismatch: 3,
  audit_event_missing: 4,
  broken_link: 5,
  checkpoint_truncated: 6,
  checkpoint_mismatch: 7,
  checkpoint_invalid: 8,
  export_incomplete: 9,
};

export class ExportFormatError extends Error {
  override readonly name = 'ExportFormatError';
}

/** A checkpoint row as it appears in an export (or a file of the checkpoint store). */
export type CheckpointCheck =
  { ok: true; body: CheckpointBody } | { ok: false; reason: string; id?: string };

export interface VerifyOptions {
  /**
   * Authenticate a signed checkpoint (src/audit/checkpoints.ts openCheckpoint with the trusted keys).
   * Without it, checkpoint rows are counted as unchecked.
   */
  openCheckpoint?: (signed: unknown) => CheckpointCheck;
  /** Signed checkpoints from elsewhere (the checkpoint directory), checked like embedded ones. */
  checkpoints?: unknown[];
  /** Require the export's closing {stream: "end"} row (a file written by `axiom audit export`). */
  requireEnd?: boolean;
}

type EventTable = 'audit.audit_events' | 'audit.session_events' | 'audit.signatures';

interface Wanted {
  seq: number;
  hash: string;
  id: string;
  checkpoint: string;
}

interface Chain {
  table: string;
  org: string;
  key: string;
  /** A controlled record's item (versions) rather than an event lane (seq). */
  isRecord: boolean;
  lastSeq: number;
  lastHash: string | null;
  /** Records: the record_id of the last version (the next one's previous_record_id). */
  lastId: string | null;
  /** Rows that arrived ahead of a gap, by seq. */
  pending: Map<number, ExportRow> | null;
  /** Checkpoint heads on this chain, by seq. */
  wanted: Map<number, Wanted[]> | null;
}

/** The lane chains of one event table and organization. */
interface LaneGroup {
  table: string;
  org: string;
  lanes: Array<Chain | undefined>;
}

interface RecordSeen {
  hash: string;
  org: string;
  table: string;
  version: number;
}

interface VersionEvent {
  hash: unknown;
  org: string;
  table: string;
  details: unknown;
}

interface SignatureBinding {
  org: string;
  id: string;
  recordId: unknown;
  recordHash: unknown;
  position: number;
}

export class ExportVerifier {
  private readonly hasher = new RowHasher();
  private readonly problems: Problem[] = [];
  private readonly chains = new Map<string, Chain>();
  private readonly counts: Record<string, number> = {
    'audit.audit_events': 0,
    'audit.session_events': 0,
  };
  private readonly versionEvents = new Map<string, VersionEvent>();
  private readonly recordsSeen = new Map<string, RecordSeen>();
  private readonly bindings: SignatureBinding[] = [];
  private readonly summary: CheckpointSummary = {
    verified: 0,
    notApplicable: 0,
    invalid: 0,
    unchecked: 0,
  };
  private readonly extraCheckpoints: unknown[];
  private manifest: ExportRow | undefined;
  private exportedAt: string | undefined;
  private dataRows = 0;
  private ended: { rows: unknown } | undefined;
  private readonly laneGroups = new Map<string, LaneGroup>();
  private lastLanes: LaneGroup | undefined;
  private readonly seenCheckpoints = new Set<string>();

  constructor(private readonly opts: VerifyOptions = {}) {
    this.extraCheckpoints = opts.checkpoints ?? [];
  }

  push(row: ExportRow): void {
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new ExportFormatError('each line is a JSON object');
    if (this.ended) throw new ExportFormatError('rows after the end of the export');
    switch (row.stream) {
      case 'audit_events':
        this.event('audit.audit_events', row);
        break;
      case 'session_events':
        this.event('audit.session_events', row);
        break;
      case 'signatures':
        this.event('audit.signatures', row);
        break;
      case 'records':
        this.record(row);
        break;
      case 'manifest':
        if (this.manifest || this.dataRows > 0)
          throw new ExportFormatError('the manifest is the first row, and there is one');
        this.manifest = row;
        if (typeof row.exported_at === 'string') this.exportedAt = row.exported_at;
        this.loadExtraCheckpoints();
        break;
      case 'checkpoint':
        this.checkpoint(row.signed, 'export');
        break;
      case 'end':
        this.ended = { rows: row.rows };
        break;
      default:
        throw new ExportFormatError(`unknown stream ${JSON.stringify(row.stream).slice(0, 60)}`);
    }
  }

  finish(): VerifyResult {
    if (!this.manifest) this.loadExtraCheckpoints();
    for (const c of this.chains.values()) this.closeChain(c);
    this.crossCheck();
    if (this.opts.requireEnd && !this.ended) {
      this.problems.push({
        table: 'export',
        organizationId: this.orgOfExport(),
        recordId: null,
        position: this.dataRows,
        problem: 'export_incomplete',
        detail: `the export ends after ${this.dataRows} rows without its end row: it was cut short`,
      });
    } else if (this.ended && this.ended.rows !== this.dataRows) {
      this.problems.push({
        table: 'export',
        organizationId: this.orgOfExport(),
        recordId: null,
        position: this.dataRows,
        problem: 'export_incomplete',
        detail: `the end row counts ${String(this.ended.rows)} rows, the export has ${this.dataRows}`,
      });
    }
    this.problems.sort(compareProblems);
    return {
      intact: this.problems.length === 0,
      problems: this.problems,
      counts: this.counts,
      checkpoints: this.summary,
      ...(this.manifest ? { manifest: this.manifest } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Event chains (audit events, session events, signatures): lanes of gapless seq from 1.
  // -------------------------------------------------------------------------------------------
  private event(table: EventTable, r: ExportRow): void {
    const org = r.organization_id;
    const lane = r.lane;
    const seq = r.seq;
    if (typeof org !== 'string')
      throw new ExportFormatError('field organization_id must be a string');
    if (typeof lane !== 'number' || !Number.isInteger(lane) || lane < 0 || lane > 15)
      throw new ExportFormatError('field lane must be an integer from 0 to 15');
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
      throw new ExportFormatError('field seq must be a positive integer');
    if (typeof r.hash !== 'string') throw new ExportFormatError('field hash must be a string');
    this.dataRows++;
    this.counts[table] = (this.counts[table] ?? 0) + 1;

    // Rows of one organization's chain come lane after lane: the 16 lanes of the last (table,
    // organization) are at hand without building a key.
    let g = this.lastLanes;
    if (g === undefined || g.table !== table || g.org !== org) {
      const gk = table + ' ' + org;
      g = this.laneGroups.get(gk);
      if (!g) {
        g = { table, org, lanes: new Array<Chain | undefined>(16).fill(undefined) };
        this.laneGroups.set(gk, g);
      }
      this.lastLanes = g;
    }
    let c = g.lanes[lane];
    if (c === undefined) {
      const key = String.fromCharCode(lane) + table + org;
      c = this.chains.get(key);
      if (!c) {
        c = newChain(table, org, key, false);
        this.chains.set(key, c);
      }
      g.lanes[lane] = c;
    }
    if (seq === c.lastSeq + 1) {
      this.link(c, r, table);
      if (c.pending !== null) this.drain(c);
    } else if (seq > c.lastSeq + 1) {
      c.pending ??= new Map();
      if (c.pending.has(seq)) this.eventProblem(table, r, 'sequence_gap');
      else c.pending.set(seq, r);
    } else {
      // A second row with a seq already taken: it cannot be in the chain.
      this.eventProblem(table, r, 'sequence_gap');
    }
  }

  /** The row follows the chain's last one: check its hash and its link, and the checkpoint heads. */
  private link(c: Chain, r: ExportRow, table: string): void {
    let computed: string;
    try {
      computed =
        table === 'audit.audit_events'
          ? this.hasher.auditEvent(r)
          : table === 'audit.session_events'
            ? this.hasher.sessionEvent(r)
            : this.hasher.signature(r);
    } catch (e) {
      if (!(e instanceof EncodingError)) throw e;
      computed = 'unencodable';
    }
    if (computed !== r.hash) this.eventProblem(table, r, 'hash_mismatch');
    else if ((r.previous_hash ?? null) !== c.lastHash) this.eventProblem(table, r, 'broken_link');
    this.advance(c, r);
  }

  private advance(c: Chain, r: ExportRow): void {
    c.lastSeq = r.seq as number;
    c.lastHash = r.hash as string;
    if (c.wanted !== null) {
      const ws = c.wanted.get(c.lastSeq);
      if (ws) {
        for (const w of ws) {
          if (w.hash !== c.lastHash)
            this.problems.push({
              table: c.table,
              organizationId: c.org,
              recordId: typeof r.id === 'string' ? r.id : null,
              position: position(c, c.lastSeq),
              problem: 'checkpoint_mismatch',
              detail: `checkpoint ${w.checkpoint} signed hash ${w.hash} for this entry; the export has ${c.lastHash}: the chain was rewritten`,
            });
        }
        c.wanted.delete(c.lastSeq);
      }
    }
    if (c.table === 'audit.audit_events') this.noteVersionEvent(r);
    else if (c.table === 'audit.signatures')
      this.bindings.push({
        org: c.org,
        id: typeof r.id === 'string' ? r.id : '',
        recordId: r.record_id,
        recordHash: r.record_hash,
        position: position(c, c.lastSeq),
      });
  }

  private drain(c: Chain): void {
    const p = c.pending!;
    let next = p.get(c.lastSeq + 1);
    while (next !== undefined) {
      p.delete(c.lastSeq + 1);
      this.link(c, next, c.table);
      next = p.get(c.lastSeq + 1);
    }
    if (p.size === 0) c.pending = null;
  }

  /** At the end: rows still waiting follow a gap (in seq order, as the SQL verifier sees them). */
  private closeChain(c: Chain): void {
    if (c.isRecord) {
      if (c.pending !== null) {
        const rest = [...c.pending.values()].sort(
          (a, b) => (a.version as number) - (b.version as number),
        );
        c.pending = null;
        for (const r of rest) {
          if ((r.version as number) !== c.lastSeq + 1) {
            this.recordProblem(r, 'sequence_gap');
            this.recordAdvance(c, r);
          } else this.recordLink(c, r);
        }
      }
      return;
    }
    if (c.pending !== null) {
      const rest = [...c.pending.values()].sort((a, b) => (a.seq as number) - (b.seq as number));
      c.pending = null;
      for (const r of rest) {
        if ((r.seq as number) !== c.lastSeq + 1) {
          this.eventProblem(c.table, r, 'sequence_gap');
          this.advance(c, r);
        } else {
          this.link(c, r, c.table);
        }
      }
    }
    if (c.wanted !== null) {
      for (const [seq, ws] of c.wanted) {
        for (const w of ws) {
          this.problems.push({
            table: c.table,
            organizationId: c.org,
            recordId: w.id,
            position: position(c, seq),
            problem: seq > c.lastSeq ? 'checkpoint_truncated' : 'checkpoint_mismatch',
            detail:
              seq > c.lastSeq
                ? `checkpoint ${w.checkpoint} covers seq ${seq} of lane ${laneOf(c)}; the export ends at seq ${c.lastSeq}: entries were removed`
                : `checkpoint ${w.checkpoint} covers seq ${seq} of lane ${laneOf(c)}, which the export does not have`,
          });
        }
      }
      c.wanted = null;
    }
  }

  private eventProblem(table: string, r: ExportRow, problem: ProblemKind): void {
    this.problems.push({
      table,
      organizationId: r.organization_id as string,
      recordId: typeof r.id === 'string' ? r.id : null,
      position: (r.lane as number) * 1e12 + (r.seq as number),
      problem,
    });
  }

  private noteVersionEvent(e: ExportRow): void {
    if (e.event_type === 'record.version_created' && typeof e.target_record_id === 'string') {
      this.versionEvents.set(e.target_record_id, {
        hash: e.target_record_hash,
        org: e.organization_id as string,
        table: typeof e.target_table === 'string' ? e.target_table : '',
        details: e.details,
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Controlled records: one chain per item, gapless versions from 1.
  // -------------------------------------------------------------------------------------------
  private record(r: ExportRow): void {
    const table = r.table;
    if (typeof table !== 'string') throw new ExportFormatError('field table must be a string');
    for (const k of ['organization_id', 'id', 'record_id', 'record_hash'] as const)
      if (typeof r[k] !== 'string') throw new ExportFormatError(`field ${k} must be a string`);
    const v = r.version;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw new ExportFormatError('field version must be a positive integer');
    this.dataRows++;
    this.counts[table] = (this.counts[table] ?? 0) + 1;
    const key = `${table}/${r.organization_id as string}/${r.id as string}`;
    let c = this.chains.get(key);
    if (!c) {
      c = newChain(table, r.organization_id as string, key, true);
      this.chains.set(key, c);
    }
    this.recordsSeen.set(r.record_id as string, {
      hash: r.record_hash as string,
      org: r.organization_id as string,
      table,
      version: v,
    });
    if (v === c.lastSeq + 1) {
      this.recordLink(c, r);
      if (c.pending !== null) this.drainRecords(c);
    } else if (v > c.lastSeq + 1) {
      c.pending ??= new Map();
      if (c.pending.has(v)) this.recordProblem(r, 'sequence_gap');
      else c.pending.set(v, r);
    } else {
      this.recordProblem(r, 'sequence_gap');
    }
  }

  private recordLink(c: Chain, r: ExportRow): void {
    let computed: string;
    try {
      computed = this.hasher.record(c.table, r);
    } catch (e) {
      if (!(e instanceof EncodingError)) throw e;
      computed = 'unencodable';
    }
    if (computed !== r.record_hash) this.recordProblem(r, 'hash_mismatch');
    else if (
      (r.previous_record_id ?? null) !== c.lastId ||
      (r.previous_record_hash ?? null) !== c.lastHash
    )
      this.recordProblem(r, 'broken_link');
    this.recordAdvance(c, r);
  }

  private recordAdvance(c: Chain, r: ExportRow): void {
    c.lastSeq = r.version as number;
    c.lastHash = r.record_hash as string;
    c.lastId = r.record_id as string;
  }

  private drainRecords(c: Chain): void {
    const p = c.pending!;
    let next = p.get(c.lastSeq + 1);
    while (next !== undefined) {
      p.delete(c.lastSeq + 1);
      this.recordLink(c, next);
      next = p.get(c.lastSeq + 1);
    }
    if (p.size === 0) c.pending = null;
  }

  private recordProblem(r: ExportRow, problem: ProblemKind): void {
    this.problems.push({
      table: r.table as string,
      organizationId: r.organization_id as string,
      recordId: r.record_id as string,
      position: r.version as number,
      problem,
    });
  }

  /** Records ↔ record.version_created events ↔ signatures, as internal.verify_records/_signatures. */
  private crossCheck(): void {
    // Every version has its event (with its hash, in its organization).
    for (const [recordId, seen] of this.recordsSeen) {
      const ev = this.versionEvents.get(recordId);
      if (!ev || ev.hash !== seen.hash || ev.org !== seen.org) {
        this.problems.push({
          table: seen.table,
          organizationId: seen.org,
          recordId,
          position: seen.version,
          problem: 'audit_event_missing',
        });
      }
    }
    // Every event names a version that is there with that hash.
    for (const [recordId, ev] of this.versionEvents) {
      if (this.recordsSeen.get(recordId)?.hash !== ev.hash) {
        let version = 0;
        try {
          version = Number((JSON.parse(String(ev.details)) as { version?: number }).version ?? 0);
        } catch {
          version = 0;
        }
        this.problems.push({
          table: ev.table,
          organizationId: ev.org,
          recordId,
          position: version,
          problem: 'record_missing',
        });
      }
    }
    // Every signature covers a version that is there with the signed hash.
    for (const b of this.bindings) {
      const seen = typeof b.recordId === 'string' ? this.recordsSeen.get(b.recordId) : undefined;
      if (!seen || seen.hash !== b.recordHash || seen.org !== b.org)
        this.problems.push({
          table: 'audit.signatures',
          organizationId: b.org,
          recordId: b.id,
          position: b.position,
          problem: 'record_missing',
        });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints
  // -------------------------------------------------------------------------------------------
  private loadExtraCheckpoints(): void {
    const extra = this.extraCheckpoints.splice(0);
    for (const s of extra) this.checkpoint(s, 'directory');
  }

  private checkpoint(signed: unknown, source: string): void {
    if (!this.opts.openCheckpoint) {
      this.summary.unchecked++;
      return;
    }
    const opened = this.opts.openCheckpoint(signed);
    if (!opened.ok) {
      this.summary.invalid++;
      this.problems.push({
        table: 'audit.checkpoints',
        organizationId: this.orgOfExport(),
        recordId: opened.id ?? null,
        position: 0,
        problem: 'checkpoint_invalid',
        detail: `a checkpoint (${source}) was rejected: ${opened.reason}`,
      });
      return;
    }
    const body = opened.body;
    // The same checkpoint embedded in the export and found in the directory is checked once.
    if (this.seenCheckpoints.has(body.id)) return;
    this.seenCheckpoints.add(body.id);
    const org = this.orgOfExport();
    if (org && body.organization_id !== org) {
      if (source === 'export') {
        this.summary.invalid++;
        this.problems.push({
          table: 'audit.checkpoints',
          organizationId: org,
          recordId: body.id,
          position: 0,
          problem: 'checkpoint_invalid',
          detail: `checkpoint ${body.id} belongs to another organization`,
        });
      }
      return;
    }
    if (this.exportedAt !== undefined && !(body.created_at < this.exportedAt)) {
      this.summary.notApplicable++;
      return;
    }
    this.summary.verified++;
    for (const h of body.heads) {
      const key = String.fromCharCode(h.lane) + h.table + body.organization_id;
      let c = this.chains.get(key);
      if (!c) {
        c = newChain(h.table, body.organization_id, key, false);
        this.chains.set(key, c);
      }
      if (h.seq <= c.lastSeq)
        throw new ExportFormatError('checkpoint rows come before the chains they cover');
      c.wanted ??= new Map();
      const list = c.wanted.get(h.seq) ?? [];
      list.push({ seq: h.seq, hash: h.hash, id: h.id, checkpoint: body.id });
      c.wanted.set(h.seq, list);
    }
  }

  private orgOfExport(): string {
    const o = this.manifest?.organization_id;
    return typeof o === 'string' ? o : '';
  }
}

function newChain(table: string, org: string, key: string, isRecord: boolean): Chain {
  return {
    table,
    org,
    key,
    isRecord,
    lastSeq: 0,
    lastHash: null,
    lastId: null,
    pending: null,
    wanted: null,
  };
}

function position(c: Chain, seq: number): number {
  return laneOf(c) * 1e12 + seq;
}

function laneOf(c: Chain): number {
  return c.key.charCodeAt(0);
}

/** Verify a whole export held in memory. Throws ExportFormatError when the input is not an export. */
export function verifyExport(rows: Iterable<ExportRow>, opts: VerifyOptions = {}): VerifyResult {
  const v = new ExportVerifier(opts);
  for (const row of rows) v.push(row);
  return v.finish();
}

/** The same order as internal.verify_all: table, organization, position, problem rank. */
export function compareProblems(a: Problem, b: Problem): number {
  if (a.table !== b.table) return a.table < b.table ? -1 : 1;
  if (a.organizationId !== b.organizationId) return a.organizationId < b.organizationId ? -1 : 1;
  if (a.position !== b.position) return a.position - b.position;
  return problemRank[a.problem] - problemRank[b.problem];
}
