import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { VerifyReport } from '@ledger/audit';
import { chainHash } from '@ledger/integrity';
import { writeAuditDataDir } from '@ledger/audit/testing/audit-fixture';
import { AuditIo, EXIT_FAILED, EXIT_OK, runVerify } from '../apps/cli/src/commands/audit';

/**
 * Tampering with the files on disk, as someone with access to them could: `ledger verify`
 * must fail and say what and where. Each case starts from a copy of one pristine data dir
 * (ledger.db with October closed, read.db rebuilt).
 */
const collector = () => {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
};

async function verifyDir(dir: string): Promise<{ code: number; report: VerifyReport }> {
  const out = collector();
  const err = collector();
  const io: AuditIo = { stdout: out.stream, stderr: err.stream, env: { LEDGER_DATA_DIR: dir }, progress: false };
  const code = await runVerify({ json: true }, io);
  return { code, report: JSON.parse(out.text()) as VerifyReport };
}

interface Row {
  position: number;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
}

describe('ledger verify catches tampering with the SQLite files', () => {
  let pristine: string;
  let dir: string;
  beforeAll(async () => {
    pristine = mkdtempSync(join(tmpdir(), 'audit-pristine-'));
    await writeAuditDataDir(pristine);
  });
  afterAll(() => rmSync(pristine, { recursive: true, force: true }));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-tamper-'));
    cpSync(pristine, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const events = (fn: (db: Database.Database) => void) => {
    const db = new Database(join(dir, 'ledger.db'));
    try {
      fn(db);
    } finally {
      db.close();
    }
  };
  const row = (db: Database.Database, stream: string, revision: number) =>
    db.prepare('SELECT * FROM events WHERE stream_id = ? AND revision = ?').get(stream, revision) as Row;

  it('the untouched copy verifies: exit 0, every check passed', async () => {
    const { code, report } = await verifyDir(dir);
    expect(report.divergences).toEqual([]);
    expect(code).toBe(EXIT_OK);
    expect(report.checks.map((c) => c.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
  });

  it("an edited event's data: hash mismatch at that stream and revision", async () => {
    events((db) =>
      db.prepare("UPDATE events SET data = json_set(data, '$.points', 5000) WHERE stream_id = 'member-m1' AND revision = 1").run(),
    );
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.firstDivergence).toMatchObject({ kind: 'hash_mismatch', check: 'hash_chain', streamId: 'member-m1', revision: 1 });
    // One edit, reported once by the chain; its consequences show in the folds behind it.
    expect(report.checks.find((c) => c.name === 'hash_chain')?.divergences).toBe(1);
    expect(report.checks.find((c) => c.name === 'read_model')?.status).toBe('failed');
    expect(report.checks.find((c) => c.name === 'statements')?.status).toBe('failed');
  });

  it('an edited event with its hash recomputed: the next event no longer chains onto it', async () => {
    events((db) => {
      const r = row(db, 'member-m1', 1);
      const data = { ...JSON.parse(r.data), points: 5000 };
      const metadata = JSON.parse(r.metadata);
      metadata.hash = chainHash(metadata.prevHash, r.type, data, metadata);
      db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(
        JSON.stringify(data),
        JSON.stringify(metadata),
        r.position,
      );
    });
    const { report } = await verifyDir(dir);
    expect(report.firstDivergence).toMatchObject({ kind: 'prev_hash_mismatch', streamId: 'member-m1', revision: 2 });
  });

  it("a whole member stream rewritten with a fresh chain: the read models and October's statement disagree", async () => {
    events((db) => {
      let prevHash = '0'.repeat(64);
      const rows = db.prepare("SELECT * FROM events WHERE stream_id = 'member-m1' ORDER BY revision").all() as Row[];
      for (const r of rows) {
        const data = JSON.parse(r.data);
        if (r.revision === 1) data.points += 1; // one more point for the member, rechained
        const metadata = { ...JSON.parse(r.metadata), prevHash };
        metadata.hash = chainHash(prevHash, r.type, data, metadata);
        prevHash = metadata.hash;
        db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(
          JSON.stringify(data),
          JSON.stringify(metadata),
          r.position,
        );
      }
    });
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.checks.find((c) => c.name === 'hash_chain')?.status).toBe('passed');
    // Consistent in itself (the member simply has one point more), so no rule of the fold objects.
    expect(report.checks.find((c) => c.name === 'invariants')?.status).toBe('passed');
    expect(report.firstDivergence).toMatchObject({ kind: 'read_model', streamId: 'member-m1' });
    expect(report.divergences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ check: 'read_model:members', streamId: 'member-m1', message: expect.stringContaining('available') }),
        expect.objectContaining({
          kind: 'statement',
          streamId: 'settlement-2026-10',
          message: expect.stringContaining('recomputed at cut-off'),
        }),
        // New hashes: the statement's root no longer commits to these events.
        expect.objectContaining({ kind: 'merkle_root', streamId: 'settlement-2026-10' }),
      ]),
    );
  });

  it("an event's hash removed: named, and the statement that can no longer be recomputed is reported, not a crash", async () => {
    events((db) =>
      db.prepare("UPDATE events SET metadata = json_remove(metadata, '$.hash') WHERE stream_id = 'member-m2' AND revision = 1").run(),
    );
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.firstDivergence).toMatchObject({ kind: 'hash_missing', streamId: 'member-m2', revision: 1 });
    expect(report.checks.find((c) => c.name === 'statements')?.status).toBe('failed');
  });

  it('a deleted event: the revisions after it have a gap', async () => {
    events((db) => db.prepare("DELETE FROM events WHERE stream_id = 'member-m1' AND revision = 2").run());
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.firstDivergence).toMatchObject({ kind: 'revision_gap', streamId: 'member-m1', revision: 3, expected: 2, found: 3 });
  });

  it("a stream's newest event deleted (the chain still holds): the read models still have it", async () => {
    events((db) =>
      db
        .prepare(
          "DELETE FROM events WHERE stream_id = 'member-m2' AND revision = (SELECT max(revision) FROM events WHERE stream_id = 'member-m2')",
        )
        .run(),
    );
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.checks.find((c) => c.name === 'hash_chain')?.status).toBe('passed');
    expect(report.firstDivergence).toMatchObject({ kind: 'read_model', streamId: 'member-m2' });
  });

  it("the log's last event deleted: the read models' checkpoint names an event that is gone", async () => {
    events((db) => db.prepare('DELETE FROM events WHERE position = (SELECT max(position) FROM events)').run());
    const { report } = await verifyDir(dir);
    expect(report.divergences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ check: 'read_model:checkpoint', message: expect.stringContaining('no longer has') }),
      ]),
    );
  });

  it('two events of a stream swapped (whole rows but their revisions): the chain breaks where the order does', async () => {
    events((db) => {
      const a = row(db, 'member-m1', 1);
      const b = row(db, 'member-m1', 2);
      const put = db.prepare('UPDATE events SET event_id = ?, type = ?, data = ?, metadata = ? WHERE position = ?');
      db.transaction(() => {
        put.run(b.event_id, b.type, b.data, b.metadata, a.position);
        put.run(a.event_id, a.type, a.data, a.metadata, b.position);
      })();
    });
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.firstDivergence).toMatchObject({ kind: 'prev_hash_mismatch', streamId: 'member-m1', revision: 1 });
  });

  it('two events of a stream with their type and data swapped: hash mismatch at the first', async () => {
    events((db) => {
      const a = row(db, 'member-m1', 2);
      const b = row(db, 'member-m1', 3);
      const put = db.prepare('UPDATE events SET type = ?, data = ? WHERE position = ?');
      db.transaction(() => {
        put.run(b.type, b.data, a.position);
        put.run(a.type, a.data, b.position);
      })();
    });
    const { report } = await verifyDir(dir);
    expect(report.firstDivergence).toMatchObject({ kind: 'hash_mismatch', streamId: 'member-m1', revision: 2 });
    expect(report.checks.find((c) => c.name === 'hash_chain')?.divergences).toBe(2);
  });

  it('one read-model row changed: the table, the row and the field are named', async () => {
    const db = new Database(join(dir, 'read.db'));
    db.prepare("UPDATE lots SET points = points + 5 WHERE member_id = 'm1' AND lot_id = 'grocer:g1'").run();
    db.close();
    const { code, report } = await verifyDir(dir);
    expect(code).toBe(EXIT_FAILED);
    expect(report.checks.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual(['read_model']);
    expect(report.firstDivergence).toMatchObject({
      check: 'read_model:lots',
      streamId: 'member-m1',
      message: expect.stringContaining('lot grocer:g1: points differs'),
    });
    expect((report.firstDivergence!.found as number) - (report.firstDivergence!.expected as number)).toBe(5);
  });

  it('a partner position and a liability row changed, a transaction row removed: each named', async () => {
    const db = new Database(join(dir, 'read.db'));
    db.prepare("UPDATE partner_positions SET points_expired = points_expired + 1 WHERE partner_id = 'air'").run();
    db.prepare("DELETE FROM transactions WHERE tx_id = 'cafe:c1'").run();
    db.prepare(
      "UPDATE liability SET points = points - 1 WHERE period = '2026-10' AND issuer_partner_id = 'grocer' AND redeemer_partner_id = 'cafe'",
    ).run();
    db.close();
    const { report } = await verifyDir(dir);
    expect(report.divergences.map((d) => d.check).sort()).toEqual([
      'read_model:liability',
      'read_model:partner_positions',
      'read_model:transactions',
    ]);
    expect(report.divergences.find((d) => d.check === 'read_model:liability')).toMatchObject({
      message: 'liability 2026-10 grocer→cafe: points differs',
      expected: 500,
      found: 499,
    });
    expect(report.divergences.find((d) => d.check === 'read_model:transactions')).toMatchObject({
      streamId: 'member-m1',
      message: expect.stringContaining('cafe:c1 is missing'),
    });
  });

  it('the settled statement edited in its event (and rehashed): its sha256 no longer matches its content', async () => {
    events((db) => {
      const r = row(db, 'settlement-2026-10', 1);
      const data = JSON.parse(r.data);
      data.statement.totals.issuedPoints += 1;
      const metadata = JSON.parse(r.metadata);
      metadata.hash = chainHash(metadata.prevHash, r.type, data, metadata);
      db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(
        JSON.stringify(data),
        JSON.stringify(metadata),
        r.position,
      );
    });
    const { report } = await verifyDir(dir);
    expect(report.firstDivergence).toMatchObject({
      kind: 'statement',
      streamId: 'settlement-2026-10',
      revision: 1,
      message: expect.stringContaining('own sha256'),
    });
  });
});
