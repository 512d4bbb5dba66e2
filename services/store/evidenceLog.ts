/**
 * The Merkle log's own tables: `log_state` (one row: the integrated tree size and its root),
 * `log_tiles` (the tree as C2SP tlog-tiles, one row per tile, rewritten only while it is the
 * partial tile at the right edge), `log_checkpoints` (the router's signed notes) and
 * `log_cosignatures` (one line per witness and size).
 */
import { forUpdate, isMysql, toMs, type Conn, type Db } from './db';
import { tileKey, type TileSet } from '../evidence/tiles';

export interface LogState {
  treeSize: number;
  /** Null only in a store migrated before 008 ran (never after). */
  rootHash: Buffer | null;
  /** The log's origin and checkpoint key (vkey), pinned by the first checkpoint after 010; null before. */
  origin: string | null;
  signerVkey: string | null;
}

const toState = (r: Record<string, unknown>): LogState => ({
  treeSize: toMs(r.tree_size as number),
  rootHash: r.root_hash ? Buffer.from(r.root_hash as string, 'hex') : null,
  origin: (r.origin as string | null | undefined) ?? null,
  signerVkey: (r.signer_vkey as string | null | undefined) ?? null,
});

/**
 * The log state, locked until the transaction ends: the one point that serialises sequencers of
 * every router sharing the store (a row lock on MySQL; SQLite has one writer at a time).
 */
export async function lockLogState(trx: Conn): Promise<LogState> {
  // SQLite: write before reading, so the transaction takes the write lock first (waiting out
  // busy_timeout) instead of reading a snapshot another router's commit makes stale, which
  // SQLite refuses to upgrade ("database is locked") — BEGIN IMMEDIATE by other means.
  if (!isMysql(trx as Db)) await trx('log_state').where({ id: 1 }).update({ tree_size: trx.raw('tree_size') });
  return toState(await forUpdate(trx, trx('log_state').where({ id: 1 })).first());
}

export async function readLogState(db: Conn): Promise<LogState> {
  return toState(await db('log_state').where({ id: 1 }).first());
}

/** Pins the log's origin and checkpoint key (under lockLogState). */
export async function pinLogSigner(trx: Conn, pin: { origin: string; signerVkey: string }): Promise<void> {
  await trx('log_state').where({ id: 1 }).update({ origin: pin.origin, signer_vkey: pin.signerVkey });
}

export async function writeLogState(trx: Conn, s: { treeSize: number; rootHash: Uint8Array }): Promise<void> {
  await trx('log_state').where({ id: 1 }).update({ tree_size: s.treeSize, root_hash: Buffer.from(s.rootHash).toString('hex') });
}

// ---------------------------------------------------------------------------------------------
// Tiles

const TILE_QUERY = 200;

/** The stored tiles among `wanted` (full or partial), by tileKey; absent ones are left out. */
export async function readTiles(db: Conn, wanted: readonly { level: number; index: number }[]): Promise<TileSet> {
  const out: TileSet = new Map();
  for (let i = 0; i < wanted.length; i += TILE_QUERY) {
    const chunk = wanted.slice(i, i + TILE_QUERY);
    const rows = await db('log_tiles')
      .where((w) => {
        for (const t of chunk) w.orWhere((c) => c.where({ level: t.level, tile_index: t.index }));
      })
      .select('level', 'tile_index', 'hashes');
    for (const r of rows) out.set(tileKey(Number(r.level), toMs(r.tile_index)), new Uint8Array(r.hashes as Buffer));
  }
  return out;
}

export async function readTile(db: Conn, level: number, index: number): Promise<Uint8Array | undefined> {
  const r = await db('log_tiles').where({ level, tile_index: index }).first('hashes');
  return r ? new Uint8Array(r.hashes as Buffer) : undefined;
}

/** Writes tiles whole; a tile only ever grows, so a rewrite keeps every hash it had. */
export async function writeTiles(trx: Conn, tiles: readonly { level: number; index: number; hashes: Uint8Array }[]): Promise<void> {
  for (const t of tiles) {
    await trx('log_tiles')
      .insert({ level: t.level, tile_index: t.index, width: t.hashes.length / 32, hashes: Buffer.from(t.hashes) })
      .onConflict(['level', 'tile_index'])
      .merge(['width', 'hashes']);
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and cosignatures

export interface CheckpointRow {
  treeSize: number;
  rootHash: Buffer;
  /** The router's signed note, without cosignatures. */
  note: string;
  createdAt: number;
}

function toCheckpoint(r: Record<string, unknown>): CheckpointRow {
  return { treeSize: toMs(r.tree_size), rootHash: Buffer.from(r.root_hash as string, 'hex'), note: r.note as string, createdAt: toMs(r.created_at) };
}

export async function insertCheckpoint(db: Conn, c: Omit<CheckpointRow, 'createdAt'>): Promise<void> {
  await db('log_checkpoints').insert({ tree_size: c.treeSize, root_hash: c.rootHash.toString('hex'), note: c.note, created_at: Date.now() }).onConflict('tree_size').ignore();
}

export async function latestCheckpointRow(db: Conn): Promise<CheckpointRow | undefined> {
  const r = await db('log_checkpoints').orderBy('tree_size', 'desc').first();
  return r ? toCheckpoint(r) : undefined;
}

export async function checkpointRowAt(db: Conn, size: number): Promise<CheckpointRow | undefined> {
  const r = await db('log_checkpoints').where({ tree_size: size }).first();
  return r ? toCheckpoint(r) : undefined;
}

export async function allCheckpointRows(db: Conn): Promise<CheckpointRow[]> {
  return (await db('log_checkpoints').orderBy('tree_size')).map(toCheckpoint);
}

/** The cosignature lines stored for a size, by witness name. */
export async function cosignatureLines(db: Conn, size: number): Promise<string[]> {
  return (await db('log_cosignatures').where({ tree_size: size }).orderBy('witness').select('line')).map((l) => l.line as string);
}

/** One witness's line for a size; a later one by the same witness replaces it. */
export async function saveCosignature(db: Conn, size: number, witness: string, line: string): Promise<void> {
  await db('log_cosignatures').insert({ tree_size: size, witness, line, created_at: Date.now() }).onConflict(['tree_size', 'witness']).merge();
}

/** The largest size any witness cosigned. */
export async function latestCosignedSize(db: Conn): Promise<number | undefined> {
  const row = await db('log_cosignatures').max({ size: 'tree_size' }).first();
  return row?.size == null ? undefined : toMs(row.size);
}
