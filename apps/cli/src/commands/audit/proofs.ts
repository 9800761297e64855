import { readFileSync } from 'node:fs';
import { InclusionProofDocument, checkProofDocument, provePeriodEvent } from '@ledger/audit';
import { AuditIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK, guarded, openStore, progress, writeOut } from './io';

/** `ledger prove <eventId> --period YYYY-MM`: the inclusion proof of one settled event, as JSON on stdout. */
export function runProve(eventId: string, opts: { period: string }, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    const store = openStore(io.env);
    const bar = progress(io, 'prove');
    try {
      const doc: InclusionProofDocument = await provePeriodEvent(store, opts.period, eventId, (p, cutoff) => bar.update(p, cutoff));
      bar.stop();
      await writeOut(io.stdout, JSON.stringify(doc, null, 2) + '\n');
      return EXIT_OK;
    } finally {
      bar.stop();
      await store.close();
    }
  });
}

/**
 * `ledger check-proof proof.json [--statement statement.json]`: checks a proof with no store
 * at all; with finance's statement file, also that the statement is intact and carries the root.
 */
export async function runCheckProof(file: string, opts: { statement?: string; json?: boolean }, io: AuditIo): Promise<number> {
  const read = async (path: string): Promise<unknown> => {
    try {
      return JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      await writeOut(io.stderr, `ledger: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}\n`);
      return undefined;
    }
  };
  const doc = await read(file);
  if (doc === undefined) return EXIT_ERROR;
  const statement = opts.statement === undefined ? undefined : await read(opts.statement);
  if (opts.statement !== undefined && statement === undefined) return EXIT_ERROR;
  const verdict = checkProofDocument(doc, statement);
  if (opts.json) await writeOut(io.stdout, JSON.stringify(verdict, null, 2) + '\n');
  else {
    const lines = verdict.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    lines.push(verdict.ok ? 'proof: OK' : 'proof: FAILED');
    await writeOut(io.stdout, lines.join('\n') + '\n');
  }
  return verdict.ok ? EXIT_OK : EXIT_FAILED;
}
