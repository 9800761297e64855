import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  AllSubscription,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  JsonObject,
  RecordedEvent,
  ScanAllOptions,
  WrongExpectedVersion,
} from '../port';

export interface OpenedEventStore {
  store: EventStore;
  /** Closes the store and removes whatever `open` created (files, servers). */
  cleanup: () => Promise<void>;
}

/**
 * The one suite every adapter passes (memory, sqlite, esdb). It talks to the port only,
 * and opens the store once, so it also runs against a shared server: every test uses its
 * own streams, and reads of $all filter on them. Positions are compared, never computed.
 */
export function describeEventStoreContract(adapterName: string, open: () => Promise<OpenedEventStore>): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let store: EventStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });

    afterAll(async () => {
      await cleanup?.();
    });

    describe('appendToStream', () => {
      it("'no_stream' on a new stream creates it at revision 0", async () => {
        const s = streamName('new');
        const e = event();
        const result = await store.appendToStream(s, [e], { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(0);
        expect(Number.isSafeInteger(result.position)).toBe(true);
        const read = await store.readStream(s);
        expect(read).toHaveLength(1);
        expect(read[0]).toMatchObject({ streamId: s, revision: 0, position: result.position, eventId: e.eventId });
      });

      it("'no_stream' on an existing stream is refused with its current revision", async () => {
        const s = await streamWith(2);
        await expectWrongExpectedVersion(store.appendToStream(s, [event()], { expectedRevision: 'no_stream' }), s, 'no_stream', 1);
        expect(await revisionsOf(s)).toEqual([0, 1]);
      });

      it('the exact current revision appends after it', async () => {
        const s = streamName('exact');
        const first = await store.appendToStream(s, [event(), event()], { expectedRevision: 'no_stream' });
        const second = await store.appendToStream(s, [event()], { expectedRevision: 1 });
        expect(second.nextExpectedRevision).toBe(2);
        expect(second.position).toBeGreaterThan(first.position);
        expect(await revisionsOf(s)).toEqual([0, 1, 2]);
      });

      it('a revision behind or ahead of the stream is refused', async () => {
        const s = await streamWith(2);
        await expectWrongExpectedVersion(store.appendToStream(s, [event()], { expectedRevision: 0 }), s, 0, 1);
        await expectWrongExpectedVersion(store.appendToStream(s, [event()], { expectedRevision: 2 }), s, 2, 1);
        await expectWrongExpectedVersion(store.appendToStream(s, [event()], { expectedRevision: 9 }), s, 9, 1);
        expect(await revisionsOf(s)).toEqual([0, 1]);
      });

      it('an exact revision on a missing stream is refused and does not create it', async () => {
        const s = streamName('missing-exact');
        await expectWrongExpectedVersion(store.appendToStream(s, [event()], { expectedRevision: 0 }), s, 0, 'no_stream');
        expect(await store.readStream(s)).toEqual([]);
      });

      it("'stream_exists' on a missing stream is refused and does not create it", async () => {
        const s = streamName('missing-exists');
        await expectWrongExpectedVersion(
          store.appendToStream(s, [event()], { expectedRevision: 'stream_exists' }),
          s,
          'stream_exists',
          'no_stream',
        );
        expect(await store.readStream(s)).toEqual([]);
      });

      it("'stream_exists' on an existing stream appends", async () => {
        const s = await streamWith(1);
        const result = await store.appendToStream(s, [event(), event()], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(2);
        expect(await revisionsOf(s)).toEqual([0, 1, 2]);
      });

      it("'any' appends to a missing stream and to an existing one", async () => {
        const s = streamName('any');
        const first = await store.appendToStream(s, [event()], { expectedRevision: 'any' });
        expect(first.nextExpectedRevision).toBe(0);
        const second = await store.appendToStream(s, [event(), event()], { expectedRevision: 'any' });
        expect(second.nextExpectedRevision).toBe(2);
        expect(await revisionsOf(s)).toEqual([0, 1, 2]);
      });

      it('WrongExpectedVersion is an Error that names the stream and both revisions', async () => {
        const s = await streamWith(3);
        const error = await rejectionOf(store.appendToStream(s, [event()], { expectedRevision: 1 }));
        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect(error).toBeInstanceOf(Error);
        const wrong = error as WrongExpectedVersion;
        expect(wrong.name).toBe('WrongExpectedVersion');
        expect([wrong.streamId, wrong.expected, wrong.actual]).toEqual([s, 1, 2]);
        expect(wrong.message).toContain(s);
      });

      it('a refused append writes nothing, to the stream or to $all', async () => {
        const s = streamName('refused');
        const first = await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const refused = [event(), event(), event()];
        await expectWrongExpectedVersion(store.appendToStream(s, refused, { expectedRevision: 5 }), s, 5, 0);
        expect(await revisionsOf(s)).toEqual([0]);
        const all = await store.readAll({ fromPosition: first.position });
        const refusedIds = new Set(refused.map((e) => e.eventId));
        expect(all.filter((e) => refusedIds.has(e.eventId))).toEqual([]);
        expect(all.filter((e) => e.streamId === s).map((e) => e.position)).toEqual([first.position]);
      });

      it('a malformed expected revision is a RangeError and writes nothing', async () => {
        const s = streamName('malformed');
        for (const expectedRevision of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
          const error = await rejectionOf(store.appendToStream(s, [event()], { expectedRevision }));
          expect(error).toBeInstanceOf(RangeError);
        }
        expect(await store.readStream(s)).toEqual([]);
      });

      it('revisions run on from 0 without gaps and each result names its last event', async () => {
        const s = streamName('revisions');
        const sizes = [1, 3, 2];
        const results = [];
        let expectedRevision: ExpectedRevision = 'no_stream';
        for (const size of sizes) {
          const result = await store.appendToStream(s, events(size), { expectedRevision });
          results.push(result);
          expectedRevision = result.nextExpectedRevision;
        }
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([0, 3, 5]);
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5]);
        expectStrictlyIncreasing(read.map((e) => e.position));
        expect(results.map((r) => r.position)).toEqual([read[0].position, read[3].position, read[5].position]);
      });

      it('a multi-event append is atomic: a refused one writes none of its events', async () => {
        const s = await streamWith(1);
        await expectWrongExpectedVersion(store.appendToStream(s, events(4), { expectedRevision: 'no_stream' }), s, 'no_stream', 0);
        expect(await revisionsOf(s)).toEqual([0]);
      });

      it('racing multi-event appends: one lands whole, the other not at all', async () => {
        const s = await streamWith(1);
        const a = events(3);
        const b = events(3);
        const outcomes = await Promise.allSettled([
          store.appendToStream(s, a, { expectedRevision: 0 }),
          store.appendToStream(s, b, { expectedRevision: 0 }),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const written = (await store.readStream(s, { fromRevision: 1 })).map((e) => e.eventId);
        expect([ids(a), ids(b)]).toContainEqual(written);
      });

      it('a multi-event append is contiguous in its stream and in $all', async () => {
        const batches = Array.from({ length: 10 }, (_, i) => ({ stream: streamName(`contiguous${i % 3}`), events: events(3) }));
        const results = await Promise.all(batches.map((b) => store.appendToStream(b.stream, b.events, { expectedRevision: 'any' })));
        expect(new Set(results.map((r) => r.position)).size).toBe(batches.length);
        const everything = await readMine(new Set(batches.map((b) => b.stream)));
        expect(everything.length).toBe(30);
        for (const b of batches) {
          const at = everything.findIndex((e) => e.eventId === b.events[0].eventId);
          const slice = everything.slice(at, at + 3);
          expect(slice.map((e) => e.eventId)).toEqual(ids(b.events));
          expect(slice.map((e) => e.streamId)).toEqual([b.stream, b.stream, b.stream]);
          const first = slice[0].revision;
          expect(slice.map((e) => e.revision)).toEqual([first, first + 1, first + 2]);
        }
      });

      it('behaves like a model of streams under random appends', async () => {
        const command = fc.record({
          stream: fc.integer({ min: 0, max: 2 }),
          expected: fc.oneof(fc.constantFrom<ExpectedRevision>('any', 'no_stream', 'stream_exists'), fc.integer({ min: 0, max: 4 })),
          count: fc.integer({ min: 1, max: 3 }),
        });
        await fc.assert(
          fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
            const names = [0, 1, 2].map((i) => streamName(`model${i}`));
            const model: string[][] = [[], [], []];
            for (const c of commands) {
              const s = names[c.stream];
              const current = model[c.stream].length - 1;
              const batch = events(c.count);
              // Written out again rather than reusing the port's helper, so a slip there shows here.
              const accepted =
                c.expected === 'any' ||
                (c.expected === 'no_stream' && current === -1) ||
                (c.expected === 'stream_exists' && current >= 0) ||
                c.expected === current;
              if (accepted) {
                const result = await store.appendToStream(s, batch, { expectedRevision: c.expected });
                expect(result.nextExpectedRevision).toBe(current + c.count);
                model[c.stream].push(...ids(batch));
              } else {
                await expectWrongExpectedVersion(
                  store.appendToStream(s, batch, { expectedRevision: c.expected }),
                  s,
                  c.expected,
                  current === -1 ? 'no_stream' : current,
                );
              }
            }
            for (const [i, s] of names.entries()) {
              const read = await store.readStream(s);
              expect(read.map((e) => e.eventId)).toEqual(model[i]);
              expect(read.map((e) => e.revision)).toEqual(model[i].map((_, r) => r));
            }
          }),
          { numRuns: 25 },
        );
      });
    });

    // Optional in the port: adapters without multi-stream transactions (esdb) leave it out.
    describe('pipelined appends (where the adapter offers them)', () => {
      const offered = () => store.pipelinedAppends === true;

      it('an append chained onto one not yet acknowledged lands after it, in call order', async () => {
        if (!offered()) return expect(store.pipelinedAppends).toBeUndefined();
        const s = await streamWith(1);
        const [first] = await store.readStream(s);
        const a = events(2);
        const b = events(1);
        // Both calls made before either is acknowledged: b names a's last event.
        const pending = [
          store.appendToStream(s, a, { expectedRevision: 0, expectedLastEventId: first.eventId }),
          store.appendToStream(s, b, { expectedRevision: 2, expectedLastEventId: a[1].eventId }),
        ];
        const [ra, rb] = await Promise.all(pending);
        expect([ra.nextExpectedRevision, rb.nextExpectedRevision]).toEqual([2, 3]);
        expect((await store.readStream(s)).map((e) => e.eventId)).toEqual([first.eventId, ...ids(a), ...ids(b)]);
      });

      it('when the append it is chained onto is refused, it is refused too, even where another writer brought the stream to its revision', async () => {
        if (!offered()) return expect(store.pipelinedAppends).toBeUndefined();
        const s = await streamWith(1);
        const [first] = await store.readStream(s);
        const other = events(1);
        const a = events(1);
        const b = events(1);
        // Another writer takes revision 1 first; a (expecting 0) is refused; b, chained onto a,
        // expects revision 1, which the stream now has, but not with a's event.
        const pending = [
          store.appendToStream(s, other, { expectedRevision: 0 }),
          store.appendToStream(s, a, { expectedRevision: 0, expectedLastEventId: first.eventId }),
          store.appendToStream(s, b, { expectedRevision: 1, expectedLastEventId: a[0].eventId }),
        ];
        const [ro, ra, rb] = await Promise.allSettled(pending);
        expect(ro.status).toBe('fulfilled');
        expect(ra.status === 'rejected' && ra.reason instanceof WrongExpectedVersion).toBe(true);
        expect(rb.status === 'rejected' && rb.reason instanceof WrongExpectedVersion).toBe(true);
        expect((await store.readStream(s)).map((e) => e.eventId)).toEqual([first.eventId, other[0].eventId]);
      });

      it('expectedLastEventId needs a numeric expectedRevision', async () => {
        if (!offered()) return expect(store.pipelinedAppends).toBeUndefined();
        const s = await streamWith(1);
        await expect(store.appendToStream(s, events(1), { expectedRevision: 'any', expectedLastEventId: 'x' })).rejects.toBeInstanceOf(
          TypeError,
        );
        expect(await revisionsOf(s)).toEqual([0]);
      });
    });

    describe('appendToStreams (where the adapter offers it)', () => {
      const atomic = () => store.appendToStreams!.bind(store);
      const offered = () => typeof store.appendToStreams === 'function';

      it('writes every part, in the order given, each at its own revision', async () => {
        if (!offered()) return expect(store.appendToStreams).toBeUndefined();
        const a = streamName('multi_a');
        const b = await streamWith(2);
        const ea = events(1);
        const eb = events(2);
        const results = await atomic()([
          { streamId: a, events: ea, expectedRevision: 'no_stream' },
          { streamId: b, events: eb, expectedRevision: 1 },
        ]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([0, 3]);
        const mine = await readMine(new Set([a, b]));
        const written = mine.filter((e) => [...ids(ea), ...ids(eb)].includes(e.eventId));
        expect(written.map((e) => e.eventId)).toEqual([...ids(ea), ...ids(eb)]);
        expect(results.map((r) => r.position)).toEqual([written[0].position, written[2].position]);
      });

      it('one failed check writes nothing to any stream and names the stream that failed', async () => {
        if (!offered()) return expect(store.appendToStreams).toBeUndefined();
        const a = streamName('multi_fresh');
        const b = await streamWith(1);
        await expectWrongExpectedVersion(
          atomic()([
            { streamId: a, events: events(2), expectedRevision: 'no_stream' },
            { streamId: b, events: events(1), expectedRevision: 'no_stream' },
          ]),
          b,
          'no_stream',
          0,
        );
        expect(await store.readStream(a)).toEqual([]);
        expect(await revisionsOf(b)).toEqual([0]);
      });

      it('racing for the same no_stream stream with different partners: one unit lands whole, the other not at all', async () => {
        if (!offered()) return expect(store.appendToStreams).toBeUndefined();
        const shared = streamName('multi_claim');
        const [x, y] = [streamName('multi_x'), streamName('multi_y')];
        const outcomes = await Promise.allSettled(
          [x, y].map((other) =>
            atomic()([
              { streamId: shared, events: events(1), expectedRevision: 'no_stream' },
              { streamId: other, events: events(1), expectedRevision: 'no_stream' },
            ]),
          ),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(await revisionsOf(shared)).toEqual([0]);
        const lengths = [(await store.readStream(x)).length, (await store.readStream(y)).length];
        expect(lengths.sort()).toEqual([0, 1]);
      });

      it('the same stream twice, or no stream at all, is refused before anything is written', async () => {
        if (!offered()) return expect(store.appendToStreams).toBeUndefined();
        const s = streamName('multi_twice');
        await expect(
          atomic()([
            { streamId: s, events: events(1), expectedRevision: 'no_stream' },
            { streamId: s, events: events(1), expectedRevision: 0 },
          ]),
        ).rejects.toBeInstanceOf(TypeError);
        await expect(atomic()([])).rejects.toBeInstanceOf(TypeError);
        expect(await store.readStream(s)).toEqual([]);
      });
    });

    describe('readStream', () => {
      let s: string;
      let written: EventToAppend[];

      beforeAll(async () => {
        s = streamName('read');
        written = events(10);
        await store.appendToStream(s, written.slice(0, 4), { expectedRevision: 'no_stream' });
        await store.appendToStream(s, written.slice(4), { expectedRevision: 3 });
      });

      it('reads forwards from revision 0 by default', async () => {
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(read.map((e) => e.eventId)).toEqual(ids(written));
        expect(read.every((e) => e.streamId === s)).toBe(true);
      });

      it('reads forwards from a revision, at most maxCount events', async () => {
        expect(await revisionsOf(s, { fromRevision: 3, maxCount: 4 })).toEqual([3, 4, 5, 6]);
        expect(await revisionsOf(s, { fromRevision: 8, maxCount: 4 })).toEqual([8, 9]);
        expect(await revisionsOf(s, { maxCount: 2 })).toEqual([0, 1]);
        expect(await revisionsOf(s, { fromRevision: 9 })).toEqual([9]);
        expect(await revisionsOf(s, { fromRevision: 10 })).toEqual([]);
      });

      it('reads backwards from the last event by default', async () => {
        expect(await revisionsOf(s, { direction: 'backwards' })).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        expect(await revisionsOf(s, { direction: 'backwards', maxCount: 2 })).toEqual([9, 8]);
      });

      it('reads backwards from a revision, at most maxCount events', async () => {
        expect(await revisionsOf(s, { direction: 'backwards', fromRevision: 6, maxCount: 3 })).toEqual([6, 5, 4]);
        expect(await revisionsOf(s, { direction: 'backwards', fromRevision: 1, maxCount: 5 })).toEqual([1, 0]);
        expect(await revisionsOf(s, { direction: 'backwards', fromRevision: 0 })).toEqual([0]);
      });

      it('reads a missing stream as empty, in both directions', async () => {
        const missing = streamName('never-written');
        expect(await store.readStream(missing)).toEqual([]);
        expect(await store.readStream(missing, { direction: 'backwards' })).toEqual([]);
        expect(await store.readStream(missing, { fromRevision: 3, maxCount: 2 })).toEqual([]);
      });

      it('gives each event the same revision and position as $all does', async () => {
        const read = await store.readStream(s);
        const all = (await store.readAll({ fromPosition: read[0].position })).filter((e) => e.streamId === s);
        expect(all).toEqual(read);
      });

      it("metadata: 'hash' gives the same events with their metadata's hash (the rest may be left out), both ways", async () => {
        const hashed = streamName('read-hash');
        const appended = events(3).map((e, i) => ({ ...e, data: { n: i }, metadata: { hash: `h${i}`, correlationId: `c${i}` } }));
        await store.appendToStream(hashed, [...appended, event()], { expectedRevision: 'no_stream' });
        const whole = await store.readStream(hashed);
        const withoutMetadata = (e: RecordedEvent) => ({ ...e, metadata: undefined });
        for (const ask of [{}, { direction: 'backwards' as const, maxCount: 2 }, { fromRevision: 1, maxCount: 1 }]) {
          const read = await store.readStream(hashed, { ...ask, metadata: 'hash' });
          const expected = await store.readStream(hashed, ask);
          expect(read.map(withoutMetadata)).toEqual(expected.map(withoutMetadata));
          expect(read.map((e) => e.metadata.hash)).toEqual(expected.map((e) => e.metadata.hash));
        }
        // The last event was written without a hash: it has none in this view either.
        expect(whole.map((e) => e.metadata.hash)).toEqual(['h0', 'h1', 'h2', undefined]);
      });
    });

    describe('readAll', () => {
      let order: { stream: string; eventId: string }[];
      let positions: number[];

      // a0 b0 c0 | a1 a2 | b1 | c1 c2 c3 — the order of appends is the order of $all.
      beforeAll(async () => {
        const [a, b, c] = ['all-a', 'all-b', 'all-c'].map(streamName);
        const plan: [string, number][] = [
          [a, 1],
          [b, 1],
          [c, 1],
          [a, 2],
          [b, 1],
          [c, 3],
        ];
        order = [];
        for (const [stream, size] of plan) {
          const batch = events(size);
          await store.appendToStream(stream, batch, { expectedRevision: 'any' });
          order.push(...batch.map((e) => ({ stream, eventId: e.eventId })));
        }
        const streams = new Set([a, b, c]);
        const mine = await readMine(streams);
        expect(mine.map((e) => e.eventId)).toEqual(order.map((o) => o.eventId));
        positions = mine.map((e) => e.position);
      });

      const idsFrom = (read: RecordedEvent[]) => {
        const wanted = new Set(order.map((o) => o.eventId));
        return read.filter((e) => wanted.has(e.eventId)).map((e) => e.eventId);
      };

      it('reads forwards across streams in append order, with strictly increasing positions', async () => {
        const read = await store.readAll({ fromPosition: positions[0] });
        expect(idsFrom(read)).toEqual(order.map((o) => o.eventId));
        expectStrictlyIncreasing(read.map((e) => e.position));
      });

      it('includes the event at fromPosition when reading forwards', async () => {
        const read = await store.readAll({ fromPosition: positions[3], maxCount: 3 });
        expect(read.map((e) => e.eventId)).toEqual(order.slice(3, 6).map((o) => o.eventId));
        expect(read[0].position).toBe(positions[3]);
      });

      it('reads at most maxCount events', async () => {
        expect(await store.readAll({ fromPosition: positions[0], maxCount: 1 })).toHaveLength(1);
        const two = await store.readAll({ fromPosition: positions[0], maxCount: 2 });
        expect(two.map((e) => e.position)).toEqual(positions.slice(0, 2));
      });

      it('reads backwards from a position (inclusive) or from the end', async () => {
        const back = await store.readAll({ direction: 'backwards', fromPosition: positions[4], maxCount: 3 });
        expect(back.map((e) => e.eventId)).toEqual(
          order
            .slice(2, 5)
            .reverse()
            .map((o) => o.eventId),
        );
        const last = await store.readAll({ direction: 'backwards', maxCount: 1 });
        expect(last.map((e) => e.eventId)).toEqual([order[order.length - 1].eventId]);
        const whole = await store.readAll({ direction: 'backwards', fromPosition: positions[positions.length - 1] });
        expect(idsFrom(whole)).toEqual(order.map((o) => o.eventId).reverse());
        expectStrictlyIncreasing(whole.map((e) => e.position).reverse());
      });

      it('reading forwards from the last position gives exactly the last event', async () => {
        const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const read = await store.readAll({ fromPosition: last.position });
        expect(read).toEqual([last]);
      });

      it('reads the start of $all when no position is given', async () => {
        const head = await store.readAll({ maxCount: 5 });
        expect(head.length).toBeGreaterThan(0);
        expect(head.length).toBeLessThanOrEqual(5);
        expectStrictlyIncreasing(head.map((e) => e.position));
        expect(head[0].position).toBeLessThanOrEqual(positions[0]);
      });
    });

    describe('what is stored', () => {
      const awkward: JsonObject = {
        nested: { deeper: { deepest: [1, [2, [3, { four: 4 }]]] }, empty: {}, none: [] },
        unicode: 'Привет, 世界 — ñandú, e\u0301, 🧾💳, \u2028\u2029, "quotes" \\ back\\slash \t\n',
        keysToo: { 'ключ 🔑': 'значение', '': 'empty key' },
        large: Number.MAX_SAFE_INTEGER,
        negative: Number.MIN_SAFE_INTEGER,
        zero: 0,
        flags: [true, false, null],
        blank: '',
      };

      it('round-trips data and metadata exactly, through readStream and readAll', async () => {
        const s = streamName('json');
        const e: EventToAppend = {
          eventId: randomUUID(),
          type: 'PointsAccrued.v2',
          data: awkward,
          metadata: { correlationId: randomUUID(), actor: { keyId: 'k-1', role: 'partner' }, awkward },
        };
        const result = await store.appendToStream(s, [e], { expectedRevision: 'no_stream' });
        const [fromStream] = await store.readStream(s);
        const [fromAll] = await store.readAll({ fromPosition: result.position, maxCount: 1 });
        for (const read of [fromStream, fromAll]) {
          expect(read.eventId).toBe(e.eventId);
          expect(read.type).toBe(e.type);
          expect(read.data).toStrictEqual(e.data);
          expect(read.metadata).toStrictEqual(e.metadata);
        }
      });

      it('stores JSON: what JSON.stringify writes is what comes back', async () => {
        const s = streamName('json-shape');
        const when = new Date('2025-03-01T10:00:00.000Z');
        await store.appendToStream(s, [{ ...event(), data: { when, dropped: undefined, kept: 1 } }], {
          expectedRevision: 'no_stream',
        });
        const [read] = await store.readStream(s);
        expect(read.data).toStrictEqual({ when: '2025-03-01T10:00:00.000Z', kept: 1 });
      });

      it('keeps its own copy: mutating what was appended or read changes nothing stored', async () => {
        const s = streamName('copy');
        const e = { ...event(), data: { list: [1, 2], inner: { x: 1 } } };
        await store.appendToStream(s, [e], { expectedRevision: 'no_stream' });
        e.data.list.push(3);
        e.data.inner.x = 2;
        const [first] = await store.readStream(s);
        (first.data.list as number[]).push(4);
        (first.metadata as Record<string, unknown>).sneaky = true;
        const [second] = await store.readStream(s);
        expect(second.data).toStrictEqual({ list: [1, 2], inner: { x: 1 } });
        expect(second.metadata).toStrictEqual({});
      });

      it('stamps recordedAt as an ISO 8601 UTC string with milliseconds, at store time', async () => {
        const s = streamName('recorded-at');
        const before = Date.now();
        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const after = Date.now();
        const [read] = await store.readStream(s);
        expect(read.recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        expect(new Date(read.recordedAt).toISOString()).toBe(read.recordedAt);
        // A server may stamp with its own clock; allow a little skew either way.
        const skewMs = 5_000;
        expect(Date.parse(read.recordedAt)).toBeGreaterThanOrEqual(before - skewMs);
        expect(Date.parse(read.recordedAt)).toBeLessThanOrEqual(after + skewMs);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from the start, then delivers live appends in order, each once', async () => {
        const s = streamName('sub-start');
        const other = streamName('sub-start-other');
        const early = events(3);
        await store.appendToStream(s, early.slice(0, 2), { expectedRevision: 'no_stream' });
        await store.appendToStream(s, early.slice(2), { expectedRevision: 1 });

        const feed = consume(store.subscribeToAll());
        try {
          await feed.until(() => feed.of(s).length === 3, 'catch-up of 3 events');
          const head = await store.readAll({ maxCount: 3 });
          expect(feed.events.slice(0, 3)).toEqual(head);

          const late = events(2);
          await store.appendToStream(s, late, { expectedRevision: 2 });
          const burst = Array.from({ length: 10 }, () => event());
          await Promise.all(burst.map((e) => store.appendToStream(other, [e], { expectedRevision: 'any' })));
          await feed.until(() => feed.of(s).length === 5 && feed.of(other).length === 10, 'live events');

          expect(feed.of(s).map((e) => e.eventId)).toEqual(ids([...early, ...late]));
          expect(feed.of(s).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
          expect(feed.of(other).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
          expect(new Set(feed.of(other).map((e) => e.eventId))).toEqual(new Set(ids(burst)));
          expectStrictlyIncreasing(feed.events.map((e) => e.position));
          const stored = await store.readAll({ fromPosition: feed.of(s)[0].position });
          expect(feed.events.filter((e) => e.position >= feed.of(s)[0].position)).toEqual(
            stored.filter((e) => e.position <= feed.events[feed.events.length - 1].position),
          );
        } finally {
          await feed.stop();
        }
      });

      it('from a checkpoint delivers only the events after it, then live ones', async () => {
        const s = streamName('sub-checkpoint');
        await store.appendToStream(s, events(4), { expectedRevision: 'no_stream' });
        const [, checkpointEvent] = await store.readStream(s);
        const checkpoint = checkpointEvent.position;

        const feed = consume(store.subscribeToAll({ fromPosition: checkpoint }));
        try {
          await feed.until(() => feed.of(s).length === 2, 'catch-up after the checkpoint');
          const [, next] = await store.readAll({ fromPosition: checkpoint, maxCount: 2 });
          expect(feed.events[0]).toEqual(next);
          expect(feed.events.every((e) => e.position > checkpoint)).toBe(true);

          await store.appendToStream(s, events(1), { expectedRevision: 3 });
          await feed.until(() => feed.of(s).length === 3, 'the live event');
          expect(feed.of(s).map((e) => e.revision)).toEqual([2, 3, 4]);
          expectStrictlyIncreasing(feed.events.map((e) => e.position));
        } finally {
          await feed.stop();
        }
      });

      it("metadata: 'none' delivers the same events, caught up and live; their metadata an object whose fields may be left out", async () => {
        const s = streamName('sub-no-metadata');
        const written = events(3).map((e, i) => ({ ...e, metadata: { hash: `h${i}`, correlationId: `c${i}` } }));
        const [before] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        await store.appendToStream(s, written.slice(0, 2), { expectedRevision: 'no_stream' });
        const feed = consume(store.subscribeToAll({ fromPosition: before?.position, metadata: 'none' }));
        try {
          await feed.until(() => feed.of(s).length === 2, 'catch-up');
          await store.appendToStream(s, written.slice(2), { expectedRevision: 1 });
          await feed.until(() => feed.of(s).length === 3, 'the live event');
          const withoutMetadata = (e: RecordedEvent) => ({ ...e, metadata: undefined });
          expect(feed.of(s).map(withoutMetadata)).toEqual((await store.readStream(s)).map(withoutMetadata));
          for (const e of feed.of(s)) expect(typeof e.metadata).toBe('object');
        } finally {
          await feed.stop();
        }
      });

      it('from the last position delivers only what is appended afterwards', async () => {
        const s = streamName('sub-tail');
        await store.appendToStream(s, events(2), { expectedRevision: 'no_stream' });
        const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const feed = consume(store.subscribeToAll({ fromPosition: last.position }));
        try {
          const e = event();
          await store.appendToStream(s, [e], { expectedRevision: 1 });
          await feed.until(() => feed.of(s).length === 1, 'the live event');
          expect(feed.events[0].eventId).toBe(e.eventId);
          expect(feed.events[0].revision).toBe(2);
        } finally {
          await feed.stop();
        }
      });

      it('catches up over more than one page in order', async () => {
        const s = streamName('sub-pages');
        const [before] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const total = 2_500;
        let expectedRevision: ExpectedRevision = 'no_stream';
        for (let i = 0; i < total / 250; i++) {
          const result = await store.appendToStream(s, events(250), { expectedRevision });
          expectedRevision = result.nextExpectedRevision;
        }
        const feed = consume(store.subscribeToAll({ fromPosition: before?.position }));
        try {
          await feed.until(() => feed.of(s).length === total, `${total} events`, 30_000);
          expect(feed.of(s).map((e) => e.revision)).toEqual(Array.from({ length: total }, (_, i) => i));
          expectStrictlyIncreasing(feed.events.map((e) => e.position));
        } finally {
          await feed.stop();
        }
      });

      it('stops on unsubscribe: the iteration ends and later appends are not delivered', async () => {
        const s = streamName('sub-stop');
        await store.appendToStream(s, [event()], { expectedRevision: 'no_stream' });
        const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const feed = consume(store.subscribeToAll({ fromPosition: last.position }));
        await store.appendToStream(s, [event()], { expectedRevision: 0 });
        await feed.until(() => feed.of(s).length === 1, 'the live event');

        await feed.stop();
        expect(feed.ended()).toBe(true);
        await store.appendToStream(s, [event()], { expectedRevision: 1 });
        await delay(300);
        expect(feed.of(s)).toHaveLength(1);
      });

      it('unsubscribing an idle subscription ends its iteration', async () => {
        const [last] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const feed = consume(store.subscribeToAll({ fromPosition: last.position }));
        await delay(50);
        await feed.stop();
        expect(feed.ended()).toBe(true);
        expect(feed.events).toEqual([]);
      });
    });

    describe('concurrency', () => {
      it('50 concurrent appends at one expected revision: exactly one lands, 49 are refused', async () => {
        const s = await streamWith(1);
        const attempts = Array.from({ length: 50 }, () => event());
        const outcomes = await Promise.allSettled(attempts.map((e) => store.appendToStream(s, [e], { expectedRevision: 0 })));
        const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ result: o.value, e: attempts[i] }] : []));
        const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(49);
        expect(won[0].result.nextExpectedRevision).toBe(1);
        for (const error of lost) {
          expect(error).toBeInstanceOf(WrongExpectedVersion);
          const wrong = error as WrongExpectedVersion;
          expect([wrong.streamId, wrong.expected, wrong.actual]).toEqual([s, 0, 1]);
        }
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0, 1]);
        expect(read[1].eventId).toBe(won[0].e.eventId);
      });

      it("50 concurrent 'no_stream' appends to a new stream: exactly one creates it", async () => {
        const s = streamName('race-create');
        const outcomes = await Promise.allSettled(
          Array.from({ length: 50 }, () => store.appendToStream(s, events(2), { expectedRevision: 'no_stream' })),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === 'rejected') {
            expect(o.reason).toBeInstanceOf(WrongExpectedVersion);
            expect((o.reason as WrongExpectedVersion).actual).toBe(1);
          }
        }
        expect(await revisionsOf(s)).toEqual([0, 1]);
      });

      it('concurrent appends to different streams all land, at distinct increasing positions', async () => {
        const streams = Array.from({ length: 50 }, (_, i) => streamName(`parallel${i}`));
        const results = await Promise.all(streams.map((s) => store.appendToStream(s, events(2), { expectedRevision: 'no_stream' })));
        expect(results.every((r) => r.nextExpectedRevision === 1)).toBe(true);
        expect(new Set(results.map((r) => r.position)).size).toBe(50);
        const read = await readMine(new Set(streams));
        expect(read).toHaveLength(100);
        expectStrictlyIncreasing(read.map((e) => e.position));
        for (const [i, s] of streams.entries()) {
          const own = read.filter((e) => e.streamId === s);
          expect(own.map((e) => e.revision)).toEqual([0, 1]);
          expect(own[1].position).toBe(results[i].position);
        }
      });

      it("concurrent 'any' appends to one stream all land, each contiguous", async () => {
        const s = streamName('race-any');
        const batches = Array.from({ length: 30 }, () => events(2));
        const results = await Promise.all(batches.map((b) => store.appendToStream(s, b, { expectedRevision: 'any' })));
        expect(results.map((r) => r.nextExpectedRevision).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 2 * i + 1));
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual(Array.from({ length: 60 }, (_, i) => i));
        for (const [i, b] of batches.entries()) {
          const at = read.findIndex((e) => e.eventId === b[0].eventId);
          expect(read[at + 1].eventId).toBe(b[1].eventId);
          expect(read[at + 1].revision).toBe(results[i].nextExpectedRevision);
        }
      });

      it('writers that reload and retry on a conflict all land, once each', async () => {
        const s = streamName('retry');
        const writers = 20;
        const attemptsMax = writers + 1; // each lost race means another writer landed
        const writer = async (n: number) => {
          for (let attempt = 1; attempt <= attemptsMax; attempt++) {
            const [last] = await store.readStream(s, { direction: 'backwards', maxCount: 1 });
            try {
              return await store.appendToStream(s, [{ ...event(), data: { n } }], {
                expectedRevision: last ? last.revision : 'no_stream',
              });
            } catch (error) {
              // Another writer won; read again and retry.
              if (!(error instanceof WrongExpectedVersion)) throw error;
            }
          }
          throw new Error(`writer ${n} never landed`);
        };
        await Promise.all(Array.from({ length: writers }, (_, n) => writer(n)));
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual(Array.from({ length: writers }, (_, i) => i));
        expect(read.map((e) => e.data.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: writers }, (_, i) => i));
      });
    });

    describe('scanAll', () => {
      // Streams of two categories of this run, and event types of this run, so filters select only them.
      const categoryA = `scan${RUN}a-`;
      const categoryB = `scan${RUN}b-`;
      const typeX = `ScanX${RUN}`;
      const typeY = `ScanY${RUN}`;
      let written: { stream: string; eventId: string; type: string }[];
      let head: number;

      beforeAll(async () => {
        written = [];
        const plan: [string, string, number][] = [
          [`${categoryA}one`, typeX, 2],
          [`${categoryB}one`, typeY, 1],
          [`${categoryA}two`, typeY, 3],
          [`${categoryB}two`, typeX, 2],
          [`${categoryA}one`, typeY, 1],
        ];
        for (const [stream, type, count] of plan) {
          const batch = events(count).map((e) => ({ ...e, type }));
          await store.appendToStream(stream, batch, { expectedRevision: 'any' });
          written.push(...batch.map((e) => ({ stream, eventId: e.eventId, type })));
        }
        [{ position: head }] = await store.readAll({ direction: 'backwards', maxCount: 1 });
      });

      const scan = async (options: Partial<ScanAllOptions> = {}): Promise<RecordedEvent[]> => {
        const seen: RecordedEvent[] = [];
        await store.scanAll({ upTo: head, ...options }, (e) => seen.push(e));
        return seen;
      };
      const idsWhere = (keep: (w: { stream: string; type: string }) => boolean) => written.filter(keep).map((w) => w.eventId);
      const mine = (read: RecordedEvent[]) => {
        const wanted = new Set(written.map((w) => w.eventId));
        return read.filter((e) => wanted.has(e.eventId)).map((e) => e.eventId);
      };

      it("metadata: 'hash' gives the same events with their metadata's hash (the rest may be left out)", async () => {
        const stream = `scan${RUN}h-one`;
        const appended = events(3).map((e, i) => ({ ...e, data: { n: i }, metadata: { hash: `h${i}`, correlationId: `c${i}` } }));
        await store.appendToStream(stream, appended, { expectedRevision: 'no_stream' });
        const [{ position: upTo }] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const seen: RecordedEvent[] = [];
        await store.scanAll({ upTo, filter: { streamPrefixes: [stream] }, metadata: 'hash' }, (e) => seen.push(e));
        expect(seen.map((e) => [e.eventId, e.data, e.metadata.hash])).toEqual(appended.map((e, i) => [e.eventId, { n: i }, `h${i}`]));
        // An event without a hash has none in this view either.
        await store.appendToStream(stream, events(1), { expectedRevision: 2 });
        const [{ position: after }] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const last: RecordedEvent[] = [];
        await store.scanAll({ upTo: after, filter: { streamPrefixes: [stream] }, metadata: 'hash' }, (e) => last.push(e));
        expect(last.at(-1)?.metadata.hash).toBeUndefined();
      });

      it("metadata: 'none' gives the same events, their metadata an object whose fields may be left out", async () => {
        const stream = `scan${RUN}h-none`;
        const appended = events(2).map((e, i) => ({ ...e, data: { n: i }, metadata: { hash: `h${i}` } }));
        await store.appendToStream(stream, appended, { expectedRevision: 'no_stream' });
        const [{ position: upTo }] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        const whole: RecordedEvent[] = [];
        await store.scanAll({ upTo, filter: { streamPrefixes: [stream] } }, (e) => whole.push(e));
        const bare: RecordedEvent[] = [];
        await store.scanAll({ upTo, filter: { streamPrefixes: [stream] }, metadata: 'none' }, (e) => bare.push(e));
        const withoutMetadata = (e: RecordedEvent) => ({ ...e, metadata: undefined });
        expect(bare.map(withoutMetadata)).toEqual(whole.map(withoutMetadata));
        expect(bare.map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }]);
        for (const e of bare) expect(typeof e.metadata).toBe('object');
      });

      it('delivers every event up to upTo in position order, each once, as readAll reads them', async () => {
        const scanned = await scan();
        const read = (await store.readAll()).filter((e) => e.position <= head);
        expect(scanned).toEqual(read);
        expectStrictlyIncreasing(scanned.map((e) => e.position));
        expect(mine(scanned)).toEqual(written.map((w) => w.eventId));
      });

      it('stops at upTo, inclusive, even while the log grows', async () => {
        const all = await scan({ filter: { streamPrefixes: [categoryA, categoryB] } });
        const cut = all[3];
        const later = streamName('scan-later');
        const [scanned] = await Promise.all([
          scan({ upTo: cut.position }),
          store.appendToStream(later, events(2), { expectedRevision: 'no_stream' }),
        ]);
        expect(scanned.at(-1)!.position).toBeLessThanOrEqual(cut.position);
        expect(mine(scanned)).toEqual(all.slice(0, 4).map((e) => e.eventId));
        expect(scanned.some((e) => e.streamId === later)).toBe(false);
        expect(await scan({ upTo: -1 })).toEqual([]);
      });

      it('filters by stream prefix: whole categories, a prefix within one, overlapping prefixes once', async () => {
        expect(mine(await scan({ filter: { streamPrefixes: [categoryA] } }))).toEqual(idsWhere((w) => w.stream.startsWith(categoryA)));
        const both = await scan({ filter: { streamPrefixes: [categoryB, categoryA] } });
        expect(both.map((e) => e.eventId)).toEqual(written.map((w) => w.eventId));
        expectStrictlyIncreasing(both.map((e) => e.position));
        expect(mine(await scan({ filter: { streamPrefixes: [`${categoryA}tw`] } }))).toEqual(
          idsWhere((w) => w.stream === `${categoryA}two`),
        );
        const overlapping = await scan({ filter: { streamPrefixes: [categoryA, `${categoryA}one`] } });
        expect(overlapping.map((e) => e.eventId)).toEqual(idsWhere((w) => w.stream.startsWith(categoryA)));
        // A prefix without a dash reaches across categories.
        const undashed = await scan({ filter: { streamPrefixes: [`scan${RUN}`] } });
        expect(undashed.map((e) => e.eventId)).toEqual(written.map((w) => w.eventId));
      });

      it('filters by exact event type', async () => {
        const xs = await scan({ filter: { eventTypes: [typeX] } });
        expect(xs.map((e) => e.eventId)).toEqual(idsWhere((w) => w.type === typeX));
        const both = await scan({ filter: { eventTypes: [typeY, typeX] } });
        expect(both.map((e) => e.eventId)).toEqual(written.map((w) => w.eventId));
        // Exact names: a prefix of a type is not the type.
        expect(await scan({ filter: { eventTypes: [`ScanX${RUN}`.slice(0, -1)] } })).toEqual([]);
        const filtered = await scan({ filter: { eventTypes: [typeX] } });
        expect(filtered).toEqual((await scan()).filter((e) => e.type === typeX));
      });

      it('reports progress in increasing positions, never beyond upTo, over a log longer than a page', async () => {
        const big = streamName('scan-big');
        for (let i = 0; i < 12; i++) await store.appendToStream(big, events(500), { expectedRevision: 'any' });
        const [{ position: bigHead }] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        for (const filter of [undefined, { streamPrefixes: [big] }]) {
          const progress: number[] = [];
          let count = 0;
          await store.scanAll({ upTo: bigHead, filter, onProgress: (p) => progress.push(p) }, (e) => {
            if (e.streamId === big) count++;
          });
          expect(count).toBe(6_000);
          expect(progress.length).toBeGreaterThan(0);
          expectStrictlyIncreasing(progress);
          expect(progress.at(-1)!).toBeLessThanOrEqual(bigHead);
        }
      });

      it('ends with the error thrown by onEvent, and the store reads on', async () => {
        const failure = new Error('consumer failed');
        let seen = 0;
        const error = await rejectionOf(
          store.scanAll({ upTo: head, filter: { streamPrefixes: [categoryA] } }, () => {
            seen++;
            throw failure;
          }),
        );
        expect(error).toBe(failure);
        expect(seen).toBe(1);
        expect(mine(await scan({ filter: { streamPrefixes: [categoryB] } }))).toEqual(idsWhere((w) => w.stream.startsWith(categoryB)));
      });

      it('refuses a malformed scan before reading', async () => {
        let seen = 0;
        const count = () => void seen++;
        await expect(store.scanAll({ upTo: 1.5 }, count)).rejects.toThrow(RangeError);
        await expect(store.scanAll({ upTo: head, filter: { streamPrefixes: [] } }, count)).rejects.toThrow(TypeError);
        await expect(store.scanAll({ upTo: head, filter: { eventTypes: [''] } }, count)).rejects.toThrow(TypeError);
        expect(seen).toBe(0);
      });
    });

    // Helpers that need the store.

    async function streamWith(count: number): Promise<string> {
      const s = streamName('existing');
      await store.appendToStream(s, events(count), { expectedRevision: 'no_stream' });
      return s;
    }

    async function revisionsOf(s: string, options?: Parameters<EventStore['readStream']>[1]): Promise<number[]> {
      return (await store.readStream(s, options)).map((e) => e.revision);
    }

    /** The events of these streams in $all order, read from the first of them. */
    async function readMine(streams: Set<string>): Promise<RecordedEvent[]> {
      const firsts = await Promise.all([...streams].map((s) => store.readStream(s, { maxCount: 1 })));
      const from = Math.min(...firsts.flat().map((e) => e.position));
      return (await store.readAll({ fromPosition: from })).filter((e) => streams.has(e.streamId));
    }
  });
}

