/**
 * The vault's schema, versioned in `vault_migrations` so it never meets the router's
 * `knex_migrations` when both live in one database.
 *
 * Several processes of one party may start at once against one database, and knex's own
 * migrator can wedge when two of them create its bookkeeping tables together. So each step here
 * must be safe to run twice and concurrently (create-if-absent, tolerating the other process
 * winning), and is then recorded with an insert that ignores a duplicate.
 */
import type { Knex } from 'knex';
import { insertIgnore, type Db } from './db';

export const VAULT_TABLE = 'vault_records';
export const VAULT_MIGRATIONS_TABLE = 'vault_migrations';

/** Ids compare byte for byte on both engines: MySQL's default collation would fold case. */
const ID_COLLATION = 'ascii_bin';

interface VaultMigration {
  name: string;
  up(db: Db): Promise<void>;
}

const MIGRATIONS: VaultMigration[] = [
  {
    name: '001_vault_records',
    up: (db) =>
      createTableIfAbsent(db, VAULT_TABLE, (t) => {
        t.string('owner', 64).notNullable().collate(ID_COLLATION);
        t.string('application_id', 64).notNullable().collate(ID_COLLATION);
        t.string('kind', 32).notNullable().collate(ID_COLLATION);
        t.string('record_id', 128).notNullable().collate(ID_COLLATION);
        t.string('key_id', 32).notNullable().collate(ID_COLLATION);
        t.string('iv', 24).notNullable().collate(ID_COLLATION);
        // base64 of ciphertext ‖ 16-byte GCM tag
        t.text('ciphertext', 'mediumtext').notNullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
        // owner leads, so one party's scans (stats, re-encryption, deletion) stay in its own range
        t.primary(['owner', 'application_id', 'kind', 'record_id']);
      }),
  },
];

export async function migrateVault(db: Db): Promise<void> {
  await createTableIfAbsent(db, VAULT_MIGRATIONS_TABLE, (t) => {
    t.string('name', 128).notNullable().primary();
    t.bigInteger('applied_at').notNullable();
  });
  const done = new Set((await db(VAULT_MIGRATIONS_TABLE).select('name')).map((r: { name: string }) => r.name));
  for (const m of MIGRATIONS) {
    if (done.has(m.name)) continue;
    await m.up(db);
    await insertIgnore(db, VAULT_MIGRATIONS_TABLE, { name: m.name, applied_at: Date.now() });
  }
}

/** One CREATE TABLE statement (no separate index statements), so the table appears whole or not at all. */
async function createTableIfAbsent(db: Db, table: string, build: (t: Knex.CreateTableBuilder) => void): Promise<void> {
  if (await db.schema.hasTable(table)) return;
  try {
    await db.schema.createTable(table, build);
  } catch (err) {
    // another process created it between our look and our create
    if (!(await db.schema.hasTable(table))) throw err;
  }
}
