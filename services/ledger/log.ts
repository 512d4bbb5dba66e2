/**
 * The evidence log: sequencing, checkpoints and proofs over the ledger's leaves.
 *
 * Proofs are computed from the leaf hashes, O(n) per proof (services/evidence/merkle.ts); at the
 * volumes here that is milliseconds. A stored tile cache is the next step when logs reach tens of
 * millions of leaves.
 */
import type { Knex } from 'knex';
import { toMs, isMysql, type Db } from '../store/db';
import { consistencyProof, merkleRoot } from '../evidence/merkle';
import { checkpointBody, openNote, parseCheckpoint, parseVkey, signNote, type NoteSigner } from '../evidence/note';

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

const BATCH = 5000;

/**
 * Gives every unsequenced leaf the next dense index, in `seq` order; returns the tree size.
 * Serialised by a row lock on log_state (MySQL) or SQLite's single writer.
 */
export async function sequence(db: Db): Promise<number> {
  return db.transaction(async (trx) => {
    const q = trx('log_state').where({ id: 1 });
    const state = await (isMysql(db) ? q.forUpdate() : q).first();
    let size = toMs(state.tree_size);
    for (;;) {
      const pending = (await trx('evidence_leaves').whereNull('leaf_index').orderBy('seq').limit(BATCH).select('seq')).map((r) => Number(r.seq));
      if (pending.length === 0) break;
      // one statement per chunk: seq → next index, in seq order
      for (let i = 0; i < pending.length; i += 500) {
        const chunk = pending.slice(i, i + 500);
        const cases = chunk.map(() => 'WHEN ? THEN ?').join(' ');
        const bindings = chunk.flatMap((seq) => [seq, size++]);
        await trx.raw(`UPDATE evidence_leaves SET leaf_index = CASE seq ${cases} END WHERE seq IN (${chunk.map(() => '?').join(',')})`, [...bindings, ...chunk]);
      }
    }
    await trx('log_state').where({ id: 1 }).update({ tree_size: size });
    return size;
  });
}

export async function leafHashes(db: Db | Knex.Transaction, size: number): Promise<Buffer[]> {
  const rows = await db('evidence_leaves').whereNotNull('leaf_index').andWhere('leaf_index', '<', size).orderBy('leaf_index').select('leaf_hash');
  if (rows.length !== size) throw new Error(`log has ${rows.length} sequenced leaves below ${size}`);
  return rows.map((r) => Buffer.from(r.leaf_hash as string, 'hex'));
}

function rowToCheckpoint(r: Record<string, unknown>, cosignatures: string[]): StoredCheckpoint {
  return { treeSize: toMs(r.tree_size), rootHash: Buffer.from(r.root_hash as string, 'hex'), note: (r.note as string) + cosignatures.join(''), createdAt: toMs(r.created_at) };
}

async function withCosignatures(db: Db, r: Record<string, unknown> | undefined): Promise<StoredCheckpoint | undefined> {
  if (!r) return undefined;
  const lines = await db('log_cosignatures').where({ tree_size: r.tree_size }).orderBy('witness').select('line');
  return rowToCheckpoint(r, lines.map((l) => l.line as string));
}

export async function latestCheckpoint(db: Db): Promise<StoredCheckpoint | undefined> {
  return withCosignatures(db, await db('log_checkpoints').orderBy('tree_size', 'desc').first());
}

export async function checkpointAt(db: Db, size: number): Promise<StoredCheckpoint | undefined> {
  return withCosignatures(db, await db('log_checkpoints').where({ tree_size: size }).first());
}

/** Sequences pending leaves and signs a checkpoint for the new size (if the log grew). */
export async function publishCheckpoint(db: Db, cfg: LogConfig): Promise<StoredCheckpoint> {
  const size = await sequence(db);
  const latest = await latestCheckpoint(db);
  if (latest && latest.treeSize >= size) return latest;
  const rootHash = Buffer.from(merkleRoot(await leafHashes(db, size)));
  const note = signNote(checkpointBody({ origin: cfg.origin, size, rootHash }), cfg.signer);
  await db('log_checkpoints').insert({ tree_size: size, root_hash: rootHash.toString('hex'), note, created_at: Date.now() }).onConflict('tree_size').ignore();
  return (await checkpointAt(db, size))!;
}

/** Stores a witness's cosignature after checking it against the checkpoint it names. */
export async function addCosignature(db: Db, size: number, line: string, witnessVkey: string): Promise<StoredCheckpoint> {
  const cp = await checkpointAt(db, size);
  if (!cp) throw new Error(`no checkpoint of size ${size}`);
  const witness = parseVkey(witnessVkey);
  const body = parseBody(cp.note);
  const opened = openNote(`${body}\n${line.endsWith('\n') ? line : `${line}\n`}`, [witness]);
  if (!opened.verifiedBy.includes(witness.name)) throw new Error('cosignature does not verify');
  await db('log_cosignatures')
    .insert({ tree_size: size, witness: witness.name, line: line.endsWith('\n') ? line : `${line}\n`, created_at: Date.now() })
    .onConflict(['tree_size', 'witness'])
    .merge();
  return (await checkpointAt(db, size))!;
}

/** The checkpoint body (origin, size, root) of a signed note. */
export function parseBody(note: string): string {
  const body = note.slice(0, note.indexOf('\n\n') + 1);
  parseCheckpoint(body);
  return body;
}

export async function proveConsistency(db: Db, size1: number, size2: number): Promise<Buffer[]> {
  return consistencyProof(size1, await leafHashes(db, size2)).map((h) => Buffer.from(h));
}
