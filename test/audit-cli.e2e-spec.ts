import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ReadStore, rebuildReadStore } from '@ledger/projections';
import { InclusionProofDocument, VerifyReport } from '@ledger/audit';
import { writeAuditDataDir } from '@ledger/audit/testing/audit-fixture';
import {
  AuditIo,
  EXIT_ERROR,
  EXIT_FAILED,
  EXIT_OK,
  runBalance,
  runCheckProof,
  runExport,
  runImport,
  runPosition,
  runProve,
  runReplay,
  runVerify,
} from '../apps/cli/src/commands/audit';

/**
 * The auditor's CLI, each command run in-process exactly as `bin/ledger.js` runs it (same
 * function, same environment variables, stdout/stderr captured). The last test runs the
 * built CLI once the commands are registered in apps/cli/src/main.ts.
 */
function io(dataDir: string) {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        add(String(chunk));
        done();
      },
    });
  const value: AuditIo = {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: { LEDGER_DATA_DIR: dataDir },
    progress: false,
  };
  return { io: value, out: () => out, err: () => err };
}

const storeEvents = async (dir: string) => {
  const store = SqliteEventStore.open(join(dir, 'ledger.db'));
  try {
    return await store.readAll();
  } finally {
    await store.close();
  }
};

describe('ledger audit commands (in-process)', () => {
  let root: string;
  let data: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    data = join(root, 'data');
    await writeAuditDataDir(data, { withMerkleRoot: true });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('replay: a table with the running balance, or JSON; a window by revision', async () => {
    const t = io(data);
    expect(await runReplay('member-m1', {}, t.io)).toBe(EXIT_OK);
    const table = t.out();
    expect(table).toMatch(/^member-m1: 5 of 5 events\nREV\s+POSITION\s+RECORDED AT\s+OCCURRED AT\s+TYPE\s+ACTOR\s+BALANCE\s+CHAIN\s+WHAT/);
    expect(table).toMatch(/PointsRedeemed\s+partner:cafe\s+200\s+ok\s+-600 pts at cafe \(cafe:c1\) from grocer:g1:500, air:a1:100/);
    expect(table).toContain('hash chain: ok');
    const j = io(data);
    expect(await runReplay('member-m1', { from: '1', to: '2', json: true }, j.io)).toBe(EXIT_OK);
    expect(
      JSON.parse(j.out()).events.map((e: { revision: number; balanceAfter: { available: number } }) => [
        e.revision,
        e.balanceAfter.available,
      ]),
    ).toEqual([
      [1, 500],
      [2, 800],
    ]);
    const bad = io(data);
    expect(await runReplay('member-m1', { from: 'soon' }, bad.io)).toBe(EXIT_ERROR);
    expect(bad.err()).toContain('--from must be a stream revision');
    const none = io(data);
    expect(await runReplay('member-zz', {}, none.io)).toBe(EXIT_ERROR);
    expect(none.err()).toContain('stream_not_found');
  });

  it('balance and position as of a position or a recorded time', async () => {
    const events = await storeEvents(data);
    const m1 = events.filter((e) => e.streamId === 'member-m1');
    const afterRedemption = m1[3];
    const t = io(data);
    expect(await runBalance('m1', { asOf: String(afterRedemption.position), json: true }, t.io)).toBe(EXIT_OK);
    expect(JSON.parse(t.out())).toMatchObject({ available: 200, lifetimeRedeemed: 600, lots: [{ lotId: 'air:a1', points: 200 }] });
    const byTime = io(data);
    expect(await runBalance('m1', { asOf: m1[1].recordedAt }, byTime.io)).toBe(EXIT_OK);
    expect(byTime.out()).toContain(`as of ${m1[1].recordedAt}: log position ${m1[1].position}`);
    expect(byTime.out()).toContain('available 500, held 0');
    const now = io(data);
    expect(await runBalance('m1', {}, now.io)).toBe(EXIT_OK);
    expect(now.out()).toContain('available 0');
    const p = io(data);
    expect(await runPosition('grocer', { asOf: String(afterRedemption.position), json: true }, p.io)).toBe(EXIT_OK);
    expect(JSON.parse(p.out())).toMatchObject({
      partnerId: 'grocer',
      pointsIssued: 500,
      pointsRedeemedElsewhere: 500,
      pointsOutstanding: 0,
    });
    const bad = io(data);
    expect(await runPosition('grocer', { asOf: 'tomorrow' }, bad.io)).toBe(EXIT_ERROR);
    expect(bad.err()).toContain('--as-of must be a log position');
  });

  it('verify --period recomputes the statement and the Merkle root the statement carries', async () => {
    const t = io(data);
    expect(await runVerify({ period: '2026-10', json: true }, t.io)).toBe(EXIT_OK);
    const report = JSON.parse(t.out()) as VerifyReport;
    expect(report.checks.find((c) => c.name === 'merkle_roots')).toMatchObject({ status: 'passed' });
    expect(report.periods).toEqual([expect.objectContaining({ periodId: '2026-10', status: 'ok', leafCount: 6 })]);
    expect(report.periods[0].eventsMerkleRoot).toBe(report.periods[0].recomputedMerkleRoot);
    const human = io(data);
    expect(await runVerify({ period: '2026-10' }, human.io)).toBe(EXIT_OK);
    expect(human.out()).toMatch(/^verify: OK: \d+ events/);
    const open = io(data);
    expect(await runVerify({ period: '2026-11' }, open.io)).toBe(EXIT_FAILED);
    expect(open.out()).toContain('period 2026-11 is not closed');
  });

  it('prove prints a proof; check-proof verifies it without a store, with or without the statement', async () => {
    const events = await storeEvents(data);
    const redemption = events.find((e) => e.type === 'PointsRedeemed' && e.streamId === 'member-m1')!;
    const t = io(data);
    expect(await runProve(redemption.eventId, { period: '2026-10' }, t.io)).toBe(EXIT_OK);
    const proof = JSON.parse(t.out()) as InclusionProofDocument;
    expect(proof).toMatchObject({ periodId: '2026-10', statementHasRoot: true, leaf: redemption.metadata.hash, leafCount: 6 });
    const proofFile = join(root, 'proof.json');
    writeFileSync(proofFile, t.out());
    const statement = events.find((e) => e.type === 'SettlementStatementIssued')!.data.statement;
    const statementFile = join(root, 'statement.json');
    writeFileSync(statementFile, JSON.stringify(statement));

    // No store anywhere near: a data dir that does not exist stays that way.
    const nowhere = join(root, 'no-such-dir');
    const check = io(nowhere);
    expect(await runCheckProof(proofFile, { statement: statementFile }, check.io)).toBe(EXIT_OK);
    expect(check.out()).toContain('proof: OK');
    expect(check.out()).toContain('ok   statement root: the statement carries this root as eventsMerkleRoot');
    expect(existsSync(nowhere)).toBe(false);

    const forged = { ...proof, steps: proof.steps.map((s, i) => (i === 0 ? { ...s, hash: 'a'.repeat(64) } : s)) };
    writeFileSync(join(root, 'forged.json'), JSON.stringify(forged));
    const bad = io(nowhere);
    expect(await runCheckProof(join(root, 'forged.json'), { json: true }, bad.io)).toBe(EXIT_FAILED);
    expect(JSON.parse(bad.out()).checks.find((c: { name: string }) => c.name === 'inclusion')).toMatchObject({ ok: false });
    const edited = { ...proof, event: { ...proof.event, data: { ...(proof.event.data as object), points: 1 } } };
    writeFileSync(join(root, 'edited.json'), JSON.stringify(edited));
    const e = io(nowhere);
    expect(await runCheckProof(join(root, 'edited.json'), {}, e.io)).toBe(EXIT_FAILED);
    expect(e.out()).toContain("FAIL event hash: the event's content hashes to");

    const enrolment = events.find((x) => x.type === 'MemberEnrolled')!;
    const notSettled = io(data);
    expect(await runProve(enrolment.eventId, { period: '2026-10' }, notSettled.io)).toBe(EXIT_ERROR);
    expect(notSettled.err()).toContain('event_not_in_period');
  });

  it('export → import into an empty store → export again: the same lines, hashes, order, recorded times and read models', async () => {
    const exported = join(root, 'events.jsonl');
    const ex = io(data);
    expect(await runExport({ out: exported }, ex.io)).toBe(EXIT_OK);
    const original = readFileSync(exported, 'utf8');
    const lines = original.trim().split('\n');
    expect(lines).toHaveLength((await storeEvents(data)).length);
    expect(Object.keys(JSON.parse(lines[0]))).toEqual([
      'streamId',
      'revision',
      'position',
      'eventId',
      'type',
      'data',
      'metadata',
      'recordedAt',
    ]);

    const copy = join(root, 'copy');
    const im = io(copy);
    expect(await runImport(exported, {}, im.io)).toBe(EXIT_OK);
    expect(im.err()).toContain(`imported ${lines.length} events`);
    const again = io(copy);
    expect(await runExport({}, again.io)).toBe(EXIT_OK);
    expect(again.out()).toBe(original);

    // Read models rebuilt from the copy are those of the original, row for row.
    const dumps = await Promise.all(
      [data, copy].map(async (dir) => {
        const store = SqliteEventStore.open(join(dir, 'ledger.db'));
        const readStore = ReadStore.open(join(dir, dir === copy ? 'read.db' : 'read-again.db'));
        try {
          await rebuildReadStore(store, readStore);
          return readStore.dump();
        } finally {
          readStore.close();
          await store.close();
        }
      }),
    );
    expect(dumps[1]).toEqual(dumps[0]);
    const v = io(copy);
    expect(await runVerify({}, v.io)).toBe(EXIT_OK);

    // One stream alone exports in revision order, and imports too.
    const one = io(data);
    expect(await runExport({ stream: 'member-m2' }, one.io)).toBe(EXIT_OK);
    expect(
      one
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).revision),
    ).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('import refuses a store that is not empty, a file out of order and a broken chain', async () => {
    const exported = join(root, 'events-2.jsonl');
    await runExport({ out: exported }, io(data).io);
    const lines = readFileSync(exported, 'utf8').trim().split('\n');

    const full = io(data);
    expect(await runImport(exported, {}, full.io)).toBe(EXIT_ERROR);
    expect(full.err()).toContain('store_not_empty');

    const swapped = [lines[1], lines[0], ...lines.slice(2)];
    writeFileSync(join(root, 'swapped.jsonl'), swapped.join('\n'));
    const s = io(join(root, 'copy-swapped'));
    expect(await runImport(join(root, 'swapped.jsonl'), {}, s.io)).toBe(EXIT_ERROR);
    expect(s.err()).toContain('not in log order');

    const edited = lines.map((l, i) => (i === 8 ? l.replace('"points":', '"points":1') : l));
    expect(edited[8]).not.toBe(lines[8]);
    writeFileSync(join(root, 'edited.jsonl'), edited.join('\n'));
    const b = io(join(root, 'copy-edited'));
    expect(await runImport(join(root, 'edited.jsonl'), {}, b.io)).toBe(EXIT_ERROR);
    expect(b.err()).toContain('hash chain broken');
    // Refused before anything was written past the broken line.
    expect((await storeEvents(join(root, 'copy-edited'))).length).toBeLessThan(9);
  });

  const main = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
  const registered = existsSync(main) && readFileSync(main, 'utf8').includes('registerAuditCommands');
  (registered ? it : it.skip)('the built CLI: `ledger verify` exits 0 on the fixture and 1 once an event is edited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-bin-'));
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'ledger.js'), ...args], {
        env: { ...process.env, LEDGER_DATA_DIR: dir },
        encoding: 'utf8',
      });
    try {
      // The fixture is written in-process; the built CLI reads it.
      await writeAuditDataDir(dir);
      const ok = run(['verify']);
      expect(ok.stdout).toMatch(/^verify: OK/);
      expect(ok.status).toBe(0);
      const db = new Database(join(dir, 'ledger.db'));
      db.prepare("UPDATE events SET data = json_set(data, '$.points', 1) WHERE stream_id = 'member-m2' AND revision = 1").run();
      db.close();
      const bad = run(['verify']);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain('first divergence: hash_chain at member-m2, revision 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
