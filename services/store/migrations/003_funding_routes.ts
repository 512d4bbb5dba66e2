/**
 * Funding routes (资方路由): which channel each bank takes its credit reports through, how long a
 * bank may take to decide, each platform's ordered bank list with its rules, and each attempt.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('parties', (t) => {
    t.string('contracted_channel', 64);
    t.integer('decision_timeout_ms');
  });
  await knex.schema.createTable('platform_bank_routes', (t) => {
    t.string('platform_id', 64).notNullable();
    t.string('bank_id', 64).notNullable();
    t.integer('priority').notNullable();
    t.bigInteger('min_amount').notNullable();
    t.bigInteger('max_amount').notNullable();
    t.text('terms_json').notNullable();
    t.text('regions_json').notNullable();
    t.integer('daily_quota').notNullable();
    t.primary(['platform_id', 'bank_id']);
  });
  await knex.schema.createTable('application_attempts', (t) => {
    t.string('application_id', 64).notNullable();
    t.string('bank_id', 64).notNullable();
    t.integer('position').notNullable();
    t.string('day', 10).notNullable().index();
    t.string('platform_id', 64).notNullable();
    t.string('outcome', 16);
    t.string('reason_code', 64);
    t.string('hop_id', 64);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('delivered_at');
    t.bigInteger('decided_at');
    t.primary(['application_id', 'bank_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('application_attempts');
  await knex.schema.dropTableIfExists('platform_bank_routes');
  await knex.schema.alterTable('parties', (t) => {
    t.dropColumn('contracted_channel');
    t.dropColumn('decision_timeout_ms');
  });
}
