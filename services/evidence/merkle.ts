/**
 * RFC 9162 §2.1 Merkle tree hashing (identical to RFC 6962 §2.1) with SHA-256, for the
 * evidence log: the router produces inclusion and consistency proofs, auditors verify them.
 *
 * Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 as written, after an exact proof-length
 * check (the decomposition used by transparency-dev/merkle proof/verify.go), so that a proof of
 * the wrong shape is reported as such rather than as a generic mismatch. Every check fails
 * closed: a verifier returns normally only when the proof reproduces the claimed root.
 */
import { createHash } from 'node:crypto';

/** SHA-256 output size; RFC 9162 fixes the hash for a log, so any other length is malformed. */
export const HASH_SIZE = 32;

/** A tree size or leaf index. Sizes are uint64 on the wire (RFC 9162 §4), hence bigint inside. */
export type TreeCount = number | bigint;

const UINT64_MAX = (1n << 64n) - 1n;

// Domain-separation prefixes: without them a leaf could be passed off as an interior node
// (second-preimage attack on the tree).
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

// ---------------------------------------------------------------------------------------------
// Errors

export type MerkleErrorCode =
  | 'MERKLE_HASH_SIZE'
  | 'MERKLE_PROOF_LENGTH'
  | 'MERKLE_INDEX_OUT_OF_RANGE'
  | 'MERKLE_ROOT_MISMATCH'
  | 'MERKLE_EMPTY_TREE'
  | 'MERKLE_INVALID_INTEGER';

