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

/**
 * 32-byte hashes kept binary, in chunks of 64k: a hex string per hash takes three times the
 * memory, and a period can hold millions of them.
 */
export class HashColumn {
  private readonly chunks: Buffer[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends `hash` if it is 64 lowercase hex digits, 32 zero bytes otherwise. */
  push(hash: unknown): void {
    const i = this.count++;
    const chunk = Math.floor(i / HASH_CHUNK);
    if (chunk === this.chunks.length) this.chunks.push(Buffer.alloc(HASH_CHUNK * 32));
    if (isHash(hash)) this.chunks[chunk].write(hash, (i % HASH_CHUNK) * 32, 32, 'hex');
  }

  /** Appends 32 bytes as they are (a hash already binary, such as a Merkle node): a Buffer, or a latin1 string of them. */
  pushBytes(bytes: Buffer | string): void {
    assert(bytes.length === 32, 'a hash is 32 bytes');
    const i = this.count++;
    const chunk = Math.floor(i / HASH_CHUNK);
    if (chunk === this.chunks.length) this.chunks.push(Buffer.alloc(HASH_CHUNK * 32));
    if (typeof bytes === 'string') this.chunks[chunk].write(bytes, (i % HASH_CHUNK) * 32, 32, 'latin1');
    else bytes.copy(this.chunks[chunk], (i % HASH_CHUNK) * 32);
  }

  hexAt(i: number): string {
    const offset = (i % HASH_CHUNK) * 32;
    return this.chunks[Math.floor(i / HASH_CHUNK)].toString('hex', offset, offset + 32);
  }

  /** Copies hash `i`'s bytes into `target` at `offset`. */
  copyInto(i: number, target: Buffer, offset: number): void {
    const from = (i % HASH_CHUNK) * 32;
    this.chunks[Math.floor(i / HASH_CHUNK)].copy(target, offset, from, from + 32);
  }
}

/** A part of a period's leaves, as one thread collected them: handed to another to be absorbed. */
export interface PeriodLeavesPart {
  streams: readonly string[];
  revisions: readonly number[];
  /** The leaf nodes, 32 bytes each, in the order of `streams` and `revisions`. */
  nodes: Uint8Array;
}

/**
 * A period's leaves as a close collects them, one settled event at a time, kept column-wise
 * (interned stream ids, revisions, binary leaf nodes): about 50 bytes an event where an object
 * with a hex string took several times that for as long as the close ran. A leaf node does not
 * depend on the order, so it is hashed as the event arrives, on the thread that reads it; the
 * sort and the inner nodes wait for `root()`, which is `periodMerkleRoot` of the same events.
 */
export class PeriodLeaves {
  private readonly streams: string[] = [];
  private readonly revisions: number[] = [];
  private readonly nodes = new HashColumn();
  private readonly interned = new Map<string, string>();

  get size(): number {
    return this.revisions.length;
  }

  add(e: LeafEvent): void {
    assert(isHash(e.hash), 'every stored event carries its chain hash');
    this.push(e.streamId, e.revision, leafNodeLatin1(e.hash));
  }

  /**
   * The leaves collected here, to be absorbed by the collector of the whole period: taken
   * once collecting is done (the columns are this object's own, handed over as they are; a
   * message to another thread copies them anyway).
   */
  part(): PeriodLeavesPart {
    const nodes = Buffer.allocUnsafe(this.size * 32);
    for (let i = 0; i < this.size; i++) this.nodes.copyInto(i, nodes, i * 32);
    return { streams: this.streams, revisions: this.revisions, nodes };
  }

  /** Adds the leaves of another part of the period (the root does not depend on the order they came in). */
  absorb(part: PeriodLeavesPart): void {
    const { streams, revisions } = part;
    const count = revisions.length;
    assert(streams.length === count && part.nodes.length === count * 32, 'a leaves part is whole');
    const nodes = Buffer.from(part.nodes.buffer, part.nodes.byteOffset, part.nodes.byteLength);
    for (let i = 0; i < count; i++) this.push(streams[i], revisions[i], nodes.subarray(i * 32, i * 32 + 32));
  }

  root(): string {
    return rootInPlace(this.sortedNodes(), this.size);
  }

  /**
   * The leaf nodes in the tree's order, (streamId, revision), laid end to end: what `root()`
   * hashes up, for a caller that hashes the two halves of the tree on two threads.
   */
  sortedNodes(): Buffer {
    const { streams, revisions } = this;
    const order = Array.from({ length: revisions.length }, (_, i) => i);
    const compare = (a: number, b: number) => compareStreamRevision(streams[a], revisions[a], streams[b], revisions[b]);
    order.sort(compare);
    for (let k = 1; k < order.length; k++) assert(compare(order[k - 1], order[k]) < 0, 'an event is settled once');
    const nodes = Buffer.allocUnsafe(order.length * 32);
    order.forEach((i, k) => this.nodes.copyInto(i, nodes, k * 32));
    return nodes;
  }

  private push(streamId: string, revision: number, node: Buffer | string): void {
    let stream = this.interned.get(streamId);
    if (stream === undefined) this.interned.set(streamId, (stream = streamId));
    this.streams.push(stream);
    this.revisions.push(revision);
    this.nodes.pushBytes(node);
  }
}
