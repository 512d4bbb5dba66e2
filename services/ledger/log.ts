/**
 * The evidence log: sequencing, checkpoints and proofs over the ledger's leaves, stored as C2SP
 * tlog-tiles (services/evidence/tiles.ts, contracts/tlog.md).
 *
 * Integration appends the new leaf hashes to the right-edge tiles only; the root of the new size
 * is kept in log_state, so signing a checkpoint reads one row. A proof reads the O(log n) tiles
 * its nodes live in, all in one query. Several routers share a store: the sequencer locks
 * log_state (MySQL row lock; SQLite's single writer), assigns indices, writes the tiles and the new
 * root in the same transaction, so two routers never integrate the same leaf or the same index.
 */
import { DzlError } from '../common/errors';
import { EMPTY_ROOT } from '../evidence/merkle';
import { acceptCosignature, checkpointBody, CosignatureError, isSignatureLine, parseCheckpoint, parseVkey, signNote, type NoteSigner } from '../evidence/note';
import {
  consistencyProofFromNodes,
  edgeAfter,
  inclusionProofFromNodes,
  integrate,
  rightEdgeTiles,
  rootFromNodes,
  tileNodeReader,
  tilesRead,
  type NodeReader,
} from '../evidence/tiles';
import type { Conn, Db } from '../store/db';
import { assignLeafIndices, pendingLeaves } from '../store/evidenceLeaves';
import {
  checkpointRowAt,
  cosignatureLines,
  insertCheckpoint,
  latestCheckpointRow,
  lockLogState,
  pinLogSigner,
  readLogState,
  readTiles,
  saveCosignature,
  writeLogState,
  writeTiles,
  type CheckpointRow,
  type LogState,
} from '../store/evidenceLog';
import { recordRefusal } from './ledger';

export interface LogConfig {
  origin: string;
  signer: NoteSigner;
}

export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Buffer;
  /** The signed note with every cosignature collected so far. */
  note: string;
  createdAt: number;
}

export interface IntegratedTree {
  treeSize: number;
  rootHash: Buffer;
}

/** Leaves integrated per step; each step is one read of pending leaves and one write of tiles. */
const BATCH = 5000;

/**
 * Gives every unsequenced leaf the next dense index, in `seq` order, and integrates their hashes
 * into the tiles; returns the new tree size and root. One transaction, under the log_state lock.
 */
export async function integratePending(db: Db): Promise<IntegratedTree> {
  return db.transaction(async (trx) => integrateLocked(trx, await lockLogState(trx)));
}

async function integrateLocked(trx: Conn, state: LogState): Promise<IntegratedTree> {
  {
    let size = state.treeSize;
    let root: Uint8Array | null = state.rootHash;
    let edge = await readTiles(trx, rightEdgeTiles(size));
    for (;;) {
      const pending = await pendingLeaves(trx, BATCH);
      if (pending.length === 0) break;
      await assignLeafIndices(
        trx,
        pending.map((p) => p.seq),
        size,
      );
      const result = integrate(
        size,
        edge,
        pending.map((p) => Buffer.from(p.leafHash, 'hex')),
      );
      await writeTiles(trx, result.tiles);
      edge = edgeAfter(edge, result);
      size = result.treeSize;
      root = result.rootHash;
    }
    if (root === null) root = rootFromNodes(size, tileNodeReader(edge));
    if (size !== state.treeSize || state.rootHash === null) await writeLogState(trx, { treeSize: size, rootHash: root });
    return { treeSize: size, rootHash: Buffer.from(root) };
  }
}

/** The tree size the sequencer has reached (its leaves have indices; tiles cover them). */
export async function sequence(db: Db): Promise<number> {
  return (await integratePending(db)).treeSize;
}

/** Runs a computation over node hashes: the tiles it reads fetched first, in one query. */
async function overTiles<T>(db: Conn, compute: (node: NodeReader) => T): Promise<T> {
  const tiles = await readTiles(db, tilesRead(compute));
  return compute(tileNodeReader(tiles));
}

async function requireIntegrated(db: Conn, size: number): Promise<void> {
  const state = await readLogState(db);
  if (!Number.isSafeInteger(size) || size < 0 || size > state.treeSize) {
    throw new DzlError('REQUEST_MALFORMED', `tree size ${size} is not between 0 and the integrated size ${state.treeSize}`);
  }
}

/** The root of the tree of `size` leaves, from the tiles. */
export async function rootAt(db: Conn, size: number): Promise<Buffer> {
  await requireIntegrated(db, size);
  if (size === 0) return Buffer.from(EMPTY_ROOT);
  return Buffer.from(await overTiles(db, (node) => rootFromNodes(size, node)));
}

/** RFC 9162 inclusion proofs of leaves `indices` in the tree of `size`: O(k log n) hashes, one tile query. */
export async function proveInclusions(db: Conn, indices: readonly number[], size: number): Promise<Map<number, Buffer[]>> {
  await requireIntegrated(db, size);
  const proofs = await overTiles(db, (node) => indices.map((i) => inclusionProofFromNodes(i, size, node)));
  return new Map(indices.map((i, k) => [i, proofs[k]!.map((h) => Buffer.from(h))]));
}

