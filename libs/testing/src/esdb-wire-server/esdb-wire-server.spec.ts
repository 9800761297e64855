import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  ResolvedEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { ServerFeaturesClient } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb';
import { Empty, StreamIdentifier } from '@eventstore/db-client/generated/shared_pb';
import { StreamsClient } from '@eventstore/db-client/generated/streams_grpc_pb';
import { DeleteReq } from '@eventstore/db-client/generated/streams_pb';
import { EsdbWireServer } from './esdb-wire-server';

const event = (type: string, id: string = randomUUID()) => jsonEvent({ id, type, data: {} });

async function readAll(client: EventStoreDBClient, options: Parameters<EventStoreDBClient['readAll']>[0] = {}) {
  const out = [];
  for await (const e of client.readAll(options)) out.push(e.event!);
  return out;
}

async function readStream(client: EventStoreDBClient, stream: string, options: Parameters<EventStoreDBClient['readStream']>[1] = {}) {
  const out = [];
  for await (const e of client.readStream(stream, options)) out.push(e.event!);
  return out;
}

describe('EsdbWireServer', () => {
  let server: EsdbWireServer;
  let client: EventStoreDBClient;

  beforeEach(async () => {
    server = await EsdbWireServer.start();
    client = EventStoreDBClient.connectionString(server.connectionString);
  });

  afterEach(async () => {
    await client.dispose();
    await server.stop();
  });

  describe('server features and unsupported calls', () => {
    it('advertises Streams.Read and Streams.Append but not BatchAppend', async () => {
      const features = new ServerFeaturesClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const methods = await new Promise<SupportedMethods>((resolve, reject) =>
        features.getSupportedMethods(new Empty(), (err, res) => (err ? reject(err) : resolve(res))),
      );
      features.close();
      const names = methods.getMethodsList().map((m) => `${m.getServiceName()}/${m.getMethodName()}`);
      expect(names).toContain('event_store.client.streams.streams/read');
      expect(names).toContain('event_store.client.streams.streams/append');
      expect(names.some((n) => n.endsWith('/batchappend'))).toBe(false);
    });

    it('answers UNIMPLEMENTED for a Streams method it does not implement and for unknown services', async () => {
      const streams = new StreamsClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const req = new DeleteReq();
      const options = new DeleteReq.Options();
      options.setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from('s-1')));
      options.setAny(new Empty());
      req.setOptions(options);
      const code = await new Promise<number>((resolve) => streams.delete(req, (err) => resolve(err?.code ?? 0)));
      streams.close();
      expect(code).toBe(grpc.status.UNIMPLEMENTED);

      await expect(client.listProjections()).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    });
  });

  describe('the log', () => {
    it('starts with $-typed system events of its own', async () => {
      const events = await readAll(client);
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events.every((e) => e.type.startsWith('$') && e.streamId.startsWith('$'))).toBe(true);
    });

    it('gives commit positions that increase but are not consecutive', async () => {
      await client.appendToStream('s-1', [event('A'), event('B'), event('C')]);
      const positions = (await readAll(client)).map((e) => e.position.commit);
      for (let i = 1; i < positions.length; i++) {
        expect(positions[i]).toBeGreaterThan(positions[i - 1] + 1n);
      }
    });

    it('reports created as 100-ns ticks since the Unix epoch', async () => {
      await server.stop();
      const ticks = 17_000_000_000_001_234n; // 2023-11-14T22:13:20.000Z and 123.4 µs
      server = await EsdbWireServer.start({ log: { clock: () => ticks } });
      const pinned = EventStoreDBClient.connectionString(server.connectionString);
      await pinned.appendToStream('s-1', event('A'));
      const [read] = await readStream(pinned, 's-1');
      await pinned.dispose();
      expect(read.created.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    });
  });

  describe('Streams.Append', () => {
    it('answers a wrong expected version as a reply, with the current revision', async () => {
      await client.appendToStream('s-1', [event('A'), event('B')], { expectedRevision: 'no_stream' });
      const err = await client.appendToStream('s-1', event('C'), { expectedRevision: 0n }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WrongExpectedVersionError);
      expect(err).toMatchObject({ streamName: 's-1', expectedVersion: 0n, actualVersion: 1n });
    });

    it('reports no_stream as the actual version of a missing stream', async () => {
      const err = await client.appendToStream('s-1', event('A'), { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ expectedVersion: 'stream_exists', actualVersion: 'no_stream' });
    });

    it('accepts a re-append of the same event ids without writing them again', async () => {
      const batch = [event('A'), event('B')];
      const first = await client.appendToStream('s-1', batch, { expectedRevision: 'no_stream' });
      await client.appendToStream('s-1', event('C'), { expectedRevision: 1n });

      const retry = await client.appendToStream('s-1', batch, { expectedRevision: 'no_stream' });
      const retryAny = await client.appendToStream('s-1', batch, { expectedRevision: 'any' });

      expect(retry).toEqual(first);
      expect(retryAny).toEqual(first);
      expect((await readStream(client, 's-1')).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    it('refuses a batch that is only partly a re-append', async () => {
      const a = event('A');
      await client.appendToStream('s-1', [a, event('B')], { expectedRevision: 'no_stream' });
      await expect(client.appendToStream('s-1', [a, event('X')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedVersionError,
      );
    });
  });

  describe('Streams.Read', () => {
    beforeEach(async () => {
      await client.appendToStream(
        's-1',
        ['A', 'B', 'C', 'D'].map((t) => event(t)),
      );
      await client.appendToStream('s-2', event('X'));
    });

    it('reads a stream forwards and backwards, from a revision, with a count', async () => {
      const types = (events: { type: string }[]) => events.map((e) => e.type);
      expect(types(await readStream(client, 's-1'))).toEqual(['A', 'B', 'C', 'D']);
      expect(types(await readStream(client, 's-1', { fromRevision: 1n, maxCount: 2 }))).toEqual(['B', 'C']);
      expect(types(await readStream(client, 's-1', { direction: BACKWARDS, fromRevision: END }))).toEqual(['D', 'C', 'B', 'A']);
      expect(types(await readStream(client, 's-1', { direction: BACKWARDS, fromRevision: 2n, maxCount: 2 }))).toEqual(['C', 'B']);
    });

    it('answers stream_not_found for a missing stream', async () => {
      await expect(readStream(client, 'nope')).rejects.toBeInstanceOf(StreamNotFoundError);
    });

    it('reads $all forwards from a position inclusive and backwards from it exclusive, like a node', async () => {
      const all = await readAll(client);
      const c = all.find((e) => e.type === 'C')!;
      const forwards = await readAll(client, { fromPosition: c.position, maxCount: 2 });
      const backwards = await readAll(client, { fromPosition: c.position, direction: BACKWARDS, maxCount: 2 });
      expect(forwards.map((e) => e.type)).toEqual(['C', 'D']);
      expect(backwards.map((e) => e.type)).toEqual(['B', 'A']);
      expect((await readAll(client, { direction: BACKWARDS, fromPosition: END, maxCount: 1 }))[0].type).toBe('X');
      expect(await readAll(client, { fromPosition: END })).toEqual([]);
    });
  });

  describe('subscriptions', () => {
    it('sends confirmation, catch-up events, caught_up, then live events', async () => {
      await client.appendToStream('s-1', [event('A'), event('B')]);
      const subscription = client.subscribeToStream('s-1', { fromRevision: START });
      const seen: string[] = [];
      subscription.on('confirmation', () => seen.push('confirmation'));
      subscription.on('caughtUp', () => seen.push('caughtUp'));
      const received: ResolvedEvent[] = [];
      for await (const e of subscription) {
        seen.push(e.event!.type);
        received.push(e);
        if (received.length === 2) await client.appendToStream('s-1', event('C'));
        if (received.length === 3) break;
      }
      await subscription.unsubscribe();
      expect(seen).toEqual(['confirmation', 'A', 'B', 'caughtUp', 'C']);
    });

    it('subscribes to $all after a position, skipping nothing between catch-up and live', async () => {
      await client.appendToStream('s-1', [event('A'), event('B')]);
      const a = (await readAll(client)).find((e) => e.type === 'A')!;
      const subscription = client.subscribeToAll({ fromPosition: a.position });
      const types: string[] = [];
      let live = 0;
      for await (const e of subscription) {
        if (e.event!.type.startsWith('$')) continue;
        types.push(e.event!.type);
        if (types.length === 1) {
          // Appends racing the catch-up must each arrive once.
          void client.appendToStream('s-2', event('C'));
          void client.appendToStream('s-3', event('D'));
        }
        if (++live === 3) break;
      }
      await subscription.unsubscribe();
      expect(types[0]).toBe('B');
      expect(types.slice(1).sort()).toEqual(['C', 'D']);
    });

    it('subscribes to $all from the end: new events only', async () => {
      await client.appendToStream('s-1', event('A'));
      const subscription = client.subscribeToAll({ fromPosition: END });
      subscription.once('caughtUp', () => void client.appendToStream('s-1', event('B')));
      let type = '';
      for await (const e of subscription) {
        type = e.event!.type;
        break;
      }
      await subscription.unsubscribe();
      expect(type).toBe('B');
    });
  });

  describe('restart', () => {
    it('comes back on the same port with the same data', async () => {
      await client.appendToStream('s-1', event('A'));
      const port = server.port;
      await server.restart();
      expect(server.port).toBe(port);

      const again = EventStoreDBClient.connectionString(server.connectionString);
      expect((await readStream(again, 's-1')).map((e) => e.type)).toEqual(['A']);
      await again.dispose();
    });

    it('can be stopped and started by another instance on the same port and data', async () => {
      await client.appendToStream('s-1', event('A'));
      await server.stop();
      server = await EsdbWireServer.start({ port: server.port, data: server.data });
      const again = EventStoreDBClient.connectionString(server.connectionString);
      expect((await readStream(again, 's-1')).map((e) => e.type)).toEqual(['A']);
      await again.dispose();
    });

    it('stops, and can start again on its port, while a peer keeps its side of a connection open', async () => {
      // Just enough HTTP/2 to open a connection (preface and empty SETTINGS); the peer then
      // never ends its side, as a client that is busy or gone without closing would not.
      await client.appendToStream('s-1', event('A'));
      const peer = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
      peer.on('data', () => undefined);
      peer.on('error', () => undefined);
      await new Promise((resolve) => peer.once('connect', resolve));
      const greeted = new Promise((resolve) => peer.once('data', resolve));
      peer.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      await greeted;
      try {
        const stopped = await Promise.race([
          server.stop().then(() => 'stopped'),
          new Promise((resolve) => setTimeout(() => resolve('still stopping'), 20_000).unref()),
        ]);
        expect(stopped).toBe('stopped');
        server = await EsdbWireServer.start({ port: server.port, data: server.data });
        const again = EventStoreDBClient.connectionString(server.connectionString);
        expect((await readStream(again, 's-1')).map((e) => e.type)).toEqual(['A']);
        await again.dispose();
      } finally {
        peer.destroy();
      }
    });

    it('ends an open subscription with UNAVAILABLE when it stops', async () => {
      const subscription = client.subscribeToAll({ fromPosition: START });
      const outcome = (async () => {
        for await (const e of subscription) {
          if (e.event!.streamId === 's-1') await server.stop();
        }
        return 'ended';
      })().catch((err: { code?: number }) => err.code);
      await client.appendToStream('s-1', event('A'));
      expect(await outcome).toBe(grpc.status.UNAVAILABLE);
    });
  });

  it('reads every event of a long stream, in order, across read slices', async () => {
    const types = Array.from({ length: 1200 }, (_, i) => `E${i}`);
    for (let i = 0; i < types.length; i += 300) {
      await client.appendToStream(
        'long',
        types.slice(i, i + 300).map((t) => event(t)),
      );
    }
    const read = await readStream(client, 'long', { direction: FORWARDS });
    expect(read.map((e) => e.type)).toEqual(types);
  });
});
