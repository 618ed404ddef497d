// `axiom audit verify FILE`: an export file (JSON Lines or CSV, as `axiom audit export` writes it)
// verified with no database and no network, streamed line by line, against the signed checkpoints it
// carries and those of a checkpoint directory, with public keys the verifier trusts.
import fs from 'node:fs';
import { once } from 'node:events';
import { CsvFormatError, csvRows } from './csv.js';
import { DirectoryCheckpointStore, openCheckpoint, trustedKeys } from './checkpoints.js';
import {
  ExportFormatError,
  ExportVerifier,
  type ExportRow,
  type VerifyResult,
} from './verifier.js';

export class UnreadableExportError extends Error {
  override readonly name = 'UnreadableExportError';
}

export interface VerifyFileOptions {
  /** PEM public keys whose checkpoints are trusted. */
  publicKeys?: string[];
  /** A checkpoint directory: its checkpoints for the export's organization are checked too. */
  checkpointDir?: string | undefined;
  /** Told how far the reading got (bytes of the file), a few times a second and once at the end. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface FileVerifyResult extends VerifyResult {
  format: 'jsonl' | 'csv';
  trustedKeys: string[];
}

/**
 * The longest line (or CSV record) an export may have, in characters. The largest legitimate row is a
 * few megabytes (a sealed state is at most 1 MiB, 1.4 MB in base64); a longer one is refused as soon
 * as it is read, so a hostile file without line breaks costs neither minutes nor gigabytes.
 */
export const MAX_LINE = 64 * 1024 * 1024;

/**
 * Lines of a file, streamed, a chunk's worth at a time: one await per megabyte rather than per line
 * (an async generator costs a promise and a microtask turn for every value it yields). Each chunk is
 * searched once; the start of a line that goes on into the next chunk is kept in parts.
 */
async function* lineBatches(input: fs.ReadStream): AsyncGenerator<string[]> {
  let parts: string[] = [];
  let partLength = 0;
  let lines = 0;
  for await (const chunk of input) {
    const text = chunk as string;
    const batch: string[] = [];
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      let line = text.slice(start, nl);
      if (parts.length) {
        parts.push(line);
        line = parts.join('');
        parts = [];
        partLength = 0;
      }
      if (line.length > MAX_LINE) throw tooLong(lines + batch.length + 1);
      batch.push(line);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length) {
      parts.push(text.slice(start));
      partLength += text.length - start;
      if (partLength > MAX_LINE) throw tooLong(lines + batch.length + 1);
    }
    lines += batch.length;
    if (batch.length) yield batch;
  }
  if (parts.length) yield [parts.join('')];
}

function tooLong(line: number): ExportFormatError {
  return new ExportFormatError(`line ${line} is longer than ${MAX_LINE / 1024 / 1024} MiB`);
}

async function firstByte(file: string): Promise<string> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const b = Buffer.alloc(1);
    const { bytesRead } = await fh.read(b, 0, 1, 0);
    return bytesRead ? b.toString('latin1') : '';
  } finally {
    await fh.close();
  }
}

export async function verifyFile(
  file: string,
  opts: VerifyFileOptions = {},
): Promise<FileVerifyResult> {
  let first: string;
  let size: number;
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile()) throw new UnreadableExportError(`${file} is not a file`);
    size = st.size;
    first = await firstByte(file);
  } catch (e) {
    if (e instanceof UnreadableExportError) throw e;
    throw new UnreadableExportError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (first === '') throw new UnreadableExportError(`${file} is empty`);
  const keyPems = [...(opts.publicKeys ?? [])];
  if (opts.checkpointDir)
    keyPems.push(...DirectoryCheckpointStore.publishedKeys(opts.checkpointDir));
  let keys: ReturnType<typeof trustedKeys>;
  try {
    keys = trustedKeys(keyPems);
  } catch (e) {
    throw new UnreadableExportError(`a public key is not usable: ${(e as Error).message}`);
  }
  const format = first === '{' ? 'jsonl' : 'csv';
  const verifier = new ExportVerifier({
    requireEnd: true,
    ...(keys.size ? { openCheckpoint: (s: unknown) => openCheckpoint(s, keys) } : {}),
  });
  const store = opts.checkpointDir ? new DirectoryCheckpointStore(opts.checkpointDir) : undefined;
  let fromDir = false;
  /** Push a row; true when it was the manifest and the directory's checkpoints must follow it. */
  const push = (row: ExportRow): boolean => {
    verifier.push(row);
    return (
      !fromDir &&
      row.stream === 'manifest' &&
      store !== undefined &&
      typeof row.organization_id === 'string'
    );
  };
  /** The checkpoint directory's checkpoints for this organization, right after the manifest. */
  const pushDirectory = async (row: ExportRow): Promise<void> => {
    fromDir = true;
    for (const s of await store!.list(row.organization_id as string))
      verifier.push({ stream: 'checkpoint', signed: s });
  };
  const input =
    format === 'jsonl'
      ? fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })
      : fs.createReadStream(file);
  const report = opts.onProgress;
  const ticker = report ? setInterval(() => report(input.bytesRead, size), 200) : undefined;
  try {
    if (format === 'jsonl') {
      let n = 0;
      for await (const batch of lineBatches(input)) {
        for (const line of batch) {
          n++;
          if (line === '') continue;
          let row: ExportRow;
          try {
            row = JSON.parse(line) as ExportRow;
          } catch {
            throw new ExportFormatError(`line ${n} is not JSON`);
          }
          if (push(row)) await pushDirectory(row);
        }
      }
    } else {
      await once(input, 'open');
      for await (const row of csvRows(input, { maxRecordSize: MAX_LINE }))
        if (push(row)) await pushDirectory(row);
    }
  } catch (e) {
    if (e instanceof ExportFormatError || e instanceof CsvFormatError)
      throw new UnreadableExportError(`${file} is not an Axiom export: ${e.message}`);
    if ((e as { code?: string }).code?.startsWith('CSV_'))
      throw new UnreadableExportError(
        `${file} is not a readable CSV export: ${(e as Error).message}`,
      );
    throw e;
  } finally {
    clearInterval(ticker);
    input.destroy();
  }
  report?.(input.bytesRead, size);
  const result = verifier.finish();
  if (!result.manifest)
    throw new UnreadableExportError(`${file} has no manifest: not an Axiom export`);
  return { ...result, format, trustedKeys: [...keys.keys()] };
}
