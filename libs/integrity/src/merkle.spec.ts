import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  HashColumn,
  MERKLE_EMPTY_ROOT,
  PeriodLeaves,
  merkleRootOfHalves,
  merkleSplitPoint,
  merkleTopOf,
  byStreamRevision,
  inclusionProof,
  merkleRoot,
  periodLeafHashes,
  periodMerkleRoot,
  verifyInclusionProof,
} from './merkle';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const leafNode = (leaf: string) =>
  createHash('sha256')
    .update(Buffer.from([0]))
    .update(Buffer.from(leaf, 'hex'))
    .digest();
const node = (l: Buffer, r: Buffer) =>
  createHash('sha256')
    .update(Buffer.from([1]))
    .update(l)
    .update(r)
    .digest();
const leaves = (n: number) => Array.from({ length: n }, (_, i) => h(`event-${i}`));

describe('merkleRoot', () => {
  it('of no leaves is sha256 of nothing; of one leaf is its leaf node', () => {
    expect(merkleRoot([])).toBe(MERKLE_EMPTY_ROOT);
    expect(MERKLE_EMPTY_ROOT).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const [a] = leaves(1);
    expect(merkleRoot([a])).toBe(leafNode(a).toString('hex'));
  });

  it('pairs left to right and promotes an odd last node unchanged (no duplication)', () => {
    const [a, b, c] = leaves(3);
    const expected = node(node(leafNode(a), leafNode(b)), leafNode(c)).toString('hex');
    expect(merkleRoot([a, b, c])).toBe(expected);
    // Duplicating the last leaf gives a different root: [a, b, c] and [a, b, c, c] never collide.
    expect(merkleRoot([a, b, c, c])).not.toBe(expected);
    const [, , , d, e] = leaves(5);
    expect(merkleRoot([a, b, c, d, e])).toBe(
      node(node(node(leafNode(a), leafNode(b)), node(leafNode(c), leafNode(d))), leafNode(e)).toString('hex'),
    );
  });

  it('a leaf never passes for an inner node (domain separation)', () => {
    const [a, b] = leaves(2);
    const inner = node(leafNode(a), leafNode(b)).toString('hex');
    expect(merkleRoot([inner])).not.toBe(merkleRoot([a, b]));
  });

  it('depends on order and on every leaf', () => {
    const xs = leaves(6);
    expect(merkleRoot([...xs].reverse())).not.toBe(merkleRoot(xs));
    const edited = [...xs];
    edited[3] = h('edited');
    expect(merkleRoot(edited)).not.toBe(merkleRoot(xs));
    expect(merkleRoot(xs.slice(0, 5))).not.toBe(merkleRoot(xs));
  });

  it('is the root a reference built from hash objects gives, for any leaves and any size up to 300', () =>
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 300 }), (raw) => {
        const hexes = raw.map((bytes) => Buffer.from(bytes).toString('hex'));
        // Level by level with a Buffer per node, as the rules in merkle.ts say.
        let level: Buffer[] = hexes.map(leafNode);
        while (level.length > 1) {
          const up: Buffer[] = [];
          for (let i = 0; i + 1 < level.length; i += 2) up.push(node(level[i], level[i + 1]));
          if (level.length % 2 === 1) up.push(level[level.length - 1]);
          level = up;
        }
        expect(merkleRoot(hexes)).toBe(level[0].toString('hex'));
      }),
      { numRuns: 60 },
    ));
});

describe('inclusion proofs', () => {
  it('every leaf of every tree size up to 70 proves against the root', () => {
    for (let n = 1; n <= 70; n++) {
      const xs = leaves(n);
      const root = merkleRoot(xs);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(xs, i);
        expect(proof.steps.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(verifyInclusionProof(xs[i], proof, root)).toBe(true);
      }
    }
  });

  it('fails for another leaf, another root, a changed or reordered step, garbage', () =>
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), (n, k) => {
        const xs = leaves(n);
        const i = k % n;
        const root = merkleRoot(xs);
        const proof = inclusionProof(xs, i);
        expect(verifyInclusionProof(xs[(i + 1) % n], proof, root)).toBe(false);
        expect(verifyInclusionProof(xs[i], proof, h('other root'))).toBe(false);
        const flipped = {
          steps: proof.steps.map((s, j) => (j === 0 ? { ...s, side: s.side === 'left' ? ('right' as const) : ('left' as const) } : s)),
        };
        expect(verifyInclusionProof(xs[i], flipped, root)).toBe(false);
        const changed = { steps: proof.steps.map((s, j) => (j === proof.steps.length - 1 ? { ...s, hash: h('x') } : s)) };
        expect(verifyInclusionProof(xs[i], changed, root)).toBe(false);
        expect(verifyInclusionProof('nothex', proof, root)).toBe(false);
        expect(verifyInclusionProof(xs[i], { steps: [{ side: 'up', hash: xs[0] }] } as never, root)).toBe(false);
        expect(verifyInclusionProof(xs[i], null as never, root)).toBe(false);
      }),
      { numRuns: 60 },
    ));
});

