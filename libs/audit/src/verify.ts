import { EventStore, RecordedEvent, headPosition } from '@ledger/event-store';
import { ReadStoreMissing } from '@ledger/projections';
import {
  MONEY_EVENT_TYPES,
  PeriodStatementCalculation,
  asMoneyEvent,
  SettlementStatement,
  StatementBody,
  readSettlementReferences,
  sealStatement,
  verifyStatement,
} from '@ledger/settlement';
import { AuditFold } from './audit-fold';
import { ChainChecker } from './chain-check';
import {
  LogCheckInWorker,
  LogCheckOutcome,
  StatementToRecompute,
  checkLogInWorker,
  feedRecomputations,
  logCheckableInWorker,
} from './verify-worker';
import { Divergence, describeDivergence } from './divergence';
import { MoneyEventIndex, PeriodCloseRecord, PeriodCloses, periodMerkle } from './period-merkle';
import { ReadModelCheck } from './read-model-check';

export type CheckName = 'hash_chain' | 'invariants' | 'read_model' | 'statements' | 'merkle_roots';

export interface CheckResult {
  name: CheckName;
  status: 'passed' | 'failed' | 'skipped';
  /** What was checked, or why it was skipped. */
  detail: string;
  divergences: number;
}

export interface PeriodResult {
  periodId: string;
  cutoffPosition: number;
  statementSha256: string | null;
  recomputedSha256: string | null;
  /** The statement's own field, and the root recomputed from the log. */
  eventsMerkleRoot: string | null;
  recomputedMerkleRoot: string;
  leafCount: number;
  status: 'ok' | 'diverged';
}

export interface VerifyReport {
  ok: boolean;
  /** The log as read: up to the head when verify started (or the read model's checkpoint, if later). */
  headPosition: number | null;
  events: number;
  streams: number;
  members: number;
  partners: number;
  /** The whole run, and the part spent reading the log once (chains, fold, read models). */
  seconds: number;
  logSeconds: number;
  /** Events per second of that one read of the log. */
  eventsPerSecond: number;
  checks: CheckResult[];
  periods: PeriodResult[];
  /** The first thing found not to hold: hash chains, then invariants, read models, statements, roots; each in log order. */
  firstDivergence: Divergence | null;
  divergenceCount: number;
  /** The first divergences found (at most `maxDivergences`). */
  divergences: Divergence[];
  /** Events recorded earlier than the event before them (a store clock that stepped back): as-of by time assumes there are none. */
  clockRegressions: number;
}

export type VerifyPhase = 'log' | 'statements';

export interface VerifyOptions {
  /** The read models to compare with the fold (libs/projections' SQLite store: SqliteReadModelCheck). */
  readModel?: ReadModelCheck;
  /** Why there is no read model to compare, for the report (e.g. "no read.db in ./data"). */
  readModelSkipped?: string;
  /** Only this period's statement and root (the log is still chained and folded whole). */
  period?: string;
  /** Recompute closed periods' statements (default true; each costs a read of the log up to its cut-off). */
  statements?: boolean;
  maxDivergences?: number;
  /** `log`: position reached of the head; `statements`: position reached of `label`'s cut-off. */
  onProgress?: (phase: VerifyPhase, done: number, total: number, label?: string) => void;
}

const MAX_DIVERGENCES_DEFAULT = 100;

const CHECK_ORDER: CheckName[] = ['hash_chain', 'invariants', 'read_model', 'statements', 'merkle_roots'];

/**
 * Divergences by check, each list capped. The first reported is the first of the most
 * basic check: a tampered event breaks its chain, and the read models and statements
 * that disagree with it are consequences.
 */
