/**
 * Retention as data, for one sweeper: each ended application says until when the router keeps
 * its sealed payloads, and why (which also says whether the parties are asked to delete theirs).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('applications', (t) => {
    t.bigInteger('retain_until').index();
    t.string('retention_reason', 24);
    t.bigInteger('payloads_erased_at');
    t.bigInteger('party_deletion_started_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('applications', (t) => {
    for (const c of ['retain_until', 'retention_reason', 'payloads_erased_at', 'party_deletion_started_at']) t.dropColumn(c);
  });
}
