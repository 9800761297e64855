import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Agent } from 'undici';
import { SqliteEventStore } from '@ledger/event-store/sqlite/sqlite-event-store';
import { ReadStore } from '@ledger/projections';
import { ADMIN_KEY, Answer, CLI, ChildService, call, freePort, seedOverHttp, startService } from './child-service';

export interface CrashSoakOptions {
  dataDir: string;
  rounds: number;
  /** Concurrent clients, each on its own member. */
  clients?: number;
  seed?: number;
  /** A round's load runs for a random time in [min, max) before the SIGKILL. */
  killAfterMs?: [number, number];
  log?: (line: string) => void;
}

export interface CrashSoakReport {
  rounds: number;
  /** Requests answered 2xx (first answers, and re-posts answered after a restart). */
  acknowledged: number;
  /** Acknowledged transactions missing from the store, or there twice. Must be 0. */
  lost: number;
  duplicated: number;
  /** Requests that got no answer before a kill, posted again (same body) after the restart. */
  reposted: number;
  /** Re-posts answered as a replay: the first attempt had been written before the kill. */
  repostsThatWereWritten: number;
  /** Business refusals (422), answered and written nothing. */
  refused: number;
  /** Acknowledged requests posted again at the end whose replay differed from the first answer. */
  replayMismatches: number;
  /** The read models after the last restart equal `ledger rebuild` of the same log. */
  readModelsEqualRebuild: boolean;
  verifyExitCode: number | null;
  events: number;
  problems: string[];
}

type Kind = 'accrual' | 'redemption' | 'reversal';

interface Request {
  kind: Kind;
  path: string;
  key: 'shop' | 'cafe';
  body: Record<string, unknown>;
  txId: string;
}

/** Deterministic per seed, so a failing soak can be run again the same way. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

const TX_TYPES: Record<Kind, string> = { accrual: 'PointsAccrued', redemption: 'PointsRedeemed', reversal: 'RedemptionReversed' };

/**
 * The crash soak: the built service as a child on one data directory; concurrent clients
 * post accruals, redemptions and cancellations of their redemptions; the service is
 * SIGKILLed at a random moment, restarted, and the requests left without an answer are
 * posted again. At the end: every acknowledged transaction is in the store exactly once and
 * replays its first answer, `ledger verify` is green, and the read models equal a rebuild.
 */
