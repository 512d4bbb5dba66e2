/**
 * The foundation schema. Nothing here holds personal data in plaintext: hops are stored sealed,
 * the evidence holds headers (field names, classes, salted digests), never values.
 * State is append-only (application_states) rather than a status column updated in place.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('parties', (t) => {
    t.string('id', 64).primary();
    t.string('role', 16).notNullable();
    t.string('legal_name', 255).notNullable();
    t.string('grpc_endpoint', 255);
    t.string('callback_url', 512);
    t.text('licence_json');
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('party_certificates', (t) => {
    t.string('key_id', 64).primary();
    t.string('party_id', 64).notNullable().index();
    t.string('usage', 8).notNullable();
    t.text('pem').notNullable();
    t.bigInteger('not_before').notNullable();
    t.bigInteger('not_after').notNullable();
    t.bigInteger('revoked_at');
  });
  await knex.schema.createTable('consents', (t) => {
    t.string('id', 128).primary();
    t.string('platform_id', 64).notNullable();
    t.string('text_version', 128).notNullable();
    t.string('text_sha256', 64).notNullable();
    t.text('purposes_json').notNullable();
    t.text('recipients_json').notNullable();
    t.bigInteger('granted_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('applications', (t) => {
    t.string('id', 64).primary();
    t.string('platform_id', 64).notNullable();
    t.string('idempotency_key', 128).notNullable();
    t.string('request_hash', 64).notNullable();
    t.string('workflow_id', 160).notNullable();
    t.string('model', 32).notNullable();
    t.string('channel_id', 64).notNullable();
    t.string('bank_id', 64).notNullable();
    t.string('consent_id', 128).notNullable();
    t.string('callback_url', 512);
    t.string('intake_hop_id', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['platform_id', 'idempotency_key']);
  });
  await knex.schema.createTable('application_states', (t) => {
    t.increments('seq');
    t.string('application_id', 64).notNullable().index();
    t.string('state', 32).notNullable();
    t.string('reason_code', 64);
    t.string('hop_id', 64);
    t.bigInteger('at').notNullable();
    t.unique(['application_id', 'state']);
  });
  await knex.schema.createTable('sealed_hops', (t) => {
    t.string('hop_id', 64).primary();
    t.string('application_id', 64).notNullable().index();
    t.string('kind', 32).notNullable();
    t.string('from_party', 64).notNullable();
    t.string('to_party', 64).notNullable();
    t.text('envelope', 'mediumtext').notNullable();
    t.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('seen_nonces', (t) => {
    t.string('sender_id', 64).notNullable();
    t.string('nonce', 64).notNullable();
    t.bigInteger('issued_at').notNullable().index();
    t.primary(['sender_id', 'nonce']);
  });
  await knex.schema.createTable('evidence_leaves', (t) => {
    t.increments('seq');
    t.string('dedup_key', 191).notNullable().unique();
    t.string('kind', 16).notNullable();
    t.string('application_id', 64).index();
    t.string('hop_id', 64).index();
    t.string('party_id', 64);
    t.text('data', 'mediumtext').notNullable();
    t.string('leaf_hash', 64).notNullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['evidence_leaves', 'seen_nonces', 'sealed_hops', 'application_states', 'applications', 'consents', 'party_certificates', 'parties']) {
    await knex.schema.dropTableIfExists(t);
  }
}
