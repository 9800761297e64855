'use strict';
// Child process of sqlite-durability.spec.ts: appends through the compiled SqliteEventStore
// as fast as it can, from many concurrent writers so that group commit batches them, and
// prints one JSON line per ACKNOWLEDGED append. The parent kills it with SIGKILL mid-run and
// then checks that every printed append is on disk. Plain JavaScript: it runs without jest
// or a TypeScript loader, against dist/ (built by `npm run build`).
//
// argv: <compiled sqlite-event-store.js> <database file> <writers per own stream> <writers on the shared stream> <inline|worker>

const { randomUUID } = require('node:crypto');

const [adapterPath, file, ownWritersArg, sharedWritersArg, writer] = process.argv.slice(2);
const { SqliteEventStore } = require(adapterPath);

const OWN_WRITERS = Number(ownWritersArg);
const SHARED_WRITERS = Number(sharedWritersArg);
const SHARED_STREAM = 'durable-shared';
// The parent kills us long before this; the bound only keeps a lost child from running forever.
const APPENDS_PER_WRITER_MAX = 100_000;
const STATS_EVERY_ACKS = 100;
const ATTEMPTS_MAX = 10_000;

const store = SqliteEventStore.open(file, { writer });
let acks = 0;

function print(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function eventsFor(stream, writer, n) {
  const count = 1 + (n % 3);
  return Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    type: 'DurabilityTicked',
    data: {
      writer,
      n,
      i,
      pad: 'é'.repeat((n * 7 + i) % 300),
      large: Number.MAX_SAFE_INTEGER - n,
      nested: { stream, list: [n, i, 'ü'] },
    },
    metadata: { pid: process.pid, writer },
  }));
}

function acknowledge(stream, events, result) {
  acks += 1;
  print({
    ack: {
      stream,
      firstRevision: result.nextExpectedRevision - events.length + 1,
      lastRevision: result.nextExpectedRevision,
      position: result.position,
      events: events.map((e) => ({ eventId: e.eventId, data: e.data, metadata: e.metadata })),
    },
  });
  if (acks % STATS_EVERY_ACKS === 0) print({ stats: store.stats() });
}

async function currentRevision(stream) {
  const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
  return last === undefined ? 'no_stream' : last.revision;
}

// One writer per stream: its expected revision is always exact.
async function ownStreamWriter(writer) {
  const stream = `durable-${writer}`;
  let expectedRevision = await currentRevision(stream);
  for (let n = 0; n < APPENDS_PER_WRITER_MAX; n++) {
    const events = eventsFor(stream, writer, n);
    const result = await store.appendToStream(stream, events, { expectedRevision });
    acknowledge(stream, events, result);
    expectedRevision = result.nextExpectedRevision;
  }
}

// Several writers on one stream, as command handlers do: read, append, on conflict retry.
async function sharedStreamWriter(writer) {
  for (let n = 0; n < APPENDS_PER_WRITER_MAX; n++) {
    const events = eventsFor(SHARED_STREAM, writer, n);
    for (let attempt = 1; ; attempt++) {
      // Loose: a writer may lose many races in a row; fairness is not what is under test.
      if (attempt > ATTEMPTS_MAX) throw new Error(`writer ${writer} lost ${ATTEMPTS_MAX} races in a row`);
      const expectedRevision = await currentRevision(SHARED_STREAM);
      try {
        const result = await store.appendToStream(SHARED_STREAM, events, { expectedRevision });
        acknowledge(SHARED_STREAM, events, result);
        break;
      } catch (error) {
        // Another writer landed first; anything else is a real failure.
        if (!(error instanceof Error && error.name === 'WrongExpectedVersion')) throw error;
      }
    }
  }
}

const writers = [
  ...Array.from({ length: OWN_WRITERS }, (_, w) => ownStreamWriter(w)),
  ...Array.from({ length: SHARED_WRITERS }, (_, w) => sharedStreamWriter(OWN_WRITERS + w)),
];
print({ started: { pid: process.pid, writers: writers.length } });
Promise.all(writers).then(
  () => {
    process.stderr.write('durability child: ran out of appends before being killed\n');
    process.exit(2);
  },
  (error) => {
    process.stderr.write(`durability child failed: ${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
