/**
 * The personal-data lifecycle: consent as an object with an append-only history, the router's
 * signed notices to parties and their acknowledgements, and the erasure of sealed payloads.
 * Still no plaintext personal data: the device is a digest the party computed, notices name
 * hops, and an erased hop keeps only its signed header.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('consents', (t) => {
    t.string('created_by', 64);
    t.string('application_id', 64).index();
    t.bigInteger('acted_at');
    t.string('device_digest', 64);
  });
  await knex.schema.createTable('consent_events', (t) => {
    t.increments('seq');
    t.string('consent_id', 128).notNullable().index();
    t.string('state', 16).notNullable();
    /** '*' for all of the consent's recipients, else the SHA-256 (hex) of the sorted list. */
    t.string('recipients_key', 64).notNullable();
    /** '*', or the JSON list of recipients. */
    t.text('recipients').notNullable();
    t.string('by_party', 64).notNullable();
    t.bigInteger('at').notNullable();
    t.string('device_digest', 64);
    t.bigInteger('recorded_at').notNullable();
    t.unique(['consent_id', 'state', 'recipients_key']);
  });
  await knex.schema.createTable('notices', (t) => {
    t.string('notice_id', 64).primary();
    t.string('application_id', 64).notNullable().index();
    t.string('to_party', 64).notNullable();
    t.string('kind', 24).notNullable();
    t.text('signed', 'mediumtext').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('acknowledged_at');
  });
  await knex.schema.alterTable('sealed_hops', (t) => {
    t.bigInteger('payload_erased_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sealed_hops', (t) => t.dropColumn('payload_erased_at'));
  await knex.schema.dropTableIfExists('notices');
  await knex.schema.dropTableIfExists('consent_events');
  await knex.schema.alterTable('consents', (t) => {
    t.dropColumn('created_by');
    t.dropColumn('application_id');
    t.dropColumn('acted_at');
    t.dropColumn('device_digest');
  });
}