export async function proveInclusion(db: Conn, index: number, size: number): Promise<Buffer[]> {
  return (await proveInclusions(db, [index], size)).get(index)!;
}

export async function proveConsistency(db: Conn, size1: number, size2: number): Promise<Buffer[]> {
  await requireIntegrated(db, size2);
  return (await overTiles(db, (node) => consistencyProofFromNodes(size1, size2, node))).map((h) => Buffer.from(h));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/**
 * The stored note with the cosignatures collected for its size. Only well-formed single lines are
 * served, so a line stored before cosignatures were checked strictly cannot spoil the note.
 */
async function withCosignatures(db: Conn, r: CheckpointRow | undefined): Promise<StoredCheckpoint | undefined> {
  if (!r) return undefined;
  const lines = (await cosignatureLines(db, r.treeSize)).filter(isSignatureLine);
  return { treeSize: r.treeSize, rootHash: r.rootHash, note: r.note + lines.join(''), createdAt: r.createdAt };
}

export async function latestCheckpoint(db: Conn): Promise<StoredCheckpoint | undefined> {
  return withCosignatures(db, await latestCheckpointRow(db));
}

export async function checkpointAt(db: Conn, size: number): Promise<StoredCheckpoint | undefined> {
  return withCosignatures(db, await checkpointRowAt(db, size));
}

/**
 * Sequences pending leaves and signs a checkpoint for the new size (if the log grew), in one
 * transaction under the log_state lock: with several routers on the store, each size is signed
 * once and checkpoints are stored in the order of their sizes. The first checkpoint pins the
 * log's origin and key in log_state; a router configured with another is refused (LogSignerMismatch).
 */
export async function publishCheckpoint(db: Db, cfg: LogConfig): Promise<StoredCheckpoint> {
  const size = await db.transaction(async (trx) => {
    const state = await lockLogState(trx);
    if (state.origin === null || state.signerVkey === null) await pinLogSigner(trx, { origin: cfg.origin, signerVkey: cfg.signer.vkey });
    else if (state.origin !== cfg.origin || state.signerVkey !== cfg.signer.vkey) throw new LogSignerMismatch(state.origin, cfg.origin);
    const tree = await integrateLocked(trx, state);
    const latest = await latestCheckpointRow(trx);
    if (latest && latest.treeSize >= tree.treeSize) return latest.treeSize;
    const note = signNote(checkpointBody({ origin: cfg.origin, size: tree.treeSize, rootHash: tree.rootHash }), cfg.signer);
    await insertCheckpoint(trx, { treeSize: tree.treeSize, rootHash: tree.rootHash, note });
    return tree.treeSize;
  });
  return (await checkpointAt(db, size))!;
}

/** This router's log configuration is not the one the store's log was first signed with. */
export class LogSignerMismatch extends Error {
  constructor(pinned: string, configured: string) {
    super(
      `the store's evidence log is ${pinned}, signed with the key pinned by its first checkpoint; this router is configured as ${configured}${pinned === configured ? ' with another key' : ''}: it will not sign checkpoints of that log`,
    );
  }
}

/** Refuses, at start, a router whose log origin or key is not the store's (nothing pinned yet passes). */
export async function checkLogSigner(db: Conn, cfg: LogConfig): Promise<void> {
  const state = await readLogState(db);
  if (state.origin !== null && state.signerVkey !== null && (state.origin !== cfg.origin || state.signerVkey !== cfg.signer.vkey)) throw new LogSignerMismatch(state.origin, cfg.origin);
}

/**
 * Stores a witness's cosignature of the checkpoint of `size`: exactly one cosignature/v1 line by
 * the witness's own key that verifies over that checkpoint (evidence/note.ts acceptCosignature),
 * re-encoded by the log. Anything else is refused with COSIGNATURE_INVALID and recorded as a
 * refusal leaf (stage `cosignature`), `submittedBy` naming the witness's party.
 */
export async function addCosignature(db: Db, size: number, line: string, witnessVkey: string, submittedBy?: string): Promise<StoredCheckpoint> {
  const refuse = async (why: string): Promise<never> => {
    const err = new DzlError('COSIGNATURE_INVALID', `cosignature of checkpoint ${size} refused: ${why}`);
    await recordRefusal(db, { code: err.code, message: err.message, stage: 'cosignature', refusedBy: 'router', ...(submittedBy ? { from: submittedBy } : {}) });
    throw err;
  };
  const cp = Number.isSafeInteger(size) ? await checkpointAt(db, size) : undefined;
  if (!cp) return refuse(`no checkpoint of size ${size}`);
  const witness = parseVkey(witnessVkey);
  let accepted;
  try {
    accepted = acceptCosignature(parseBody(cp.note), line, witness);
  } catch (err) {
    if (err instanceof CosignatureError) return refuse(`${err.code}: ${err.message}`);
    throw err;
  }
  await saveCosignature(db, size, witness.name, accepted.line);
  return (await checkpointAt(db, size))!;
}

/** The checkpoint body (origin, size, root) of a signed note. */
export function parseBody(note: string): string {
  const body = note.slice(0, note.indexOf('\n\n') + 1);
  parseCheckpoint(body);
  return body;
}