export async function runCrashSoak(options: CrashSoakOptions): Promise<CrashSoakReport> {
  const { dataDir, rounds } = options;
  const clients = options.clients ?? 8;
  const random = prng(options.seed ?? 1);
  const [killMin, killMax] = options.killAfterMs ?? [200, 1_200];
  const log = options.log ?? (() => undefined);
  const port = await freePort();
  const occurredAt = new Date(Date.now() - 60_000).toISOString();
  const problems: string[] = [];

  const acknowledged = new Map<string, { request: Request; answer: Answer }>();
  let unanswered: Request[] = [];
  let reposted = 0;
  let repostsThatWereWritten = 0;
  let refused = 0;
  let keys: Record<string, string> = {};
  /** Per client: redemptions acknowledged and not yet cancelled. */
  const redemptions: string[][] = Array.from({ length: clients }, () => []);
  const counters = Array.from({ length: clients }, () => 0);

  const record = (request: Request, answer: Answer, client: number | undefined) => {
    if (answer.status === 201) {
      acknowledged.set(request.txId, { request, answer });
      if (client !== undefined && request.kind === 'redemption') redemptions[client].push(String(request.body.externalId));
    } else if (answer.status === 422) refused++;
    else problems.push(`${request.txId}: ${answer.status} ${JSON.stringify(answer.body)}`);
  };

  const nextRequest = (c: number): Request => {
    const n = counters[c]++;
    const memberId = `m-${c}`;
    const roll = random();
    if (roll < 0.15 && redemptions[c].length > 0) {
      const original = redemptions[c].shift()!;
      const externalId = `v${c}-${n}`;
      return {
        kind: 'reversal',
        path: '/v1/reversals',
        key: 'cafe',
        body: { externalId, memberId, originalExternalId: original, occurredAt },
        txId: `cafe:${externalId}`,
      };
    }
    if (roll < 0.4) {
      const externalId = `r${c}-${n}`;
      return {
        kind: 'redemption',
        path: '/v1/redemptions',
        key: 'cafe',
        body: { externalId, memberId, points: 1 + Math.floor(random() * 10), occurredAt },
        txId: `cafe:${externalId}`,
      };
    }
    const externalId = `a${c}-${n}`;
    return {
      kind: 'accrual',
      path: '/v1/accruals',
      key: 'shop',
      body: { externalId, memberId, amountMinor: 100_000 + Math.floor(random() * 500_000), currency: 'RUB', occurredAt },
      txId: `shop:${externalId}`,
    };
  };

  const repost = async (service: ChildService, agent: Agent) => {
    const pending = unanswered;
    unanswered = [];
    for (const request of pending) {
      const answer = await postPolitely(agent, service.url, request.path, keys[request.key], request.body);
      reposted++;
      if (answer.headers['idempotent-replay'] === 'true') repostsThatWereWritten++;
      record(request, answer, undefined);
    }
  };

  for (let round = 1; round <= rounds; round++) {
    const service = await startService(dataDir, port);
    const agent = new Agent();
    try {
      if (round === 1) keys = await seedOverHttp(service.url, ['shop', 'cafe'], clients);
      await repost(service, agent);
      let killed = false;
      const client = async (c: number) => {
        // Bounded: a round ends at the kill; the cap only guards a kill that never comes.
        for (let i = 0; !killed && i < 100_000; i++) {
          const request = nextRequest(c);
          let answer: Answer;
          try {
            answer = await postPolitely(agent, service.url, request.path, keys[request.key], request.body);
          } catch {
            // Posted again after the restart; a cancelled redemption stays off the list either way.
            unanswered.push(request);
            return;
          }
          record(request, answer, c);
        }
      };
      const load = Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
      await new Promise((r) => setTimeout(r, killMin + random() * (killMax - killMin)));
      killed = true;
      service.child.kill('SIGKILL');
      await service.exited;
      await load;
      log(`round ${round}/${rounds}: acknowledged ${acknowledged.size}, unanswered at the kill ${unanswered.length}`);
    } finally {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
      await agent.close();
    }
  }

  // Last start: re-post what is still unanswered, then replay every acknowledged request.
  const service = await startService(dataDir, port);
  const agent = new Agent();
  let replayMismatches = 0;
  try {
    await repost(service, agent);
    for (const { request, answer } of acknowledged.values()) {
      const again = await postPolitely(agent, service.url, request.path, keys[request.key], request.body);
      if (again.status !== answer.status || again.headers['idempotent-replay'] !== 'true' || !isDeepStrictEqual(again.body, answer.body)) {
        replayMismatches++;
        if (replayMismatches <= 5)
          problems.push(`replay of ${request.txId}: ${again.status} ${JSON.stringify(again.body)} vs ${JSON.stringify(answer.body)}`);
      }
    }
    // Read-your-writes on the read models before they are compared.
    const [head] = await readHead(dataDir);
    if (head !== undefined) {
      const caught = await call(agent, service.url, 'GET', `/v1/partners?minPosition=${head}`, ADMIN_KEY);
      if (caught.status !== 200) problems.push(`read models did not reach ${head}: ${caught.status}`);
    }
  } finally {
    await agent.close();
    service.child.kill('SIGTERM');
    await service.exited;
  }

  // Every acknowledged transaction exactly once in the store.
  const store = SqliteEventStore.open(join(dataDir, 'ledger.db'));
  const seen = new Map<string, number>();
  let events = 0;
  try {
    for (const e of await store.readAll()) {
      events++;
      const kind = (Object.keys(TX_TYPES) as Kind[]).find((k) => TX_TYPES[k] === e.type);
      if (kind) seen.set(`${e.type}|${String(e.data.txId)}`, (seen.get(`${e.type}|${String(e.data.txId)}`) ?? 0) + 1);
    }
  } finally {
    await store.close();
  }
  let lost = 0;
  let duplicated = 0;
  for (const { request } of acknowledged.values()) {
    const count = seen.get(`${TX_TYPES[request.kind]}|${request.txId}`) ?? 0;
    if (count === 0) lost++;
    if (count > 1) duplicated++;
  }
  // Nothing else was written: no transaction that was never acknowledged.
  const extra = [...seen.keys()].filter((k) => !acknowledged.has(k.split('|')[1]));
  if (extra.length > 0) problems.push(`${extra.length} transactions in the store were never acknowledged (first: ${extra[0]})`);

  const verify = await runCli(dataDir, ['verify']);
  if (verify.code !== 0) problems.push(`ledger verify exited ${verify.code}: ${verify.stdout.slice(-2_000)}`);
  const projected = dumpReadStore(dataDir);
  const rebuild = await runCli(dataDir, ['rebuild']);
  if (rebuild.code !== 0) problems.push(`ledger rebuild exited ${rebuild.code}: ${rebuild.stderr}`);
  const readModelsEqualRebuild = isDeepStrictEqual(projected, dumpReadStore(dataDir));
  if (!readModelsEqualRebuild) problems.push('the read models differ from a rebuild');

  return {
    rounds,
    acknowledged: acknowledged.size,
    lost,
    duplicated,
    reposted,
    repostsThatWereWritten,
    refused,
    replayMismatches,
    readModelsEqualRebuild,
    verifyExitCode: verify.code,
    events,
    problems,
  };
}

async function readHead(dataDir: string): Promise<[number | undefined]> {
  const store = SqliteEventStore.open(join(dataDir, 'ledger.db'));
  try {
    const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
    return [last?.position];
  } finally {
    await store.close();
  }
}

function dumpReadStore(dataDir: string): Record<string, unknown[]> {
  const store = ReadStore.open(join(dataDir, 'read.db'), { readonly: true });
  try {
    return store.dump();
  } finally {
    store.close();
  }
}

/**
 * A POST as a well-behaved till makes it: told to slow down (429, the per-key rate limit the
 * service runs with by default), it waits as Retry-After says and posts the same request again.
 * On a fast machine the replay loop alone goes past 1,000 requests a second with one key.
 */
async function postPolitely(agent: Agent, url: string, path: string, key: string, body: object): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const answer = await call(agent, url, 'POST', path, key, body);
    if (answer.status !== 429 || attempt === 20) return answer;
    await new Promise((resolve) => setTimeout(resolve, 1_000 * (Number(answer.headers['retry-after']) || 1)));
  }
}

function runCli(dataDir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dataDir, LEDGER_EVENTSTORE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
