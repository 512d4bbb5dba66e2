/** Direct-redirect tokens (single use: a claim is an atomic update of claimed_at) and disbursements. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('parties', (t) => {
    t.string('web_url', 512);
  });
  await knex.schema.createTable('redirects', (t) => {
    t.string('token_id', 64).primary();
    t.string('application_id', 64).notNullable().unique();
    t.string('platform_id', 64).notNullable();
    t.string('bank_id', 64).notNullable();
    t.string('consent_id', 128).notNullable();
    t.string('callback_url', 512);
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('claimed_at');
    t.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('disbursements', (t) => {
    t.string('hop_id', 64).primary();
    t.string('application_id', 64).notNullable().index();
    t.string('platform_id', 64).notNullable();
    t.string('bank_id', 64).notNullable();
    t.string('day', 10).notNullable().index();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('disbursements');
  await knex.schema.dropTableIfExists('redirects');
  await knex.schema.alterTable('parties', (t) => {
    t.dropColumn('web_url');
  });
}
