import fc from 'fast-check';
import { AppendToWrite, WriteOutcome, flattenBatch, sqliteWriterProgram, unflattenOutcomes } from './sqlite-batch-writer';

const { unflattenBatch, flattenOutcomes } = sqliteWriterProgram();

const expectedRevision = fc.oneof(
  fc.nat({ max: 1_000_000 }),
  fc.constantFrom('no_stream' as const, 'stream_exists' as const, 'any' as const),
);
// Plain objects, as the store makes them (fast-check's records have no prototype by default).
const plain = { noNullPrototype: true } as const;
const event = fc.record({ eventId: fc.uuid(), type: fc.string(), data: fc.json(), metadata: fc.json() }, plain);
const part = fc.record(
  {
    streamId: fc.string({ minLength: 1 }),
    expectedRevision,
    expectedLastEventId: fc.uuid(),
    events: fc.array(event, { maxLength: 4 }),
  },
  { requiredKeys: ['streamId', 'expectedRevision', 'events'], ...plain },
);
const batch: fc.Arbitrary<AppendToWrite[]> = fc.array(fc.record({ parts: fc.array(part, { maxLength: 3 }) }, plain), { maxLength: 30 });
const outcome: fc.Arbitrary<WriteOutcome> = fc.oneof(
  fc.record(
    {
      ok: fc.constant(true as const),
      results: fc.array(
        fc.record({ nextExpectedRevision: fc.integer({ min: -1, max: 1e9 }), position: fc.integer({ min: -1, max: 1e12 }) }, plain),
        { maxLength: 3 },
      ),
    },
    plain,
  ),
  fc.record(
    {
      ok: fc.constant(false as const),
      streamId: fc.string({ minLength: 1 }),
      expected: expectedRevision,
      actual: fc.oneof(fc.nat(), fc.constant('no_stream' as const)),
    },
    plain,
  ),
);

describe('the writer thread’s flat batches and outcomes', () => {
  it('given any batch, when flattened and read back in the writer thread, then it is the batch, with no last event id where none was given', () => {
    fc.assert(
      fc.property(batch, (b) => {
        const back = unflattenBatch(flattenBatch(b));
        expect(back).toStrictEqual(b);
      }),
    );
  });

  it('given any outcomes, when flattened in the writer thread and read back, then they are the outcomes', () => {
    fc.assert(
      fc.property(fc.array(outcome, { maxLength: 30 }), (outcomes) => {
        expect(unflattenOutcomes(flattenOutcomes(outcomes))).toStrictEqual(outcomes);
      }),
    );
  });

  it('given a flat batch with trailing values, then the writer thread refuses it', () => {
    expect(() => unflattenBatch([...flattenBatch([{ parts: [] }]), 'stray'])).toThrow(/read to its end/);
  });
});