export class MerkleError extends Error {
  override readonly name: string = 'MerkleError';
  constructor(
    readonly code: MerkleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A hash (leaf, root or proof element) is not HASH_SIZE bytes. */
export class HashSizeError extends MerkleError {
  override readonly name = 'HashSizeError';
  constructor(
    readonly what: string,
    readonly actualSize: number,
  ) {
    super('MERKLE_HASH_SIZE', `${what} is ${actualSize} bytes, want ${HASH_SIZE}`);
  }
}

/** The proof has a different number of hashes than the index and sizes determine. */
export class ProofLengthError extends MerkleError {
  override readonly name = 'ProofLengthError';
  constructor(
    readonly actualLength: number,
    readonly expectedLength: number,
  ) {
    super('MERKLE_PROOF_LENGTH', `proof has ${actualLength} hashes, want ${expectedLength}`);
  }
}

/** A leaf index is not below the tree size, or an older tree is claimed larger than a newer one. */
export class IndexOutOfRangeError extends MerkleError {
  override readonly name = 'IndexOutOfRangeError';
  constructor(message: string) {
    super('MERKLE_INDEX_OUT_OF_RANGE', message);
  }
}

/** The root recomputed from the proof differs from the claimed root. */
export class RootMismatchError extends MerkleError {
  override readonly name = 'RootMismatchError';
  constructor(
    readonly what: string,
    readonly expectedRoot: Uint8Array,
    readonly calculatedRoot: Uint8Array,
  ) {
    super('MERKLE_ROOT_MISMATCH', `calculated ${what} does not match the claimed ${what}`);
  }
}

/** The operation has no meaning for a tree with no leaves. */
export class EmptyTreeError extends MerkleError {
  override readonly name = 'EmptyTreeError';
  constructor(message: string) {
    super('MERKLE_EMPTY_TREE', message);
  }
}

/** A size or index is negative, fractional, unsafe as a number, or beyond uint64. */
export class InvalidIntegerError extends MerkleError {
  override readonly name = 'InvalidIntegerError';
  constructor(readonly what: string) {
    super('MERKLE_INVALID_INTEGER', `${what} must be an integer in [0, 2^64)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hashing (RFC 9162 §2.1.1)

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  // A plain Uint8Array rather than a Buffer, so callers compare hashes without Buffer semantics.
  return new Uint8Array(h.digest());
}

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

/**
 * SHA-256(0x01 ‖ left ‖ right). Sizes are not checked here because RFC 9162 defines the node
 * hash over arbitrary bytes; every proof entry point checks HASH_SIZE before chaining.
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/**
 * MTH({}) = SHA-256(""). Exported for callers; the verifiers compare against a private copy so
 * that a caller mutating this array cannot make a forged empty-tree root verify.
 */
export const EMPTY_ROOT: Uint8Array = sha256();
const EMPTY_ROOT_PRIVATE: Uint8Array = sha256();

// ---------------------------------------------------------------------------------------------
// Input checks

function toCount(value: TreeCount, what: string): bigint {
  let n: bigint;
  if (typeof value === 'bigint') {
    n = value;
  } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
    n = BigInt(value);
  } else {
    throw new InvalidIntegerError(what);
  }
  if (n < 0n || n > UINT64_MAX) throw new InvalidIntegerError(what);
  return n;
}

function checkHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new HashSizeError(what, hash instanceof Uint8Array ? hash.length : -1);
  }
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  proof.forEach((hash, i) => checkHash(hash, `proof[${i}]`));
}

function checkProofLength(proof: readonly Uint8Array[], expected: bigint): void {
  if (BigInt(proof.length) !== expected) throw new ProofLengthError(proof.length, Number(expected));
}

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function requireRoot(calculated: Uint8Array, claimed: Uint8Array, what: string): void {
  if (!equalHashes(calculated, claimed)) {
    // Copies, so that the error never hands out an array the caller or this module still uses.
    throw new RootMismatchError(what, Uint8Array.from(claimed), Uint8Array.from(calculated));
  }
}

// ---------------------------------------------------------------------------------------------
// Bit arithmetic on uint64 values held as bigint

function bitLength(x: bigint): bigint {
  return x === 0n ? 0n : BigInt(x.toString(2).length);
}

function onesCount(x: bigint): bigint {
  let count = 0n;
  for (const bit of x.toString(2)) if (bit === '1') count++;
  return count;
}

function trailingZeros(x: bigint): bigint {
  let count = 0n;
  while (x > 0n && (x & 1n) === 0n) {
    x >>= 1n;
    count++;
  }
  return count;
}

function isPowerOfTwo(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

/**
 * Length of the inclusion proof for leaf `index` in a tree of `size`: the `inner` hashes below
 * the level where the paths to `index` and to the last leaf `size-1` meet, plus one `border`
 * hash per left subtree above that level. Same decomposition as transparency-dev/merkle.
 */
function inclusionProofShape(index: bigint, size: bigint): { inner: bigint; border: bigint } {
  const inner = bitLength(index ^ (size - 1n));
  const border = onesCount(index >> inner);
  return { inner, border };
}

// ---------------------------------------------------------------------------------------------
// Verifier side

/**
 * The root implied by an inclusion proof (RFC 9162 §2.1.3.2). Rejects size 0, index ≥ size,
 * non-HASH_SIZE hashes and a proof of the wrong length before hashing anything.
 */
export function rootFromInclusionProof(
  index: TreeCount,
  size: TreeCount,
  leafHash: Uint8Array,
  proof: Uint8Array[],
): Uint8Array {
  const leafIndex = toCount(index, 'leaf index');
  const treeSize = toCount(size, 'tree size');
  if (treeSize === 0n) throw new EmptyTreeError('an empty tree has no inclusion proofs');
  if (leafIndex >= treeSize) {
    throw new IndexOutOfRangeError(`leaf index ${leafIndex} is not below tree size ${treeSize}`);
  }
  checkHash(leafHash, 'leaf hash');
  checkProofHashes(proof);
  const { inner, border } = inclusionProofShape(leafIndex, treeSize);
  checkProofLength(proof, inner + border);

  let fn = leafIndex;
  let sn = treeSize - 1n;
  let r = leafHash;
  for (const p of proof) {
    // Unreachable after the length check; kept so the loop is the RFC's algorithm on its own.
    if (sn === 0n) throw new ProofLengthError(proof.length, Number(inner + border));
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofLengthError(proof.length, Number(inner + border));
  // A one-leaf tree's root is the leaf hash itself; never return the caller's own array.
  return Uint8Array.from(r);
}

/** Returns normally only if `proof` shows `leafHash` at `index` in the tree of `size` with `root`. */
export function verifyInclusion(
  index: TreeCount,
  size: TreeCount,
  leafHash: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): void {
  checkHash(root, 'root');
  const calculated = rootFromInclusionProof(index, size, leafHash, proof);
  requireRoot(calculated, root, 'root');
}

/**
 * The root of the size2 tree implied by a consistency proof from the size1 tree with `root1`
 * (RFC 9162 §2.1.4.2); throws RootMismatchError if the proof does not reproduce `root1`.
 *
 * size1 = 0 throws EmptyTreeError: every tree extends the empty one, so the proof is empty and
 * carries no information from which a size2 root could be derived (verifyConsistency handles it).
 */
export function rootFromConsistencyProof(
  size1: TreeCount,
  size2: TreeCount,
  proof: Uint8Array[],
  root1: Uint8Array,
): Uint8Array {
  const first = toCount(size1, 'size1');
  const second = toCount(size2, 'size2');
  if (first > second) {
    throw new IndexOutOfRangeError(`size1 ${first} is larger than size2 ${second}`);
  }
  checkHash(root1, 'root1');
  checkProofHashes(proof);
  if (first === second) {
    checkProofLength(proof, 0n);
    return Uint8Array.from(root1);
  }
  if (first === 0n) {
    checkProofLength(proof, 0n);
    throw new EmptyTreeError('a consistency proof from the empty tree does not determine root2');
  }

  // The proof is the tail of the inclusion proof for leaf size1-1 in the size2 tree, starting at
  // the level of the largest complete subtree ending at size1; that subtree's hash comes first
  // unless it is the whole size1 tree, whose root the verifier already holds.
  const { inner, border } = inclusionProofShape(first - 1n, second);
  const shift = trailingZeros(first);
  const seedGiven = isPowerOfTwo(first) ? 0n : 1n;
  const expected = seedGiven + (inner - shift) + border;
  checkProofLength(proof, expected);

  const path = isPowerOfTwo(first) ? [root1, ...proof] : proof;
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    // As in rootFromInclusionProof: unreachable after the length check, kept from the RFC.
    if (sn === 0n) throw new ProofLengthError(proof.length, Number(expected));
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofLengthError(proof.length, Number(expected));
  requireRoot(fr, root1, 'root1');
  return sr;
}

/**
 * Returns normally only if the size2 tree with `root2` is an append-only extension of the size1
 * tree with `root1`. size1 = size2 needs an empty proof and equal roots; size1 = 0 needs an
 * empty proof and root1 = EMPTY_ROOT (the only root an empty tree can have).
 */
export function verifyConsistency(
  size1: TreeCount,
  size2: TreeCount,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const first = toCount(size1, 'size1');
  const second = toCount(size2, 'size2');
  if (first > second) {
    throw new IndexOutOfRangeError(`size1 ${first} is larger than size2 ${second}`);
  }
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  checkProofHashes(proof);
  if (first === 0n) {
    checkProofLength(proof, 0n);
    requireRoot(EMPTY_ROOT_PRIVATE, root1, 'root1');
    if (second === 0n) requireRoot(root1, root2, 'root2');
    return;
  }
  const calculated = rootFromConsistencyProof(first, second, proof, root1);
  requireRoot(calculated, root2, 'root2');
}

// ---------------------------------------------------------------------------------------------
// Producer side, over the in-memory list of leaf hashes.
//
// These follow the recursive definitions of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 directly.
// merkleRoot is O(n) hashes; each proof is O(n) hashes too, because every subtree hash on the
// path is recomputed from its leaves. That is fine for the log sizes the router proves over; a
// large log would keep the complete-subtree hashes instead of recomputing them.

function checkLeafHashes(leafHashes: readonly Uint8Array[]): void {
  leafHashes.forEach((hash, i) => checkHash(hash, `leafHashes[${i}]`));
}

/** The largest power of two strictly less than n (n ≥ 2): the RFC's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaves[start, end), with end > start. */
function subtreeHash(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end - start === 1) return leaves[start]!;
  const k = splitPoint(end - start);
  return hashChildren(subtreeHash(leaves, start, start + k), subtreeHash(leaves, start + k, end));
}

/** MTH(D[n]) of RFC 9162 §2.1.1 over already-hashed leaves; EMPTY_ROOT for no leaves. */
export function merkleRoot(leafHashes: Uint8Array[]): Uint8Array {
  checkLeafHashes(leafHashes);
  if (leafHashes.length === 0) return Uint8Array.from(EMPTY_ROOT_PRIVATE);
  return Uint8Array.from(subtreeHash(leafHashes, 0, leafHashes.length));
}

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1, ordered from the leaf's sibling up to the root. */
export function inclusionProof(index: TreeCount, leafHashes: Uint8Array[]): Uint8Array[] {
  const leafIndex = toCount(index, 'leaf index');
  checkLeafHashes(leafHashes);
  const n = leafHashes.length;
  if (n === 0) throw new EmptyTreeError('an empty tree has no inclusion proofs');
  if (leafIndex >= BigInt(n)) {
    throw new IndexOutOfRangeError(`leaf index ${leafIndex} is not below tree size ${n}`);
  }
  const m = Number(leafIndex);

  const path: Uint8Array[] = [];
  const walk = (start: number, end: number, target: number): void => {
    if (end - start === 1) return;
    const k = splitPoint(end - start);
    if (target < start + k) {
      walk(start, start + k, target);
      path.push(subtreeHash(leafHashes, start + k, end));
    } else {
      walk(start + k, end, target);
      path.push(subtreeHash(leafHashes, start, start + k));
    }
  };
  walk(0, n, m);
  return path.map((hash) => Uint8Array.from(hash));
}

/**
 * PROOF(m, D[n]) of RFC 9162 §2.1.4.1: consistency of the first `size1` leaves with the whole
 * of `leafHashes`. Empty for size1 = 0 and size1 = n, matching what verifyConsistency accepts.
 */
export function consistencyProof(size1: TreeCount, leafHashes: Uint8Array[]): Uint8Array[] {
  const first = toCount(size1, 'size1');
  checkLeafHashes(leafHashes);
  const n = leafHashes.length;
  if (first > BigInt(n)) throw new IndexOutOfRangeError(`size1 ${first} is larger than size2 ${n}`);
  const m = Number(first);
  if (m === 0 || m === n) return [];

  const proof: Uint8Array[] = [];
  // SUBPROOF(m, D[start:end], haveRoot): haveRoot is true while D[0:m] is the subtree whose root
  // the verifier already holds, so its hash is left out.
  const subproof = (target: number, start: number, end: number, haveRoot: boolean): void => {
    if (target === end - start) {
      if (!haveRoot) proof.push(subtreeHash(leafHashes, start, end));
      return;
    }
    const k = splitPoint(end - start);
    if (target <= k) {
      subproof(target, start, start + k, haveRoot);
      proof.push(subtreeHash(leafHashes, start + k, end));
    } else {
      subproof(target - k, start + k, end, false);
      proof.push(subtreeHash(leafHashes, start, start + k));
    }
  };
  subproof(m, 0, n, true);
  return proof.map((hash) => Uint8Array.from(hash));
}
