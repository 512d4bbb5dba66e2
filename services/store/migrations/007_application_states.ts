/**
 * The states an application can be in, as a table the database enforces (Mojaloop's seeded state
 * tables): `application_states.state` must name a row of `application_state_names`. The list is
 * frozen here as it stood when this migration was written; a later state needs a later migration,
 * and test/unit/layout.test.ts fails while the code and the table disagree.
 */
import type { Knex } from 'knex';

const STATES = [
  'accepted', 'credit_report_sealed', 'claimed_by_bank', 'refused', 'approved', 'declined', 'no_funding', 'expired', 'withdrawn',
  'platform_notified', 'platform_rejected_decision', 'disbursed', 'payloads_erased',
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('application_state_names', (t) => {
    t.string('name', 32).primary();
  });
  await knex('application_state_names').insert(STATES.map((name) => ({ name })));
  if (knex.client.config.client === 'mysql2') {
    await knex.schema.alterTable('application_states', (t) => {
      t.foreign('state', 'fk_application_states_state').references('name').inTable('application_state_names');
    });
    return;
  }
  // SQLite adds a foreign key only by rebuilding the table
  await knex.schema.createTable('application_states_enforced', (t) => {
    t.increments('seq');
    t.string('application_id', 64).notNullable().index('application_states_application_id_idx');
    t.string('state', 32).notNullable().references('name').inTable('application_state_names');
    t.string('reason_code', 64);
    t.string('hop_id', 64);
    t.bigInteger('at').notNullable();
    t.unique(['application_id', 'state'], { indexName: 'application_states_application_id_state_uq' });
  });
  await knex.raw('INSERT INTO application_states_enforced (seq, application_id, state, reason_code, hop_id, at) SELECT seq, application_id, state, reason_code, hop_id, at FROM application_states');
  await knex.schema.dropTable('application_states');
  await knex.schema.renameTable('application_states_enforced', 'application_states');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'mysql2') {
    await knex.schema.alterTable('application_states', (t) => t.dropForeign(['state'], 'fk_application_states_state'));
  }
  await knex.schema.dropTableIfExists('application_state_names');
}
