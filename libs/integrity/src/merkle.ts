import { hash } from 'node:crypto';
import assert from 'node:assert/strict';

/**
 * A Merkle tree over event hashes, so a settlement statement can commit to exactly the
 * events it settles with one 32-byte root, and an auditor can prove one event is among
 * them with ~log2(n) hashes and no access to the store.
 *
 * Rules (both sides of every comparison use these functions, never a re-implementation):
 *  - Leaves are the events' chain hashes (`metadata.hash`, 64 lowercase hex digits), in the
 *    order given. For a period, `periodLeafHashes` fixes that order: (streamId, revision),
 *    stream ids compared by UTF-16 code unit (JavaScript `<`), revisions numerically.
 *  - Domain separation as in RFC 6962 §2.1, so a leaf can never pass for an inner node:
 *      leaf node  = sha256(0x00 ‖ leaf bytes)
 *      inner node = sha256(0x01 ‖ left ‖ right)
 *  - Odd rule: the tree is built level by level, pairing nodes left to right; a level with
 *    an odd count promotes its last node unchanged to the next level. Nothing is ever
 *    duplicated (duplicating the last node, as Bitcoin does, lets two different leaf lists
 *    share a root).
 *  - The root of no leaves is sha256 of the empty string (a period that settled nothing).
 *
 * The root is hex, like every hash in the ledger.
 */
export const MERKLE_EMPTY_ROOT = hash('sha256', '', 'hex');

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const HEX_64 = /^[0-9a-f]{64}$/;

export const isHash = (value: unknown): value is string => typeof value === 'string' && HEX_64.test(value);

// A period's root hashes two nodes per settled event: one-shot hashing of one reused input buffer.
const sha256 = (input: Buffer): Buffer => hash('sha256', input, 'buffer');
/**
 * The same digest as a latin1 string, one character per byte, written straight into the
 * buffer that keeps it: where nodes are hashed by the million, a new Buffer per digest cost
 * as much again as the hashing (0.85 against 0.41 µs a node on the bench machine). 'binary'
 * is Node's other name for latin1, the one the digest's typings accept.
 */
const sha256Latin1 = (input: Buffer): string => hash('sha256', input, 'binary');
const leafInput = Buffer.alloc(1 + 32);
const nodeInput = Buffer.alloc(1 + 32 + 32);

/** Every leaf is asserted well formed once, before it is hashed (Buffer.write would skip bad hex silently). */
const assertLeaves = (hashes: readonly string[]): void => {
  for (const leaf of hashes) assert(isHash(leaf), 'a Merkle leaf is a 64-digit lowercase hex hash');
};

const leafNode = (leaf: string): Buffer => Buffer.from(leafNodeLatin1(leaf), 'latin1');

/** A leaf node's 32 bytes as a latin1 string (sha256Latin1). */
const leafNodeLatin1 = (leaf: string): string => {
  leafInput[0] = LEAF_PREFIX;
  leafInput.write(leaf, 1, 32, 'hex');
  return sha256Latin1(leafInput);
};

const innerNode = (left: Buffer, right: Buffer): Buffer => {
  nodeInput[0] = NODE_PREFIX;
  left.copy(nodeInput, 1);
  right.copy(nodeInput, 33);
  return sha256(nodeInput);
};

/** One level up: pairs left to right, an odd last node promoted as it is. */
function nextLevel(level: readonly Buffer[]): Buffer[] {
  const up: Buffer[] = [];
  for (let i = 0; i + 1 < level.length; i += 2) up.push(innerNode(level[i], level[i + 1]));
  if (level.length % 2 === 1) up.push(level[level.length - 1]);
  return up;
}

/** The root over `hashes` in the order given (see the rules above). */
export function merkleRoot(hashes: readonly string[]): string {
  assertLeaves(hashes);
  return rootOfCheckedLeaves(hashes);
}

function rootOfCheckedLeaves(hashes: readonly string[]): string {
  const nodes = Buffer.allocUnsafe(hashes.length * 32);
  hashes.forEach((leaf, i) => nodes.write(leafNodeLatin1(leaf), i * 32, 32, 'latin1'));
  return rootInPlace(nodes, hashes.length);
}

/**
 * The root over `count` leaf nodes laid end to end in `nodes` (32 bytes each), computed level
 * by level in the same buffer: node i of a level is written where the level below had node
 * i, whose inputs (nodes 2i and 2i+1) are already read. A million leaves take 32 MB, where a
 * Buffer per node took several hundred.
 */
