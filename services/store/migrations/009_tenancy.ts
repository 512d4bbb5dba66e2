/**
 * Tenancy and one answer per hop.
 *  - On MySQL/MariaDB every identifier compares byte for byte: the default collation folds case
 *    and accents ('App_1' = 'app_1'), so one party's id could meet another's. The database and every
 *    table of the router move to utf8mb4_bin (SQLite compares bytes already).
 *  - `sealed_hops.parent_hop_id`: the hop each answer answers, filled from the signed headers of
 *    the hops already in custody, and unique per (kind, parent, recipient): a channel or bank can
 *    have one answer to a hop in custody, never two.
 *  - `parties.callback_origins_json`: the origins a platform registered for its callbacks; the
 *    router calls back nowhere else.
 *  - `redirects.token`: the token as issued, so the router can check that the platform's redirect
 *    hop carries exactly it (envelope.md §15). A token names no one; it is a one-time credential
 *    for the bank it was issued to, usable only over that bank's mutual TLS.
 */
import type { Knex } from 'knex';

const BATCH = 500;

export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'mysql2') {
    await knex.raw('ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    const tables = (await knex.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'knex\\_%'"))[0] as { name: string }[];
    // MariaDB will not change the collation of a column under a foreign key: drop it, convert, restore
    await knex.schema.alterTable('application_states', (t) => t.dropForeign(['state'], 'fk_application_states_state'));
    for (const { name } of tables) await knex.raw('ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', [name]);
    await knex.schema.alterTable('application_states', (t) => {
      t.foreign('state', 'fk_application_states_state').references('name').inTable('application_state_names');
    });
  }
  await knex.schema.alterTable('sealed_hops', (t) => {
    t.string('parent_hop_id', 64);
  });
  await knex.schema.alterTable('redirects', (t) => {
    t.text('token');
  });
  // the origins a platform's callback URLs may be at (a JSON list), registered by the operator
  await knex.schema.alterTable('parties', (t) => {
    t.text('callback_origins_json');
  });
  for (let after = ''; ; ) {
    const rows = await knex('sealed_hops').where('hop_id', '>', after).orderBy('hop_id').limit(BATCH).select('hop_id', 'envelope');
    if (rows.length === 0) break;
    for (const r of rows) {
      const header = JSON.parse(Buffer.from((JSON.parse(r.envelope) as { header: string }).header, 'base64url').toString('utf8')) as { parentHopId?: string };
      if (header.parentHopId) await knex('sealed_hops').where({ hop_id: r.hop_id }).update({ parent_hop_id: header.parentHopId });
    }
    after = rows[rows.length - 1].hop_id as string;
  }
  await knex.schema.alterTable('sealed_hops', (t) => {
    t.unique(['parent_hop_id', 'kind', 'to_party'], { indexName: 'sealed_hops_one_answer_per_parent' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('redirects', (t) => t.dropColumn('token'));
  await knex.schema.alterTable('parties', (t) => t.dropColumn('callback_origins_json'));
  await knex.schema.alterTable('sealed_hops', (t) => {
    t.dropUnique(['parent_hop_id', 'kind', 'to_party'], 'sealed_hops_one_answer_per_parent');
    t.dropColumn('parent_hop_id');
  });
}
