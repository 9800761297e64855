import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import {
  COALITION_ID,
  DomainEvent,
  LotSlice,
  addMonthsUtc,
  coalitionStream,
  memberStream,
  partnerStream,
  pointsEarned,
  withLuhnDigit,
} from '@ledger/domain';
import { CommandMeta, withMetadata } from '@ledger/application';
import { GENESIS_HASH } from '@ledger/integrity';
import { startLibraryWorker } from '@ledger/event-store/library-worker';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { READ_STORE_CACHE_MIB_PROJECTOR, READ_STORE_FILE, ReadStore, rebuildReadStore } from '@ledger/projections';
import { seededRandom } from '@ledger/projections/testing/synthetic-history';

/**
 * A large, valid coalition history written straight into a SQLite event store file, for
 * benchmarks that need millions of events in seconds. Events are the real shapes with the
 * real metadata and hash chain (so projections, settlement and verify accept them); member
 * logic is a direct FIFO simulation rather than the decider, which alone would take minutes
 * at 10M events. Members are written in cohorts whose events interleave, like real traffic.
 */
export interface BulkHistoryOptions {
  file: string;
  events: number;
  members: number;
  partners?: number;
  seed?: number;
  /** Business dates fall in [startAt, endAt). */
  startAt: string;
  endAt: string;
  onProgress?: (written: number) => void;
}

const EARN = { pointsPerUnit: 1, unitMinor: 10_000 };
const POINT_VALUE_MINOR = 10;
const EXPIRY_MONTHS = 24;
const COHORT = 2_000;

/** A history already written with the same options but fewer members: the start of a larger one. */
export interface BulkHistoryBase {
  file: string;
  events: number;
  members: number;
}

/** A row of the events table, as the INSERT binds it. */
type EventRowValues = [stream: string, revision: number, eventId: string, type: string, data: string, metadata: string, recordedAt: string];

/** One cohort of members to generate: everything a worker thread needs, and nothing else. */
interface CohortJob {
  /** Its place among the jobs of this write: the order its rows are inserted in. */
  index: number;
  /** Which cohort of the history it is (members from / COHORT): what its random sequence is seeded with. */
  cohort: number;
  seed: number;
  from: number;
  to: number;
  perMember: number;
  partners: string[];
  startMs: number;
  spanMs: number;
  recordedAt: string;
}

const SYSTEM: CommandMeta = { correlationId: 'bulk', causationId: null, actor: { keyId: 'system', role: 'admin' } };

/**
 * Writes the history. The cohorts' events (hash chains, JSON) are made by worker threads, one
 * per core, and inserted here in cohort order, so the file is the same whichever thread made
 * which cohort. Generating is four fifths of the work and the benchmarks' largest set-up cost.
 */