function rootInPlace(nodes: Buffer, count: number): string {
  if (count === 0) return MERKLE_EMPTY_ROOT;
  reduceInPlace(nodes, count);
  return nodes.toString('hex', 0, 32);
}

/** Hashes `count` nodes up, level by level, until one is left, at the start of `nodes`. */
function reduceInPlace(nodes: Buffer, count: number): void {
  // Bounded: each level has ceil(n/2) nodes, so there are ceil(log2 n) levels.
  for (let n = count; n > 1; n = Math.ceil(n / 2)) {
    const pairs = Math.floor(n / 2);
    for (let i = 0; i < pairs; i++) {
      nodeInput[0] = NODE_PREFIX;
      nodes.copy(nodeInput, 1, 64 * i, 64 * i + 64);
      nodes.write(sha256Latin1(nodeInput), 32 * i, 32, 'latin1');
    }
    // An odd last node is promoted as it is.
    if (n % 2 === 1) nodes.copy(nodes, 32 * pairs, 32 * (n - 1), 32 * n);
  }
}

/**
 * Where a tree of `count` leaf nodes splits into two that can be hashed apart (on two
 * threads): the first `2^k` nodes, 2^k being the least power of two at least half the count,
 * are a complete subtree; the rest, reduced by the same rules, is the one node beside it at
 * level k (its pairs start at even places and its last node is the level's last). The root
 * is then `merkleRootOfHalves`. Undefined below two nodes.
 */
export function merkleSplitPoint(count: number): number | undefined {
  if (count < 2) return undefined;
  let block = 1;
  while (block * 2 < count) block *= 2;
  return block;
}

/** The top node of `count` nodes laid end to end (32 bytes each), reduced in place: one half of a split tree. */
export function merkleTopOf(nodes: Uint8Array, count: number): Buffer {
  assert(count > 0 && nodes.byteLength >= count * 32, 'a subtree has nodes');
  const buffer = Buffer.from(nodes.buffer, nodes.byteOffset, count * 32);
  reduceInPlace(buffer, count);
  return Buffer.from(buffer.subarray(0, 32));
}

/** The root over the two halves `merkleSplitPoint` gives, from their top nodes. */
export function merkleRootOfHalves(left: Uint8Array, right: Uint8Array): string {
  return innerNode(Buffer.from(left), Buffer.from(right)).toString('hex');
}

/** A sibling on the way up: its hash, and on which side of the running node it sits. */
export interface MerkleStep {
  side: 'left' | 'right';
  hash: string;
}

export interface InclusionProof {
  /** Index of the leaf among the leaves, and how many there are (informative: the steps decide). */
  leafIndex: number;
  leafCount: number;
  /** Siblings from the leaf's level up; a level where the node was promoted has no step. */
  steps: MerkleStep[];
}

/** The siblings that take `hashes[index]` up to `merkleRoot(hashes)`. */
export function inclusionProof(hashes: readonly string[], index: number): InclusionProof {
  assert(Number.isSafeInteger(index) && index >= 0 && index < hashes.length, 'the proven leaf is one of the leaves');
  assertLeaves(hashes);
  const steps: MerkleStep[] = [];
  let level = hashes.map(leafNode);
  let i = index;
  while (level.length > 1) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    // A last node without a partner is promoted: nothing to record at this level.
    if (sibling < level.length) steps.push({ side: i % 2 === 0 ? 'right' : 'left', hash: level[sibling].toString('hex') });
    level = nextLevel(level);
    i = Math.floor(i / 2);
  }
  return { leafIndex: index, leafCount: hashes.length, steps };
}

/** Whether `leaf` with the proof's steps hashes up to `root`. Malformed input is false, never an exception. */
export function verifyInclusionProof(leaf: string, proof: Pick<InclusionProof, 'steps'>, root: string): boolean {
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof?.steps)) return false;
  // A tree of 2^53 leaves is 53 levels; more steps is no proof of ours.
  if (proof.steps.length > 64) return false;
  let node = leafNode(leaf);
  for (const step of proof.steps) {
    if (!step || !isHash(step.hash) || (step.side !== 'left' && step.side !== 'right')) return false;
    const sibling = Buffer.from(step.hash, 'hex');
    node = step.side === 'left' ? innerNode(sibling, node) : innerNode(node, sibling);
  }
  return node.toString('hex') === root;
}

