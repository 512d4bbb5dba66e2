/**
 * Storage through knex: MySQL (production, and the MariaDB the integration tests use) or
 * SQLite (the embedded default, so a laptop needs no database server).
 *   DZL_DB_URL=mysql://root@127.0.0.1:3306/test   or   sqlite:///path/to/file.db
 */
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from './migrations';

export type Db = Knex;
/** A connection or a transaction: every repository function takes either, so one facade can own a multi-table write. */
export type Conn = Knex | Knex.Transaction;

export function knexConfig(url: string): Knex.Config {
  if (url.startsWith('sqlite:')) {
    const filename = url.replace(/^sqlite:(\/\/)?/, '') || ':memory:';
    return {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        afterCreate: (conn: { pragma: (s: string) => void }, done: (err: Error | null, conn: unknown) => void) => {
          // WAL lets the router's readers run beside the worker's writer; busy_timeout rides out
          // the moments two processes write at once.
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          // deleted rows are overwritten, not left in free pages (a party's deleted application)
          conn.pragma('secure_delete = ON');
          done(null, conn);
        },
      },
    };
  }
  if (url.startsWith('mysql:')) {
    const u = new URL(url);
    return {
      client: 'mysql2',
      connection: {
        host: u.hostname,
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: u.pathname.replace(/^\//, ''),
        charset: 'utf8mb4',
        supportBigNumbers: true,
      },
      pool: { min: 0, max: 10 },
    };
  }
  throw new Error(`DZL_DB_URL must start with sqlite: or mysql:, got ${url.split(':')[0]}:`);
}

export async function openDb(url: string, opts: { migrate?: boolean } = {}): Promise<Db> {
  const db = knexFactory(knexConfig(url));
  if (opts.migrate !== false) await db.migrate.latest({ migrationSource });
  return db;
}

export function isMysql(db: Db): boolean {
  return db.client.config.client === 'mysql2';
}

/** Epoch milliseconds: portable across both engines and free of time-zone conversions. */
export function toMs(v: unknown): number {
  return typeof v === 'string' ? Number(v) : (v as number);
}

/**
 * An atomic insert that does nothing when the unique key exists; true when the row was written.
 * The one place that knows how each engine reports it (mysql2 affectedRows, better-sqlite3 changes).
 */
export async function insertIgnore(db: Conn, table: string, row: Record<string, unknown>, conflict?: string | string[]): Promise<boolean> {
  const insert = db(table).insert(row);
  // no target: a conflict on any unique key (primary key included) is ignored
  const q = (conflict === undefined ? insert.onConflict() : typeof conflict === 'string' ? insert.onConflict(conflict) : insert.onConflict(conflict)).ignore().toSQL();
  const res = (await db.raw(q.sql, q.bindings)) as unknown;
  const r = (Array.isArray(res) ? res[0] : res) as { affectedRows?: number; changes?: number };
  return (r.affectedRows ?? r.changes ?? 0) > 0;
}

/** Serialises writers on the selected rows until the transaction ends (MySQL; SQLite has one writer at a time anyway). */
export function forUpdate<T extends Knex.QueryBuilder>(trx: Conn, q: T): T {
  return (isMysql(trx as Db) ? q.forUpdate() : q) as T;
}

const TRANSIENT_LOCK_ERRORS = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY']);

/**
 * A write transaction that several routers and workers may run at once. On MySQL it runs at READ
 * COMMITTED, so a `FOR UPDATE` of a row that does not exist yet takes no gap lock (two intakes
 * inserting their own new rows would otherwise deadlock on the gap between them), and a deadlock
 * the engine still reports is retried — the engine rolled it back whole, so running it again is
 * safe. Inside an outer transaction it is a savepoint of that one, and the outer one retries.
 */
export async function transact<T>(db: Conn, work: (trx: Knex.Transaction) => Promise<T>, attempts = 4): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return db.transaction(work);
  for (let attempt = 1; ; attempt++) {
    try {
      return await (isMysql(db as Db) ? db.transaction(work, { isolationLevel: 'read committed' }) : db.transaction(work));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= attempts || typeof code !== 'string' || !TRANSIENT_LOCK_ERRORS.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 20)));
    }
  }
}

/** The store's own id, made once by migration 010: the same for every router, whatever URL it uses. */
export async function storeId(db: Conn): Promise<string> {
  const r = (await db('store_identity').where({ id: 1 }).first('store_id')) as { store_id: string } | undefined;
  if (!r) throw new Error('the store has no identity row: run its migrations (openDb does)');
  return r.store_id;
}