export async function writeBulkHistory(o: BulkHistoryOptions, base?: BulkHistoryBase): Promise<{ events: number; members: number }> {
  if (base) copyStoreFile(base.file, o.file);
  // Let the adapter create its schema and pragmas, then write in large transactions.
  else SqliteEventStore.open(o.file).close();
  const db = new Database(o.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // a generated fixture, not a ledger: rebuilt on any failure
  const insert = db.prepare(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertAll = db.transaction((rows: readonly EventRowValues[]) => {
    for (const r of rows) insert.run(...r);
  });
  const partners = Array.from({ length: o.partners ?? 8 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
  const startMs = Date.parse(o.startAt);
  const spanMs = Date.parse(o.endAt) - startMs;
  const recordedAt = new Date().toISOString();
  let written = base?.events ?? 0;
  let members = base?.members ?? 0;
  const headerEvents = 1 + partners.length;
  const perMember = Math.max(3, Math.round((o.events - headerEvents) / o.members));
  try {
    if (base === undefined) {
      const header = headerRows(o.startAt, partners, recordedAt);
      insertAll(header);
      written += header.length;
    }
    // Each cohort draws from its own seeded sequence, so a history extended from a smaller one
    // holds the same members' events as one written whole.
    const jobs: CohortJob[] = [];
    for (let from = members; from < o.members; from += COHORT) {
      const to = Math.min(o.members, from + COHORT);
      jobs.push({
        index: jobs.length,
        cohort: from / COHORT,
        seed: o.seed ?? 1,
        from,
        to,
        perMember,
        partners,
        startMs,
        spanMs,
        recordedAt,
      });
    }
    await inCohortOrder(jobs, (job, rows) => {
      insertAll(rows);
      written += rows.length;
      members = job.to;
      o.onProgress?.(written);
      // Stop at the event count: cohorts made ahead of it are dropped.
      return written < o.events;
    });
  } finally {
    db.close();
  }
  return { events: written, members };
}

/** The coalition's configuration and the partners, each the first event of its stream. */
function headerRows(startAt: string, partners: readonly string[], recordedAt: string): EventRowValues[] {
  const row = (stream: string, e: DomainEvent): EventRowValues => {
    const [m] = withMetadata([e], SYSTEM, startAt, GENESIS_HASH);
    return [stream, 0, m.eventId, m.type, JSON.stringify(m.data), JSON.stringify(m.metadata), recordedAt];
  };
  const coalition = row(coalitionStream(), {
    type: 'CoalitionConfigured',
    data: { coalitionId: COALITION_ID, currency: 'RUB', pointValueMinor: POINT_VALUE_MINOR, expiryMonths: EXPIRY_MONTHS },
  });
  return [
    coalition,
    ...partners.map((partnerId) =>
      row(partnerStream(partnerId), {
        type: 'PartnerJoined',
        data: {
          partnerId,
          name: partnerId,
          earnRule: EARN,
          issuanceFeeBps: 150,
          breakageShareBps: 5000,
          effectiveFrom: '1970-01-01T00:00:00.000Z',
        },
      }),
    ),
  ];
}

/**
 * Runs the jobs on worker threads (as many as cores), a few ahead of the writer, and hands
 * their rows to `write` in job order. `write` answers whether to go on.
 */
async function inCohortOrder(jobs: readonly CohortJob[], write: (job: CohortJob, rows: EventRowValues[]) => boolean): Promise<void> {
  const workers = Array.from({ length: Math.max(1, Math.min(availableParallelism(), jobs.length)) }, () =>
    startLibraryWorker(__filename, 'runCohortWorker', null),
  );
  const done = new Map<number, EventRowValues[]>();
  let next = 0; // the next job to hand out
  let writing = 0; // the next job to write
  try {
    await new Promise<void>((resolve, reject) => {
      const handOut = (worker: Worker) => {
        // Two jobs ahead per worker keeps every core busy without holding many cohorts in memory.
        if (next < jobs.length && next - writing < 2 * workers.length) worker.postMessage(jobs[next++]);
      };
      for (const worker of workers) {
        worker.on('message', ({ index, rows }: { index: number; rows: EventRowValues[] }) => {
          done.set(index, rows);
          try {
            while (done.has(writing)) {
              const rows = done.get(writing)!;
              done.delete(writing);
              const goOn = write(jobs[writing], rows);
              writing += 1;
              if (!goOn || writing === jobs.length) return resolve();
            }
          } catch (error) {
            return reject(error);
          }
          for (const w of workers) handOut(w);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`a history worker exited (code ${code})`)));
        handOut(worker);
        handOut(worker);
      }
      if (jobs.length === 0) resolve();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** A worker thread's side: cohorts in, their rows out, until it is stopped. */
export function runCohortWorker(): void {
  if (isMainThread || !parentPort) throw new Error('runCohortWorker runs in a history worker');
  const port = parentPort;
  port.on('message', (job: CohortJob) => port.postMessage({ index: job.index, rows: cohortRows(job) }));
}

/** One cohort's rows: each member's stream and card claim, the streams interleaved round-robin like real traffic. */
function cohortRows(job: CohortJob): EventRowValues[] {
  const random = seededRandom(job.seed * 100_003 + job.cohort);
  const rows: EventRowValues[] = [];
  const put = (stream: string, revision: number, e: ReturnType<typeof withMetadata>[number]) =>
    rows.push([stream, revision, e.eventId, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), job.recordedAt]);
  const cohort: { stream: string; events: ReturnType<typeof withMetadata> }[] = [];
  for (let i = job.from; i < job.to; i++)
    cohort.push(memberHistory(i, Math.max(2, Math.round(job.perMember * (0.3 + 1.4 * random())) - 2)));
  for (let k = 0, left = true; left; k++) {
    left = false;
    for (const m of cohort) {
      if (k < m.events.length) {
        put(m.stream, k, m.events[k]);
        left = true;
      }
    }
  }
  return rows;

  function memberHistory(i: number, transactions: number) {
    const { partners, startMs, spanMs } = job;
    const system = SYSTEM;
    const memberId = `b${String(i).padStart(7, '0')}`;
    const stream = memberStream(memberId);
    const cardNumber = withLuhnDigit(`4${String(i).padStart(14, '0')}`);
    const domain: { e: DomainEvent; at: string; meta: CommandMeta }[] = [];
    const enrolAt = new Date(startMs).toISOString();
    domain.push({
      e: { type: 'MemberEnrolled', data: { memberId, cardNumber, birthDate: null, enrolledBy: null, occurredAt: enrolAt } },
      at: enrolAt,
      meta: system,
    });
    const lots: { lotId: string; issuerPartnerId: string; points: number }[] = [];
    let available = 0;
    for (let n = 0; n < transactions; n++) {
      const partnerId = partners[Math.floor(random() * partners.length)];
      const occurredAt = new Date(startMs + Math.floor(((n + random()) / transactions) * spanMs)).toISOString();
      const meta: CommandMeta = {
        correlationId: 'bulk',
        causationId: null,
        actor: { keyId: `key-${partnerId}`, role: 'partner', partnerId },
      };
      const txId = `${partnerId}:${memberId}-${n}`;
      const redeem = available > 20 && random() < 0.35;
      if (!redeem) {
        const amountMinor = 50_000 + Math.floor(random() * 500_000);
        const points = pointsEarned(amountMinor, EARN);
        lots.push({ lotId: txId, issuerPartnerId: partnerId, points });
        available += points;
        const data = {
          txId,
          partnerId,
          externalId: `${memberId}-${n}`,
          memberId,
          amountMinor,
          currency: 'RUB',
          points,
          pointValueMinor: POINT_VALUE_MINOR,
          lotId: txId,
          issuerPartnerId: partnerId,
          expiresAt: addMonthsUtc(occurredAt, EXPIRY_MONTHS),
          occurredAt,
        };
        domain.push({ e: { type: 'PointsAccrued', data }, at: occurredAt, meta });
      } else {
        const points = 1 + Math.floor(random() * Math.min(available, 200));
        // All lots expire together 24 months on, in creation order: FIFO is creation order.
        const slices: LotSlice[] = [];
        for (let left = points; left > 0;) {
          const lot = lots[0];
          const take = Math.min(left, lot.points);
          slices.push({ lotId: lot.lotId, issuerPartnerId: lot.issuerPartnerId, points: take });
          lot.points -= take;
          left -= take;
          if (lot.points === 0) lots.shift();
        }
        available -= points;
        domain.push({
          e: {
            type: 'PointsRedeemed',
            data: {
              txId,
              partnerId,
              externalId: `${memberId}-${n}`,
              memberId,
              points,
              pointValueMinor: POINT_VALUE_MINOR,
              currency: 'RUB',
              slices,
              occurredAt,
            },
          },
          at: occurredAt,
          meta,
        });
      }
    }
    let prev = GENESIS_HASH;
    const events = domain.map(({ e, at, meta }) => {
      const [withMeta] = withMetadata([e], meta, at, prev);
      prev = String(withMeta.metadata.hash);
      return withMeta;
    });
    const [claim] = withMetadata([{ type: 'CardClaimed', data: { cardNumber, memberId } }], system, enrolAt, GENESIS_HASH);
    put(`card-${cardNumber}`, 0, claim);
    return { stream, events };
  }
}

export const bulkFile = (dir: string, name: string) => join(dir, `${name}.db`);

/**
 * Several benchmarks of one run need the same history (a 1M-event October, say). Generated
 * once into a directory of the run's own, then copied into each benchmark's place: copying a
 * 1M-event file takes a second or two, generating it a minute. Same options, same bytes.
 */
type GeneratedHistory = BulkHistoryBase & { spec: Omit<BulkHistoryOptions, 'file' | 'onProgress'> };
const generated = new Map<string, GeneratedHistory>();
let cacheDir: string | undefined;

export async function copyBulkHistory(o: BulkHistoryOptions): Promise<{ events: number; members: number }> {
  const made = await master(o);
  copyStoreFile(made.file, o.file);
  return { events: made.events, members: made.members };
}

/** The run's one generated copy of the history `o` describes, written on first use. */
async function master(o: BulkHistoryOptions): Promise<GeneratedHistory> {
  const { file: _file, onProgress, ...spec } = o;
  const key = JSON.stringify(Object.entries(spec).sort(([a], [b]) => a.localeCompare(b)));
  let made = generated.get(key);
  if (made === undefined) {
    cacheDir ??= mkdtempSync(join(tmpdir(), 'ledger-bench-histories-'));
    const file = join(cacheDir, `${generated.size}.db`);
    made = { file, spec, ...(await writeBulkHistory({ ...spec, file, onProgress }, baseFor(spec))) };
    generated.set(key, made);
  }
  return made;
}

/** How long `ledger rebuild` (rebuildReadStore) took over a generated history, when its read store was made. */
export interface HistoryRebuild {
  events: number;
  seconds: number;
}

const rebuilds = new Map<string, HistoryRebuild>();

/**
 * `copyBulkHistory`, and beside it the read store caught up with it (`read.db`), for
 * benchmarks that start `ledger serve` over the history and measure from the moment its read
 * models stand at the head. The projection is made once per history and run, as the history,
 * the way `ledger rebuild` makes it (rebuildReadStore, the projector's page cache); `rebuild`
 * says how long that took, for a benchmark that compares with a rebuild of the same store.
 */
export async function copyProjectedBulkHistory(
  o: BulkHistoryOptions,
): Promise<{ events: number; members: number; rebuild: HistoryRebuild }> {
  const made = await master(o);
  copyStoreFile(made.file, o.file);
  const projected = `${made.file}.${READ_STORE_FILE}`;
  let rebuild = rebuilds.get(made.file);
  if (rebuild === undefined) {
    const store = SqliteEventStore.open(made.file);
    const readStore = ReadStore.open(projected, { cacheMiB: READ_STORE_CACHE_MIB_PROJECTOR });
    try {
      const r = await rebuildReadStore(store, readStore);
      rebuild = { events: r.events, seconds: r.seconds };
    } finally {
      readStore.close();
      await store.close();
    }
    rebuilds.set(made.file, rebuild);
  }
  copyStoreFile(projected, join(dirname(o.file), READ_STORE_FILE));
  return { events: made.events, members: made.members, rebuild };
}

/**
 * Takes `readFile`, a read store that a ProjectionRunner just caught up from position 0 over a
 * copy of the history `o` describes, as that history's projection, so that
 * `copyProjectedBulkHistory` copies it instead of projecting the same million events again.
 * Only a projection made as `ledger rebuild` makes it will do: a fresh read store, the
 * default batch size and the projector's page cache (benchmark 4 runs exactly that).
 */
export async function adoptBulkHistoryProjection(o: BulkHistoryOptions, readFile: string, rebuild: HistoryRebuild): Promise<void> {
  const made = await master(o);
  if (rebuilds.has(made.file)) return;
  copyStoreFile(readFile, `${made.file}.${READ_STORE_FILE}`);
  rebuilds.set(made.file, rebuild);
}

/**
 * The largest history of this run that a history of `spec` begins with: same partners, seed,
 * dates and events per member, fewer members (a 2M-event store extends the 1M one, and only
 * its second million is generated).
 */
function baseFor(spec: Omit<BulkHistoryOptions, 'file' | 'onProgress'>): BulkHistoryBase | undefined {
  let best: BulkHistoryBase | undefined;
  for (const made of generated.values()) {
    const s = made.spec;
    const sameShape =
      s.partners === spec.partners &&
      s.seed === spec.seed &&
      s.startAt === spec.startAt &&
      s.endAt === spec.endAt &&
      s.events * spec.members === spec.events * s.members;
    // Only a base whose members were all written (the generator stops early at its event count otherwise).
    if (sameShape && made.members === s.members && s.members < spec.members && s.members % COHORT === 0 && (best?.members ?? 0) < s.members)
      best = made;
  }
  return best;
}

/** Copies a closed store file, with a WAL left beside it. */
function copyStoreFile(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
    else rmSync(to + suffix, { force: true });
  }
}

/** Removes the generated histories (end of the run). */
export function removeBulkHistories(): void {
  if (cacheDir !== undefined) rmSync(cacheDir, { recursive: true, force: true });
  cacheDir = undefined;
  generated.clear();
  rebuilds.clear();
}