/** An event a statement settles, as far as its Merkle leaf is concerned. */
export interface LeafEvent {
  streamId: string;
  revision: number;
  /** The event's chain hash, `metadata.hash`. */
  hash: string;
}

/** (streamId, revision): stream ids by UTF-16 code unit (locale-free), then revisions numerically. */
export const byStreamRevision = (a: Pick<LeafEvent, 'streamId' | 'revision'>, b: Pick<LeafEvent, 'streamId' | 'revision'>): number =>
  compareStreamRevision(a.streamId, a.revision, b.streamId, b.revision);

/** The order of `byStreamRevision`, on the values themselves (PeriodLeaves keeps no objects to compare). */
const compareStreamRevision = (aStream: string, aRevision: number, bStream: string, bRevision: number): number =>
  aStream < bStream ? -1 : aStream > bStream ? 1 : aRevision - bRevision;

/**
 * The leaves of a statement's `eventsMerkleRoot`: the chain hashes of the member money
 * events it settles (regular and late), ordered by (streamId, revision). The order does
 * not depend on positions, so a store re-imported with other position values has the same
 * root. Pass every settled event once, in any order.
 */
export function periodLeafHashes(events: Iterable<LeafEvent>): string[] {
  const sorted = [...events].sort(byStreamRevision);
  for (let i = 1; i < sorted.length; i++) {
    assert(byStreamRevision(sorted[i - 1], sorted[i]) < 0, 'an event is settled once');
  }
  return sorted.map((e) => {
    assert(isHash(e.hash), 'every stored event carries its chain hash');
    return e.hash;
  });
}

/** `merkleRoot(periodLeafHashes(events))`, by way of `PeriodLeaves`: each leaf checked once, the tree in one buffer. */
export function periodMerkleRoot(events: Iterable<LeafEvent>): string {
  const leaves = new PeriodLeaves();
  for (const e of events) leaves.add(e);
  return leaves.root();
}

const HASH_CHUNK = 65_536;

/** Words (32-bit) in a 32-byte node: nodes are moved word by word, see `copyNode`. */
const NODE_WORDS = 8;

/**
 * Copies node `from` of `source` to node `to` of `target`, both 32-bit word views of nodes laid
 * end to end. Buffer.copy per node cost about 0.4 µs in its call alone; a million leaves are
 * moved at each sort and merge.
 */
function copyNode(source: Uint32Array, from: number, target: Uint32Array, to: number): void {
  const s = from * NODE_WORDS;
  const t = to * NODE_WORDS;
  for (let w = 0; w < NODE_WORDS; w++) target[t + w] = source[s + w];
}

/** A zeroed buffer of `count` nodes on an ArrayBuffer of its own, so a word view of it is aligned. */
function nodeBuffer(count: number): Buffer {
  return Buffer.from(new ArrayBuffer(count * 32));
}