class Findings {
  private readonly lists = new Map<CheckName, Divergence[]>();
  private readonly counts = new Map<CheckName, number>();
  count = 0;
  constructor(private readonly max: number) {}
  add(check: CheckName, d: Divergence | undefined): void {
    if (d === undefined) return;
    this.count += 1;
    this.counts.set(check, (this.counts.get(check) ?? 0) + 1);
    let list = this.lists.get(check);
    if (list === undefined) this.lists.set(check, (list = []));
    if (list.length < this.max) list.push(d);
  }
  /** `count` divergences found elsewhere, of which `first` are the first in the order found. */
  addCounted(check: CheckName, first: readonly Divergence[], count: number): void {
    for (const d of first) this.add(check, d);
    const more = count - first.length;
    this.count += more;
    this.counts.set(check, (this.counts.get(check) ?? 0) + more);
  }
  of(check: CheckName): number {
    return this.counts.get(check) ?? 0;
  }
  /** In check order, then in the order found (log order for the log's checks); at most `max`. */
  ordered(): Divergence[] {
    return CHECK_ORDER.flatMap((c) => this.lists.get(c) ?? []).slice(0, this.max);
  }
}

/**
 * Everything an auditor can establish from the log alone (docs/architecture.md, "Audit"), in one
 * read of it:
 *  - every stream's hash chain (edits, deletions, insertions, swaps);
 *  - the audit fold of every member stream: no negative balance, slices that match lots
 *    which existed with enough points, reversals of real transactions, and at the end,
 *    per issuer, Σ accrued = Σ redeemed + Σ expired + Σ reversed + Σ outstanding;
 *  - the read models against that fold, at the position they reflect;
 *  - then every closed period: its statement recomputed (PeriodStatementCalculation at its
 *    cut-off, fed by that same read) and compared by sha256, and the Merkle root of the
 *    events it settles.
 * Before it, two reads through the store's stream filter, of a few events each: the closes
 * (settlement-*) and the coalition's settings (coalition-*), so that each statement to
 * recompute is set up before the read of the log begins.
 * Memory: one (revision, hash) per stream, the fold's members, lots and transactions, and
 * ~100 bytes per member money event for the roots.
 */
