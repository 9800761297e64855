/**
 * The bare baseline of the write-path benchmarks, with no project code at all: fastify, and
 * better-sqlite3 in WAL mode with synchronous=FULL. POST /insert stores the request body as one
 * row and answers only after the row is durable. Requests that arrive while a commit is pending
 * share the next transaction (group commit, one fsync), which is the least a durable HTTP
 * service must do per request.
 *
 *   node bare-server.js <dir>     prints `{"ready":true,"port":…}` on stdout when listening
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

interface Pending {
  body: string;
  done: (position: number) => void;
  failed: (err: unknown) => void;
}

async function bare(dir: string): Promise<void> {
  const db = new Database(join(dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS rows (position INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, recorded_at TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO rows (body, recorded_at) VALUES (?, ?)');
  let queue: Pending[] = [];
  let scheduled = false;
  const commit = db.transaction((batch: Pending[]) => {
    const at = new Date().toISOString();
    return batch.map((p) => Number(insert.run(p.body, at).lastInsertRowid));
  });
  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    try {
      const positions = commit(batch);
      batch.forEach((p, i) => p.done(positions[i]));
    } catch (err) {
      batch.forEach((p) => p.failed(err));
    }
  };

  const app = Fastify({ logger: false });
  app.post('/insert', async (request, reply) => {
    const body = JSON.stringify(request.body);
    const position = await new Promise<number>((done, failed) => {
      queue.push({ body, done, failed });
      if (!scheduled) {
        scheduled = true;
        // Whatever else arrives in this turn of the event loop joins the same commit.
        setImmediate(flush);
      }
    });
    return reply.code(201).send({ position });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  process.stdout.write(JSON.stringify({ ready: true, port }) + '\n');
}

if (require.main === module) {
  bare(process.argv[2]).catch((err) => {
    process.stderr.write(`bare server failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