describe('periodLeafHashes', () => {
  it('orders by stream id in code-unit order, then revision numerically, whatever the input order', () => {
    const events = [
      { streamId: 'member-b', revision: 10, hash: h('b10') },
      { streamId: 'member-a', revision: 2, hash: h('a2') },
      { streamId: 'member-B', revision: 0, hash: h('B0') }, // 'B' < 'a' < 'b' in code units
      { streamId: 'member-b', revision: 9, hash: h('b9') },
      { streamId: 'member-a', revision: 11, hash: h('a11') },
    ];
    expect(periodLeafHashes(events)).toEqual([h('B0'), h('a2'), h('a11'), h('b9'), h('b10')]);
    expect(periodLeafHashes([...events].reverse())).toEqual(periodLeafHashes(events));
    expect(byStreamRevision({ streamId: 'member-a', revision: 2 }, { streamId: 'member-a', revision: 11 })).toBeLessThan(0);
  });

  it('refuses an event listed twice and a missing hash (bugs, not input)', () => {
    expect(() =>
      periodLeafHashes([
        { streamId: 's', revision: 1, hash: h('1') },
        { streamId: 's', revision: 1, hash: h('1') },
      ]),
    ).toThrow('settled once');
    expect(() => periodLeafHashes([{ streamId: 's', revision: 1, hash: 'nope' }])).toThrow('chain hash');
  });

  it('periodMerkleRoot is merkleRoot of periodLeafHashes, and refuses what they refuse', () => {
    for (const n of [0, 1, 2, 3, 7, 64, 100]) {
      const events = Array.from({ length: n }, (_, i) => ({ streamId: `member-${(i * 37) % 11}`, revision: i, hash: h(`p${i}`) }));
      expect(periodMerkleRoot(events)).toBe(merkleRoot(periodLeafHashes(events)));
    }
    expect(() => periodMerkleRoot([{ streamId: 's', revision: 1, hash: h('1').toUpperCase() }])).toThrow('chain hash');
    expect(() => merkleRoot([h('1'), 'A'.repeat(64)])).toThrow('64-digit lowercase hex');
  });

  it('PeriodLeaves, collected one event at a time in any order, has the root merkleRoot gives over periodLeafHashes', () => {
    for (const n of [0, 1, 2, 3, 5, 64, 65, 1_000]) {
      const events = Array.from({ length: n }, (_, i) => ({ streamId: `member-${(i * 7919) % 13}`, revision: i, hash: h(`q${i}`) }));
      const leaves = new PeriodLeaves();
      for (const e of [...events].reverse()) leaves.add(e);
      expect(leaves.size).toBe(n);
      expect(leaves.root()).toBe(merkleRoot(periodLeafHashes(events)));
    }
    const twice = new PeriodLeaves();
    twice.add({ streamId: 's', revision: 1, hash: h('1') });
    twice.add({ streamId: 's', revision: 1, hash: h('2') });
    expect(() => twice.root()).toThrow('settled once');
    expect(() => new PeriodLeaves().add({ streamId: 's', revision: 1, hash: 'nope' })).toThrow('chain hash');
  });

  it('PeriodLeaves split in two parts at any point, one absorbing the other, has the root of the whole', () => {
    const events = Array.from({ length: 300 }, (_, i) => ({ streamId: `member-${(i * 31) % 17}`, revision: i, hash: h(`p${i}`) }));
    const whole = merkleRoot(periodLeafHashes(events));
    for (const at of [0, 1, 150, 299, 300]) {
      const first = new PeriodLeaves();
      const second = new PeriodLeaves();
      events.slice(0, at).forEach((e) => first.add(e));
      events.slice(at).forEach((e) => second.add(e));
      // As it crosses threads: a structured clone.
      first.absorb(structuredClone(second.part()));
      expect(first.size).toBe(events.length);
      expect(first.root()).toBe(whole);
    }
    // An event in both parts is settled twice: the root refuses it, as it does in one part.
    const a = new PeriodLeaves();
    const b = new PeriodLeaves();
    a.add(events[0]);
    b.add(events[0]);
    a.absorb(b.part());
    expect(() => a.root()).toThrow('settled once');
  });

  it('PeriodLeaves gives the root of periodLeafHashes for any events, added in any order, split in parts at any point', () => {
    // Stream ids that share prefixes, differ in case and reach beyond ASCII; revisions out of order within a stream.
    const event = fc.record({
      streamId: fc.constantFrom('member-a', 'member-b', 'member-B', 'member-ab', 'member-\u00e9', 'member-\ud83d\ude00', 'partner-x', ''),
      revision: fc.nat({ max: 40 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(event, { selector: (e) => `${e.streamId}\u0000${e.revision}`, maxLength: 120 }),
        fc.nat(),
        fc.nat(),
        (keys, cutAt, partsSeed) => {
          const events = keys.map((k, i) => ({ ...k, hash: h(`e${i}`) }));
          const whole = merkleRoot(periodLeafHashes(events));
          const one = new PeriodLeaves();
          events.forEach((e) => one.add(e));
          // Twice: hashing the tree in place must not disturb the leaves kept sorted.
          expect([one.root(), one.root()]).toEqual([whole, whole]);
          // Two threads' parts, cut anywhere; the second may itself have absorbed a third.
          const cut = events.length === 0 ? 0 : cutAt % (events.length + 1);
          const first = new PeriodLeaves();
          const second = new PeriodLeaves();
          const third = new PeriodLeaves();
          events.slice(0, cut).forEach((e) => first.add(e));
          events.slice(cut).forEach((e, i) => ((partsSeed + i) % 3 === 0 ? third : second).add(e));
          second.absorb(structuredClone(third.part()));
          first.sortCollected();
          first.absorb(structuredClone(second.part()));
          expect(first.size).toBe(events.length);
          expect(first.root()).toBe(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('PeriodLeaves: a leaf added after sorting is counted; a part out of order is refused; a part anywhere in its buffer is read', () => {
    const events = Array.from({ length: 40 }, (_, i) => ({ streamId: `member-${i % 5}`, revision: i, hash: h(`o${i}`) }));
    const leaves = new PeriodLeaves();
    events.slice(0, 39).forEach((e) => leaves.add(e));
    leaves.sortCollected();
    leaves.add(events[39]);
    expect(leaves.root()).toBe(merkleRoot(periodLeafHashes(events)));

    const source = new PeriodLeaves();
    events.forEach((e) => source.add(e));
    const part = source.part();
    // Reversed: each run must be in the tree's order, or merging it would hash a wrong tree.
    const reversed = {
      streams: [...part.streams].reverse(),
      revisions: [...part.revisions].reverse(),
      nodes: Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.from(part.nodes.subarray((39 - i) * 32, (40 - i) * 32)))),
    };
    const refusing = new PeriodLeaves();
    refusing.add({ streamId: 'member-z', revision: 0, hash: h('z') });
    refusing.absorb(reversed);
    expect(() => refusing.root()).toThrow('settled once');

    // The same part, its nodes one byte into a larger buffer (not word-aligned).
    const shifted = new Uint8Array(part.nodes.length + 1);
    shifted.set(part.nodes, 1);
    const absorbing = new PeriodLeaves();
    absorbing.absorb({ ...part, nodes: shifted.subarray(1) });
    expect(absorbing.root()).toBe(merkleRoot(periodLeafHashes(events)));
  });

  it('a tree hashed in two halves at merkleSplitPoint has the root of the whole, for every size up to 300', () => {
    expect(merkleSplitPoint(0)).toBeUndefined();
    expect(merkleSplitPoint(1)).toBeUndefined();
    for (let n = 2; n <= 300; n++) {
      const events = Array.from({ length: n }, (_, i) => ({ streamId: `member-${i % 7}`, revision: i, hash: h(`s${i}`) }));
      const leaves = new PeriodLeaves();
      events.forEach((e) => leaves.add(e));
      const nodes = leaves.sortedNodes();
      const split = merkleSplitPoint(n)!;
      // The first half is a power of two, at least half of the nodes, and leaves some to the second.
      expect([split & (split - 1), split * 2 >= n, split < n]).toEqual([0, true, true]);
      const right = merkleTopOf(new Uint8Array(nodes.subarray(split * 32)), n - split);
      const left = merkleTopOf(nodes, split);
      expect(merkleRootOfHalves(left, right)).toBe(merkleRoot(periodLeafHashes(events)));
    }
  });

  it('HashColumn keeps hashes binary across chunk edges, and a malformed one as zeros', () => {
    const column = new HashColumn();
    const hashes = Array.from({ length: 70_000 }, (_, i) => h(`c${i}`));
    for (const x of hashes) column.push(x);
    column.push('not a hash');
    expect(column.size).toBe(70_001);
    for (const i of [0, 65_535, 65_536, 69_999]) expect(column.hexAt(i)).toBe(hashes[i]);
    expect(column.hexAt(70_000)).toBe('0'.repeat(64));
  });

  it('HashColumn takes the 32 bytes of a node as a Buffer or as a latin1 string of them, alike', () => {
    const column = new HashColumn();
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i * 7));
    column.pushBytes(bytes);
    column.pushBytes(bytes.toString('latin1'));
    expect(column.hexAt(0)).toBe(bytes.toString('hex'));
    expect(column.hexAt(1)).toBe(bytes.toString('hex'));
  });
});