export async function verifyLedger(store: EventStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = process.hrtime.bigint();
  const maxDivergences = options.maxDivergences ?? MAX_DIVERGENCES_DEFAULT;
  const findings = new Findings(maxDivergences);
  const chain = new ChainChecker();
  // For a SQLite file the chains are checked, and statements recomputed, in a worker thread over the same positions.
  let logWorker: LogCheckInWorker | undefined;
  let logOutcome: LogCheckOutcome | undefined;
  let fold: AuditFold | undefined = new AuditFold();
  const closes = new PeriodCloses();
  const money = new MoneyEventIndex();
  let rootsFromWorker = false;
  let moneyEvents = 0;
  const coalitionAt: CoalitionAt[] = [];
  const recompute = options.statements ?? true;
  const recomputations = new Map<string, Recomputation>();
  let readModel = options.readModel;
  let readModelSkipped = options.readModelSkipped;
  const checks: CheckResult[] = [];
  let clockRegressions = 0;
  let lastRecordedMs = -Infinity;
  let lastEvent: RecordedEvent | undefined;
  let head: number | undefined;

  try {
    head = await headPosition(store);
    let pinned: { position: number | undefined } | undefined;
    try {
      pinned = readModel?.begin();
    } catch (error) {
      // A read store of another schema version is derived data the projector rebuilds, not evidence.
      if (!(error instanceof ReadStoreMissing)) throw error;
      readModel?.end();
      readModel = undefined;
      readModelSkipped = `${error.message}: rebuild it (\`ledger rebuild\`) to compare it`;
    }
    const checkpoint = pinned?.position;
    let compared = readModel === undefined;
    const compareReadModel = () => {
      compared = true;
      for (const d of readModel!.compare(fold!, lastEvent)) findings.add('read_model', d);
    };
    const upTo = Math.max(head ?? -1, checkpoint ?? -1);
    if (upTo >= 0) {
      await store.scanAll({ upTo, filter: { streamPrefixes: ['settlement-'] } }, (e) => closes.add(e));
      // The coalition's settings as the fold sees them, from its own stream alone.
      const coalitionFold = new AuditFold();
      await store.scanAll({ upTo, filter: { streamPrefixes: ['coalition-'] } }, (e) => {
        coalitionFold.apply(e);
        const coalition = coalitionFold.coalition;
        if (coalition && (coalitionAt.length === 0 || coalitionAt[coalitionAt.length - 1].pointValueMinor !== coalition.pointValueMinor)) {
          coalitionAt.push({ position: e.position, currency: coalition.currency, pointValueMinor: coalition.pointValueMinor });
        }
      });
      if (recompute) {
        for (const close of wantedCloses(closes, options.period)) {
          if (close.statement !== null) recomputations.set(close.periodId, await startRecomputation(store, close, coalitionAt));
        }
      }
      if (logCheckableInWorker(store)) {
        const inWorker = [...recomputations.values()].filter((r) => r.calculation !== undefined);
        logWorker = checkLogInWorker(
          store.file,
          upTo,
          maxDivergences,
          inWorker.map((r) => r.input!),
        );
        for (const r of inWorker) r.calculation = undefined;
      }
      const feeding = [...recomputations.values()].filter((r) => r.calculation !== undefined);
      // The periods' Merkle roots come from the money index, unless the worker recomputes every
      // wanted statement: its calculation makes the same root over the same selection of events.
      rootsFromWorker =
        logWorker !== undefined && wantedCloses(closes, options.period).every((c) => recomputations.get(c.periodId)?.input !== undefined);
      // With the chains in the worker, this thread reads no metadata but the hash (the Merkle leaves), and none
      // at all when the worker makes the roots too.
      const metadata = logWorker === undefined ? 'all' : rootsFromWorker ? 'none' : 'hash';
      await store.scanAll({ upTo, metadata, onProgress: (position) => options.onProgress?.('log', position, upTo) }, (e) => {
        if (logWorker === undefined) findings.add('hash_chain', chain.check(e));
        // The read models are compared when the fold stands exactly where they do.
        if (!compared && (checkpoint === undefined || e.position > checkpoint)) compareReadModel();
        const step = fold!.apply(e);
        findings.add('invariants', step.divergence);
        if (!compared) for (const d of readModel!.onEvent(e, step)) findings.add('read_model', d);
        if (!rootsFromWorker) money.add(e);
        else if (asMoneyEvent(e) !== undefined) moneyEvents += 1;
        feedRecomputations(feeding, e);
        const recordedMs = Date.parse(e.recordedAt);
        if (recordedMs < lastRecordedMs) clockRegressions += 1;
        lastRecordedMs = recordedMs;
        lastEvent = e;
      });
      // While the worker still checks chains and recomputes statements: the comparison of the
      // read models' final tables needs only this thread's fold (5 s of 1M events' 26 s, which
      // waited for the worker before).
      if (!compared) compareReadModel();
      if (logWorker !== undefined) {
        logOutcome = await logWorker.outcome;
        findings.addCounted('hash_chain', logOutcome.divergences, logOutcome.count);
        for (const { periodId, statement, leafCount, error } of logOutcome.statements) {
          const r = recomputations.get(periodId)!;
          if (statement !== undefined) Object.assign(r, { statement, leafCount });
          else r.error = new Error(error);
        }
        if (rootsFromWorker && [...recomputations.values()].some((r) => r.statement === undefined)) {
          // A statement that could not be recomputed brings no root: the money index is read after all.
          rootsFromWorker = false;
          await store.scanAll({ upTo, filter: { eventTypes: [...MONEY_EVENT_TYPES] }, metadata: 'hash' }, (e) => money.add(e));
        }
      }
    }
    if (!compared) compareReadModel();
  } finally {
    readModel?.end();
    // Stopped early (an unreadable store, a read model that failed): the worker's outcome is not wanted.
    if (logWorker !== undefined && logOutcome === undefined) await logWorker.stop();
  }
  for (const d of fold.finalChecks()) findings.add('invariants', d);
  const folded = { members: fold.members.size, partners: fold.partners.size, transactions: fold.txCount() };
  fold = undefined;
  for (const r of recomputations.values()) {
    if (r.calculation === undefined) continue;
    try {
      r.statement = r.calculation.finish();
    } catch (error) {
      r.error = error;
    }
    r.calculation = undefined;
  }
  const logSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const counts = logOutcome ?? chain.counts();
  checks.push({
    name: 'hash_chain',
    status: findings.of('hash_chain') > 0 ? 'failed' : 'passed',
    detail: `${counts.events} events in ${counts.streams} streams`,
    divergences: findings.of('hash_chain'),
  });
  checks.push({
    name: 'invariants',
    status: findings.of('invariants') > 0 ? 'failed' : 'passed',
    detail: `${folded.members} members, ${folded.partners} partners, ${folded.transactions} transactions folded`,
    divergences: findings.of('invariants'),
  });
  checks.push(
    readModel
      ? {
          name: 'read_model',
          status: findings.of('read_model') > 0 ? 'failed' : 'passed',
          detail: `${readModel.name}: members, lots, partner positions, transactions, liability, holds, programme KPIs, pending lots, velocity flags`,
          divergences: findings.of('read_model'),
        }
      : { name: 'read_model', status: 'skipped', detail: readModelSkipped ?? 'no read model given', divergences: 0 },
  );

  // Closed periods: statement and Merkle root.
  const periods: PeriodResult[] = [];
  const wanted = wantedCloses(closes, options.period);
  let statementsChecked = 0;
  let rootsChecked = 0;
  for (const close of wanted) {
    const recomputation = recompute ? recomputations.get(close.periodId) : undefined;
    const merkle = rootsFromWorker ? rootOfRecomputed(recomputation!) : rootOfIndexed(periodMerkle(money, closes, close.periodId)!);
    const result = checkPeriod(close, merkle, recomputation, (d) =>
      findings.add(d.kind === 'merkle_root' ? 'merkle_roots' : 'statements', d),
    );
    if (result.recomputedSha256 !== null) statementsChecked += 1;
    if (result.eventsMerkleRoot !== null) rootsChecked += 1;
    periods.push(result);
  }
  if (options.period !== undefined && wanted.length === 0) {
    findings.add('statements', {
      kind: 'statement',
      check: 'statements',
      streamId: `settlement-${options.period}`,
      message: `period ${options.period} is not closed: there is no statement to verify`,
      expected: 'a closed period',
      found: 'no SettlementPeriodClosed',
    });
  }
  checks.push(
    recompute
      ? {
          name: 'statements',
          status: findings.of('statements') > 0 ? 'failed' : wanted.length === 0 ? 'skipped' : 'passed',
          detail: wanted.length === 0 ? 'no closed period' : `${statementsChecked} of ${wanted.length} closed periods recomputed`,
          divergences: findings.of('statements'),
        }
      : { name: 'statements', status: 'skipped', detail: 'not asked for', divergences: 0 },
  );
  checks.push({
    name: 'merkle_roots',
    status: findings.of('merkle_roots') > 0 ? 'failed' : rootsChecked === 0 ? 'skipped' : 'passed',
    detail:
      rootsChecked === 0
        ? wanted.length === 0
          ? 'no closed period'
          : 'no statement carries eventsMerkleRoot yet (roots recomputed, nothing to compare them with)'
        : `${rootsChecked} of ${wanted.length} statements carry a root; each recomputed from ${rootsFromWorker ? moneyEvents : money.size} money events`,
    divergences: findings.of('merkle_roots'),
  });

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const ordered = findings.ordered();
  return {
    ok: findings.count === 0,
    headPosition: lastEvent?.position ?? head ?? null,
    events: counts.events,
    streams: counts.streams,
    members: folded.members,
    partners: folded.partners,
    seconds,
    logSeconds,
    eventsPerSecond: logSeconds > 0 ? Math.round(counts.events / logSeconds) : 0,
    checks,
    periods,
    firstDivergence: ordered[0] ?? null,
    divergenceCount: findings.count,
    divergences: ordered,
    clockRegressions,
  };
}

