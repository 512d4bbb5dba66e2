/**
 * The evidence log as C2SP tlog-tiles (services/evidence/tiles.ts), so that checkpoints and
 * proofs read O(log n) stored hashes instead of every leaf hash. Existing logs are migrated in
 * place: the tiles are built from the leaves already sequenced, in index order, and log_state
 * gains the root of its tree size, so the first checkpoint after the migration signs the same
 * root the leaves always had. Leaves not yet sequenced are integrated by the next sequencer.
 */
import type { Knex } from 'knex';
import { EMPTY_ROOT } from '../../evidence/merkle';
import { edgeAfter, integrate, type TileSet } from '../../evidence/tiles';

const CHUNK = 10_000;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('log_tiles', (t) => {
    t.integer('level').notNullable();
    t.bigInteger('tile_index').notNullable();
    t.integer('width').notNullable();
    // at most 256 × 32 bytes
    t.binary('hashes').notNullable();
    t.primary(['level', 'tile_index']);
  });
  await knex.schema.alterTable('log_state', (t) => {
    t.string('root_hash', 64);
  });
  // what bundles look leaves up by, so that a bundle's cost does not grow with the log: a
  // party's registry snapshots (kind, party_id) and a party's leaves in a time range (kind, created_at)
  await knex.schema.alterTable('evidence_leaves', (t) => {
    t.index(['kind', 'party_id'], 'evidence_leaves_kind_party_idx');
    t.index(['kind', 'created_at'], 'evidence_leaves_kind_created_idx');
  });
  const state = await knex('log_state').where({ id: 1 }).first();
  const size = Number(state.tree_size);
  let edge: TileSet = new Map();
  let built = 0;
  let root: Uint8Array = Uint8Array.from(EMPTY_ROOT);
  while (built < size) {
    const rows = await knex('evidence_leaves').where('leaf_index', '>=', built).andWhere('leaf_index', '<', Math.min(size, built + CHUNK)).orderBy('leaf_index').select('leaf_index', 'leaf_hash');
    rows.forEach((r, i) => {
      if (Number(r.leaf_index) !== built + i) throw new Error(`008: leaf_index ${built + i} is missing below tree size ${size}`);
    });
    if (rows.length === 0) throw new Error(`008: no leaf at index ${built} below tree size ${size}`);
    const result = integrate(built, edge, rows.map((r) => Buffer.from(r.leaf_hash as string, 'hex')));
    for (const t of result.tiles) {
      await knex('log_tiles')
        .insert({ level: t.level, tile_index: t.index, width: t.hashes.length / 32, hashes: Buffer.from(t.hashes) })
        .onConflict(['level', 'tile_index'])
        .merge(['width', 'hashes']);
    }
    edge = edgeAfter(edge, result);
    built = result.treeSize;
    root = result.rootHash;
  }
  await knex('log_state').where({ id: 1 }).update({ root_hash: Buffer.from(root).toString('hex') });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('evidence_leaves', (t) => {
    t.dropIndex(['kind', 'party_id'], 'evidence_leaves_kind_party_idx');
    t.dropIndex(['kind', 'created_at'], 'evidence_leaves_kind_created_idx');
  });
  await knex.schema.alterTable('log_state', (t) => {
    t.dropColumn('root_hash');
  });
  await knex.schema.dropTableIfExists('log_tiles');
}