const wordsOf = (bytes: Uint8Array): Uint32Array => {
  assert(bytes.byteOffset % 4 === 0 && bytes.byteLength % 32 === 0, 'nodes are whole and word-aligned');
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

/**
 * 32-byte hashes kept binary, in chunks of 64k: a hex string per hash takes three times the
 * memory, and a period can hold millions of them.
 */
export class HashColumn {
  private readonly chunks: Buffer[] = [];
  /** The same chunks as 32-bit words, for `copyTo`. */
  private readonly words: Uint32Array[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends `hash` if it is 64 lowercase hex digits, 32 zero bytes otherwise. */
  push(hash: unknown): void {
    const i = this.next();
    if (isHash(hash)) this.chunks[Math.floor(i / HASH_CHUNK)].write(hash, (i % HASH_CHUNK) * 32, 32, 'hex');
  }

  /** Appends 32 bytes as they are (a hash already binary, such as a Merkle node): a Buffer, or a latin1 string of them. */
  pushBytes(bytes: Buffer | string): void {
    assert(bytes.length === 32, 'a hash is 32 bytes');
    const i = this.next();
    const chunk = this.chunks[Math.floor(i / HASH_CHUNK)];
    if (typeof bytes === 'string') chunk.write(bytes, (i % HASH_CHUNK) * 32, 32, 'latin1');
    else bytes.copy(chunk, (i % HASH_CHUNK) * 32);
  }

  hexAt(i: number): string {
    const offset = (i % HASH_CHUNK) * 32;
    return this.chunks[Math.floor(i / HASH_CHUNK)].toString('hex', offset, offset + 32);
  }

  /** Copies hash `i` to node `to` of `target` (32-bit words of nodes laid end to end). */
  copyTo(i: number, target: Uint32Array, to: number): void {
    copyNode(this.words[Math.floor(i / HASH_CHUNK)], i % HASH_CHUNK, target, to);
  }

  /** The index of a new hash, its chunk allocated (zeroed). */
  private next(): number {
    const i = this.count++;
    if (Math.floor(i / HASH_CHUNK) === this.chunks.length) {
      const chunk = nodeBuffer(HASH_CHUNK);
      this.chunks.push(chunk);
      this.words.push(wordsOf(chunk));
    }
    return i;
  }
}

/**
 * A part of a period's leaves, as one thread collected them: handed to another to be absorbed.
 * Its leaves are in the tree's order, (streamId, revision), so that absorbing it is a merge.
 */
export interface PeriodLeavesPart {
  streams: readonly string[];
  revisions: readonly number[];
  /** The leaf nodes, 32 bytes each, in the order of `streams` and `revisions`. */
  nodes: Uint8Array;
}

/** Leaves in the tree's order: one part's or a whole period's. */
interface SortedLeaves {
  streams: readonly string[];
  revisions: readonly number[];
  /** The nodes as 32-bit words, NODE_WORDS a leaf. */
  words: Uint32Array;
}

/**
 * Two runs of leaves, each in the tree's order, merged into one. The result is checked to be
 * strictly increasing, so a run out of order (a part from elsewhere) or an event in both runs
 * is refused rather than hashed.
 */
function mergeSorted(a: SortedLeaves, b: SortedLeaves): SortedLeaves {
  const total = a.revisions.length + b.revisions.length;
  const streams: string[] = new Array<string>(total);
  const revisions: number[] = new Array<number>(total);
  const words = new Uint32Array(total * NODE_WORDS);
  let i = 0;
  let j = 0;
  for (let k = 0; k < total; k++) {
    const fromA =
      j === b.revisions.length ||
      (i < a.revisions.length && compareStreamRevision(a.streams[i], a.revisions[i], b.streams[j], b.revisions[j]) < 0);
    const run = fromA ? a : b;
    const at = fromA ? i++ : j++;
    streams[k] = run.streams[at];
    revisions[k] = run.revisions[at];
    copyNode(run.words, at, words, k);
    if (k > 0) assert(compareStreamRevision(streams[k - 1], revisions[k - 1], streams[k], revisions[k]) < 0, 'an event is settled once');
  }
  return { streams, revisions, words };
}

/**
 * A period's leaves as a close collects them, one settled event at a time, kept column-wise
 * (interned stream ids, revisions, binary leaf nodes): about 50 bytes an event where an object
 * with a hex string took several times that for as long as the close ran. A leaf node does not
 * depend on the order, so it is hashed as the event arrives, on the thread that reads it; the
 * sort and the inner nodes wait for `root()`, which is `periodMerkleRoot` of the same events.
 * A close read on two threads sorts each part on its own thread, and the parts are merged.
 */
export class PeriodLeaves {
  private readonly streams: string[] = [];
  private readonly revisions: number[] = [];
  private readonly nodes = new HashColumn();
  private readonly interned = new Map<string, string>();
  /** Parts absorbed from elsewhere, each in the tree's order. */
  private readonly absorbed: SortedLeaves[] = [];
  private absorbedCount = 0;
  /** The leaves collected here, sorted; dropped when another is added. */
  private collectedSorted: SortedLeaves | undefined;

  get size(): number {
    return this.revisions.length + this.absorbedCount;
  }

  add(e: LeafEvent): void {
    assert(isHash(e.hash), 'every stored event carries its chain hash');
    this.push(e.streamId, e.revision, leafNodeLatin1(e.hash));
  }

  /**
   * The leaves collected here (and absorbed), in the tree's order, to be absorbed by the
   * collector of the whole period. Sorting them is this thread's work, not the absorber's.
   */
  part(): PeriodLeavesPart {
    const { streams, revisions, words } = this.sorted();
    return { streams, revisions, nodes: new Uint8Array(words.buffer, words.byteOffset, words.byteLength) };
  }

  /** Adds the leaves of another part of the period (the root does not depend on the order they came in). */
  absorb(part: PeriodLeavesPart): void {
    const { streams, revisions, nodes } = part;
    const count = revisions.length;
    assert(streams.length === count && nodes.length === count * 32, 'a leaves part is whole');
    // A part that crossed threads may sit anywhere in its buffer: copied once if its words are not aligned.
    const aligned = nodes.byteOffset % 4 === 0 ? nodes : new Uint8Array(nodes);
    this.absorbed.push({ streams, revisions, words: wordsOf(aligned) });
    this.absorbedCount += count;
  }

  /**
   * Sorts the leaves collected so far, ahead of `root()` or `sortedNodes()`: a close's first
   * thread does it while it waits for the second's part.
   */
  sortCollected(): void {
    this.collectedSorted ??= this.sortOwn();
  }

  root(): string {
    return rootInPlace(this.sortedNodes(), this.size);
  }

  /**
   * The leaf nodes in the tree's order, (streamId, revision), laid end to end: what `root()`
   * hashes up, for a caller that hashes the two halves of the tree on two threads.
   */
  sortedNodes(): Buffer {
    const sorted = this.sorted();
    // The caller hashes it up in place: never the sorted leaves kept here.
    const words = sorted === this.collectedSorted ? sorted.words.slice() : sorted.words;
    return Buffer.from(words.buffer, words.byteOffset, words.byteLength);
  }

  /** Every leaf, collected and absorbed, in the tree's order. */
  private sorted(): SortedLeaves {
    this.sortCollected();
    let all = this.collectedSorted!;
    for (const part of this.absorbed) all = mergeSorted(all, part);
    return all;
  }

  /**
   * The leaves collected here in the tree's order. Not one comparison sort of every leaf (a
   * million string comparisons deep): the distinct streams are sorted, the leaves placed stream
   * by stream (a counting sort, stable), and each stream's leaves, which arrive in revision
   * order when read in log order, sorted by revision only where they did not.
   */
  private sortOwn(): SortedLeaves {
    const { streams, revisions } = this;
    const count = revisions.length;
    const distinct = [...this.interned.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const rank = new Map<string, number>();
    distinct.forEach((stream, r) => rank.set(stream, r));
    // starts[r]: where stream r's leaves begin in the sorted order.
    const starts = new Uint32Array(distinct.length + 1);
    const ranks = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const r = rank.get(streams[i])!;
      ranks[i] = r;
      starts[r + 1] += 1;
    }
    for (let r = 0; r < distinct.length; r++) starts[r + 1] += starts[r];
    const order = new Uint32Array(count);
    const fill = starts.slice(0, distinct.length);
    for (let i = 0; i < count; i++) order[fill[ranks[i]]++] = i;
    for (let r = 0; r < distinct.length; r++) {
      const from = starts[r];
      const to = starts[r + 1];
      let inOrder = true;
      for (let k = from + 1; k < to && inOrder; k++) inOrder = revisions[order[k - 1]] < revisions[order[k]];
      if (!inOrder) order.subarray(from, to).sort((a, b) => revisions[a] - revisions[b]);
    }
    const words = new Uint32Array(count * NODE_WORDS);
    const sortedStreams: string[] = new Array<string>(count);
    const sortedRevisions: number[] = new Array<number>(count);
    for (let k = 0; k < count; k++) {
      const i = order[k];
      sortedStreams[k] = streams[i];
      sortedRevisions[k] = revisions[i];
      this.nodes.copyTo(i, words, k);
      if (k > 0) {
        assert(
          compareStreamRevision(sortedStreams[k - 1], sortedRevisions[k - 1], streams[i], revisions[i]) < 0,
          'an event is settled once',
        );
      }
    }
    return { streams: sortedStreams, revisions: sortedRevisions, words };
  }

  /** `node`: the leaf node's 32 bytes as a latin1 string (leafNodeLatin1). */
  private push(streamId: string, revision: number, node: string): void {
    let stream = this.interned.get(streamId);
    if (stream === undefined) this.interned.set(streamId, (stream = streamId));
    this.streams.push(stream);
    this.revisions.push(revision);
    this.nodes.pushBytes(node);
    this.collectedSorted = undefined;
  }
}