interface CoalitionAt {
  position: number;
  currency: string;
  pointValueMinor: number;
}

/** A filed statement being recomputed during the read of the log, and how that ended. */
interface Recomputation {
  /** No coalition configuration before the cut-off: nothing to value the statement with. */
  noCoalition?: true;
  calculation?: PeriodStatementCalculation;
  /** What the calculation was made with, for a worker thread to make the same one. */
  input?: StatementToRecompute;
  statement?: SettlementStatement;
  /** How many events the recomputed statement settles: its Merkle root's leaves. */
  leafCount?: number;
  error?: unknown;
}

const wantedCloses = (closes: PeriodCloses, period: string | undefined): PeriodCloseRecord[] =>
  closes.all().filter((c) => period === undefined || c.periodId === period);

/** Sets up a period's recomputation: its references read through the store's filter, its coalition settings at the cut-off. */
async function startRecomputation(
  store: EventStore,
  close: PeriodCloseRecord,
  coalitionAt: readonly CoalitionAt[],
): Promise<Recomputation> {
  const coalition = [...coalitionAt].reverse().find((c) => c.position <= close.cutoffPosition);
  if (coalition === undefined) return { noCoalition: true };
  try {
    const references = await readSettlementReferences(store, close.cutoffPosition);
    return {
      calculation: new PeriodStatementCalculation(close.periodId, close.cutoffPosition, coalition, references),
      input: {
        periodId: close.periodId,
        cutoffPosition: close.cutoffPosition,
        coalition: { currency: coalition.currency, pointValueMinor: coalition.pointValueMinor },
        references,
      },
    };
  } catch (error) {
    return { error };
  }
}