// Test names are unique per run, so one store (or server) can host every run of the suite.
const RUN = randomUUID().slice(0, 8);
let streamCount = 0;
function streamName(label: string): string {
  streamCount += 1;
  return `contract_${label.replace(/-/g, '_')}_${RUN}_${streamCount}-${randomUUID()}`;
}

function event(): EventToAppend {
  return { eventId: randomUUID(), type: 'ContractTested', data: { at: streamCount }, metadata: {} };
}

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, () => event());
}

const ids = (list: readonly EventToAppend[]) => list.map((e) => e.eventId);

function expectStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) {
    if (!(values[i] > values[i - 1])) {
      throw new Error(`not strictly increasing at index ${i}: ${values[i - 1]} then ${values[i]}`);
    }
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

async function expectWrongExpectedVersion(
  promise: Promise<unknown>,
  streamId: string,
  expected: ExpectedRevision,
  actual: number | 'no_stream',
): Promise<void> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(WrongExpectedVersion);
  const wrong = error as WrongExpectedVersion;
  expect({ streamId: wrong.streamId, expected: wrong.expected, actual: wrong.actual }).toEqual({
    streamId,
    expected,
    actual,
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** Drains a subscription in the background, as a projection would. */
function consume(subscription: AllSubscription) {
  const events: RecordedEvent[] = [];
  let ended = false;
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const e of subscription) events.push(e);
    } catch (error) {
      // Kept for stop() to rethrow, so a broken feed fails the test that owns it.
      failure = error;
    }
    ended = true;
  })();
  return {
    events,
    of: (streamId: string) => events.filter((e) => e.streamId === streamId),
    ended: () => ended,
    /** Waits for a condition on what was delivered; a broken feed fails at once. */
    async until(condition: () => boolean, what: string, timeoutMs?: number): Promise<void> {
      await waitFor(() => failure !== undefined || ended || condition(), what, timeoutMs);
      if (failure !== undefined) throw failure;
      if (!condition()) throw new Error(`subscription ended while waiting for ${what}`);
    },
    async stop(): Promise<void> {
      await subscription.unsubscribe();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('subscription did not end after unsubscribe')), 5_000);
      });
      try {
        await Promise.race([done, timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (failure !== undefined) throw failure;
    },
  };
}
