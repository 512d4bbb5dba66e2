/**
 * Several routers and workers on one store (issue 14, item 2).
 *  - `registry_state`: one row every registry change locks for update and counts, and every hop
 *    taken into custody locks for share. A router or worker holding a directory older than the
 *    count reloads it before it takes the hop, so a revocation or licence change made through any
 *    router binds every router at once, and the log never holds a hop after the registry change
 *    that forbids it (the offline verifier checks each hop against the registry as of its leaf).
 *  - `log_state.origin`, `.signer_vkey`: the log's name and checkpoint key, pinned by the first
 *    checkpoint signed after this migration; a router configured with another refuses to sign.
 *  - `store_identity`: a random id made once per store, so that every router names the store's
 *    one retention sweeper alike, whatever URL it reaches the store by.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('registry_state', (t) => {
    t.integer('id').primary();
    t.bigInteger('version').notNullable();
  });
  await knex('registry_state').insert({ id: 1, version: 0 });
  await knex.schema.alterTable('log_state', (t) => {
    t.string('origin', 255);
    t.text('signer_vkey');
  });
  await knex.schema.createTable('store_identity', (t) => {
    t.integer('id').primary();
    t.string('store_id', 64).notNullable();
  });
  await knex('store_identity').insert({ id: 1, store_id: randomUUID() });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('registry_state');
  await knex.schema.dropTableIfExists('store_identity');
  await knex.schema.alterTable('log_state', (t) => {
    t.dropColumn('origin');
    t.dropColumn('signer_vkey');
  });
}