/** A period's Merkle root recomputed from the log, and over how many events. */
interface PeriodRoot {
  root: string;
  leafCount: number;
}

const rootOfIndexed = (m: { root: string; leaves: unknown[] }): PeriodRoot => ({ root: m.root, leafCount: m.leaves.length });

/** The root a recomputed statement carries: `PeriodStatementCalculation` made it over the events it settled. */
const rootOfRecomputed = (r: Recomputation): PeriodRoot => ({ root: String(r.statement!.eventsMerkleRoot), leafCount: r.leafCount! });

function checkPeriod(
  close: PeriodCloseRecord,
  merkle: PeriodRoot,
  recomputation: Recomputation | undefined,
  report: (d: Divergence) => void,
): PeriodResult {
  const stored = close.statement;
  const at = { streamId: close.streamId, revision: close.revision };
  let status: PeriodResult['status'] = 'ok';
  const fail = (d: Divergence) => {
    status = 'diverged';
    report(d);
  };
  let recomputedSha256: string | null = null;
  if (stored === null) {
    fail({
      ...at,
      kind: 'statement',
      check: 'statements',
      message: `period ${close.periodId} was closed but has no SettlementStatementIssued`,
      expected: 'a statement',
      found: null,
    });
  } else {
    if (!verifyStatement(stored)) {
      fail({
        ...at,
        revision: close.revision + 1,
        kind: 'statement',
        check: 'statements',
        message: 'the stored statement does not match its own sha256 (edited after it was sealed)',
        expected: 'sha256 of its content',
        found: stored.sha256,
      });
    }
    if (recomputation !== undefined) {
      if (recomputation.noCoalition) {
        fail({
          ...at,
          kind: 'statement',
          check: 'statements',
          message: 'no coalition configuration before the cut-off to value the statement with',
          expected: 'CoalitionConfigured',
          found: null,
        });
      } else {
        let again = recomputation.statement;
        if (again === undefined) {
          const error = recomputation.error;
          fail({
            ...at,
            revision: close.revision + 1,
            kind: 'statement',
            check: 'statements',
            message: `the statement of ${close.periodId} cannot be recomputed from the log: ${error instanceof Error ? error.message : String(error)}`,
          });
          return periodResult(close, stored, null, merkle, 'diverged');
        }
        // Statements that carry a root are compared with one: the root is part of what is sealed.
        if (typeof stored.eventsMerkleRoot === 'string' && again.eventsMerkleRoot === undefined) {
          const { sha256: _unsealed, ...body } = again;
          again = sealStatement({ ...(body as StatementBody), eventsMerkleRoot: merkle.root });
        }
        recomputedSha256 = again.sha256;
        if (again.sha256 !== stored.sha256) {
          const diff = firstDifference(again, stored);
          fail({
            ...at,
            revision: close.revision + 1,
            kind: 'statement',
            check: 'statements',
            message: `the statement of ${close.periodId} recomputed at cut-off ${close.cutoffPosition} differs${diff ? ` first at ${diff.path}` : ''}`,
            expected: diff ? diff.expected : again.sha256,
            found: diff ? diff.found : stored.sha256,
          });
        }
      }
    }
    if (typeof stored.eventsMerkleRoot === 'string' && stored.eventsMerkleRoot !== merkle.root) {
      fail({
        ...at,
        revision: close.revision + 1,
        kind: 'merkle_root',
        check: 'merkle_roots',
        message: `the Merkle root of the ${merkle.leafCount} events ${close.periodId} settles is not the statement's eventsMerkleRoot`,
        expected: merkle.root,
        found: stored.eventsMerkleRoot,
      });
    }
  }
  return periodResult(close, stored, recomputedSha256, merkle, status);
}

