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
