/**
 * The Merkle log over the evidence ledger. `seq` (auto-increment) has gaps on MySQL (an ignored
 * insert still consumes a value), so a sequencer assigns each leaf a dense `leaf_index`: the
 * position every proof and checkpoint speaks of. One row of log_state serialises sequencers.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('evidence_leaves', (t) => {
    t.bigInteger('leaf_index').unique();
  });
  await knex.schema.createTable('log_state', (t) => {
    t.integer('id').primary();
    t.bigInteger('tree_size').notNullable();
  });
  await knex('log_state').insert({ id: 1, tree_size: 0 });
  await knex.schema.createTable('log_checkpoints', (t) => {
    t.bigInteger('tree_size').primary();
    t.string('root_hash', 64).notNullable();
    t.text('note').notNullable();
    t.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('log_cosignatures', (t) => {
    t.bigInteger('tree_size').notNullable();
    t.string('witness', 191).notNullable();
    t.text('line').notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['tree_size', 'witness']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('log_cosignatures');
  await knex.schema.dropTableIfExists('log_checkpoints');
  await knex.schema.dropTableIfExists('log_state');
  await knex.schema.alterTable('evidence_leaves', (t) => {
    t.dropColumn('leaf_index');
  });
}