function periodResult(
  close: PeriodCloseRecord,
  stored: SettlementStatement | null,
  recomputedSha256: string | null,
  merkle: PeriodRoot,
  status: PeriodResult['status'],
): PeriodResult {
  return {
    periodId: close.periodId,
    cutoffPosition: close.cutoffPosition,
    statementSha256: stored?.sha256 ?? null,
    recomputedSha256,
    eventsMerkleRoot: typeof stored?.eventsMerkleRoot === 'string' ? stored.eventsMerkleRoot : null,
    recomputedMerkleRoot: merkle.root,
    leafCount: merkle.leafCount,
    status,
  };
}

/** The first JSON path at which two values differ (objects by key, arrays by index). */
export function firstDifference(
  expected: unknown,
  found: unknown,
  path = '$',
): { path: string; expected: unknown; found: unknown } | undefined {
  if (Object.is(expected, found)) return undefined;
  if (
    typeof expected !== 'object' ||
    typeof found !== 'object' ||
    expected === null ||
    found === null ||
    Array.isArray(expected) !== Array.isArray(found)
  ) {
    return { path, expected, found };
  }
  if (Array.isArray(expected) && Array.isArray(found)) {
    for (let i = 0; i < Math.max(expected.length, found.length); i++) {
      const d = firstDifference(expected[i], found[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const e = expected as Record<string, unknown>;
  const f = found as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(e), ...Object.keys(f)])].sort()) {
    const d = firstDifference(e[key], f[key], `${path}.${key}`);
    if (d) return d;
  }
  return undefined;
}

/** The report for people: one line per check, the first divergence, the rate. */
export function formatVerifyReport(r: VerifyReport): string {
  const lines = [
    `verify: ${r.ok ? 'OK' : 'FAILED'}: ${r.events} events, ${r.streams} streams, ${r.members} members, ${r.partners} partners in ${r.seconds.toFixed(1)} s (log ${r.logSeconds.toFixed(1)} s, ${r.eventsPerSecond} events/s; closed periods ${(r.seconds - r.logSeconds).toFixed(1)} s)`,
  ];
  for (const c of r.checks)
    lines.push(
      `  ${c.status === 'passed' ? 'ok  ' : c.status === 'failed' ? 'FAIL' : 'skip'} ${c.name.padEnd(13)} ${c.detail}${c.divergences ? ` (${c.divergences} divergences)` : ''}`,
    );
  for (const p of r.periods) {
    lines.push(
      `  period ${p.periodId}: cut-off ${p.cutoffPosition}, statement ${p.status === 'ok' ? 'ok' : 'DIVERGED'} (${(p.statementSha256 ?? '-').slice(0, 16)}…), root ${p.recomputedMerkleRoot.slice(0, 16)}… over ${p.leafCount} events${p.eventsMerkleRoot === null ? ' (not in the statement)' : ''}`,
    );
  }
  if (r.clockRegressions > 0)
    lines.push(
      `  note: ${r.clockRegressions} events were recorded earlier than the event before them (store clock stepped back); as-of by time is approximate around them`,
    );
  if (r.firstDivergence) {
    lines.push(`first divergence: ${describeDivergence(r.firstDivergence)}`);
    if (r.divergenceCount > 1) lines.push(`(${r.divergenceCount - 1} more; --json lists the first ${r.divergences.length})`);
  }
  return lines.join('\n');
}
