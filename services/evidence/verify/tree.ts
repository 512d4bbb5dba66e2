/**
 * (c) Every leaf is in the checkpoint's tree — by its inclusion proof, or, for a complete bundle,
 * by recomputing the root over all of them — and is canonical JSON of a leaf format (../leaves.ts).
 * A leaf the log does not vouch for is set aside: its content is never used.
 */
import { fromB64url } from '../../seal/bytes';
import { decodeLeaf } from '../leaves';
import { HASH_SIZE, MerkleError, ProofLengthError, RootMismatchError, hashLeaf, merkleRoot, verifyInclusion } from '../merkle';
import type { Checkpoint } from '../note';
import type { CheckCode } from './codes';
import { explain, type Checks, type Progress } from './report';
import type { DecodedLeaf, RawLeaf, Shape } from './types';

function decodeProof(proof: string[]): Uint8Array[] | number {
  const out: Uint8Array[] = [];
  for (let k = 0; k < proof.length; k++) {
    const h = fromB64url(proof[k]);
    if (!h || h.length !== HASH_SIZE) return k;
    out.push(h);
  }
  return out;
}

/** Undefined when the leaf's proof leads to the root; otherwise what is wrong with it. */
function inclusionProblem(leaf: RawLeaf, cp: Checkpoint): { code: CheckCode; reason: string } | undefined {
  if (!leaf.proof) return { code: 'LEAF_PROOF_MISSING', reason: 'has no inclusion proof, and the bundle is not complete' };
  const proof = decodeProof(leaf.proof);
  if (typeof proof === 'number') return { code: 'LEAF_PROOF_MALFORMED', reason: `inclusion proof hash ${proof} is not base64url of a ${HASH_SIZE}-byte hash` };
  try {
    verifyInclusion(leaf.index, cp.size, hashLeaf(leaf.data), proof, cp.rootHash);
    return undefined;
  } catch (err) {
    if (err instanceof RootMismatchError) return { code: 'LEAF_PROOF_MISMATCH', reason: 'inclusion proof does not lead to the checkpoint root' };
    if (err instanceof ProofLengthError) {
      return { code: 'LEAF_PROOF_LENGTH', reason: `inclusion proof has ${err.actualLength} hashes; leaf ${leaf.index} of a tree of ${cp.size} needs ${err.expectedLength}` };
    }
    return { code: 'LEAF_PROOF_MALFORMED', reason: `inclusion proof: ${err instanceof MerkleError ? err.message : explain(err)}` };
  }
}

/** Indices first: a bundle must not show the same position twice or one the tree lacks. */
function placedLeaves(shape: Shape, cp: Checkpoint | undefined, checks: Checks): RawLeaf[] {
  const seen = new Set<number>();
  const placed: RawLeaf[] = [];
  for (const leaf of shape.leaves) {
    if (seen.has(leaf.index)) {
      checks.fail('LEAF_INDEX_DUPLICATE', 'leaf index', `leaf ${leaf.index}: index appears more than once in the bundle`, leaf.index);
      continue;
    }
    seen.add(leaf.index);
    if (cp && leaf.index >= cp.size) {
      checks.fail('LEAF_INDEX_OUT_OF_RANGE', 'leaf index', `leaf ${leaf.index}: index is not below the checkpoint's tree size ${cp.size}`, leaf.index);
      continue;
    }
    placed.push(leaf);
  }
  return placed;
}

function checkWholeLog(shape: Shape, cp: Checkpoint, checks: Checks, progress: Progress): void {
  const inOrder = shape.leaves.length === cp.size && shape.leaves.every((l, i) => l.index === i);
  if (!inOrder) {
    checks.fail('LOG_NOT_WHOLE', 'complete log', `complete bundle: leaves are not exactly indices 0..${cp.size - 1} in order (${shape.leafEntries} entries)`);
    return;
  }
  const root = merkleRoot(
    shape.leaves.map((l) => {
      progress.advance();
      return hashLeaf(l.data);
    }),
  );
  if (Buffer.from(root).equals(cp.rootHash)) checks.pass('complete log', `the ${cp.size} leaves hash to the checkpoint root`);
  else checks.fail('LOG_ROOT_MISMATCH', 'complete log', `complete bundle: the root of the ${cp.size} leaves is not the checkpoint root`);
}

/**
 * Which leaves the log vouches for. A bundle-wide failure (no usable checkpoint, a complete
 * bundle whose root differs) already fails the bundle and singles out no leaf, so their content is
 * still checked for the report's sake.
 */
function vouchedLeaves(shape: Shape, placed: RawLeaf[], cp: Checkpoint | undefined, checks: Checks, progress: Progress, mark: number): RawLeaf[] {
  if (!cp) {
    checks.fail('LEAF_NOT_PROVEN', 'leaf inclusion', 'leaves: not proven: the bundle has no usable checkpoint');
    return placed;
  }
  if (shape.complete) {
    checkWholeLog(shape, cp, checks, progress);
    // Proofs are not needed in a complete bundle; any that are present must still be right.
    return placed.filter((leaf) => {
      const problem = leaf.proof ? inclusionProblem(leaf, cp) : undefined;
      if (problem) checks.fail(problem.code, 'leaf inclusion', `leaf ${leaf.index}: ${problem.reason}`, leaf.index);
      return !problem;
    });
  }
  const vouched: RawLeaf[] = [];
  for (const leaf of placed) {
    const problem = inclusionProblem(leaf, cp);
    if (problem) checks.fail(problem.code, 'leaf inclusion', `leaf ${leaf.index}: ${problem.reason}; its content is not used`, leaf.index);
    else vouched.push(leaf);
    progress.advance();
  }
  if (checks.failuresSince(mark) === 0) checks.pass('leaf inclusion', `${placed.length} inclusion proofs lead to the checkpoint root`);
  return vouched;
}

export function checkLeaves(shape: Shape, cp: Checkpoint | undefined, checks: Checks, progress: Progress): DecodedLeaf[] {
  const start = checks.list.length;
  const vouched = vouchedLeaves(shape, placedLeaves(shape, cp, checks), cp, checks, progress, start);
  progress.reach(shape.leafEntries);
  const decoded: DecodedLeaf[] = [];
  const mark = checks.list.length;
  for (const leaf of [...vouched].sort((a, b) => a.index - b.index)) {
    progress.advance();
    const result = decodeLeaf(leaf.data);
    if (!result.ok) checks.fail(result.code, 'leaf data', `leaf ${leaf.index}: ${result.reason}`, leaf.index);
    else decoded.push({ index: leaf.index, data: leaf.data, leaf: result.leaf });
  }
  if (checks.failuresSince(mark) === 0) checks.pass('leaf data', `${decoded.length} leaves are canonical JSON of known leaf types`);
  return decoded;
}
