/**
 * The router's store for one benchmark run: SQLite in the run's temporary directory, or
 * DZL_DB_URL. A MySQL URL names the server: the run creates a fresh database on it (so earlier
 * runs' rows never mix in) and drops it afterwards unless kept.
 */
import knexFactory from 'knex';
import { join } from 'node:path';

export interface BenchStore {
  url: string;
  label: string;
  drop(): Promise<void>;
}

export async function benchStore(dir: string, keep: boolean): Promise<BenchStore> {
  const override = process.env.DZL_DB_URL;
  if (!override) return { url: `sqlite://${join(dir, 'dzl.db')}`, label: 'SQLite (temporary directory)', drop: async () => undefined };
  if (!override.startsWith('mysql:')) return { url: override, label: override.split('?')[0]!, drop: async () => undefined };

  const server = new URL(override);
  const name = `dzl_bench_${process.pid}_${Date.now() % 1e8}`;
  const admin = knexFactory({
    client: 'mysql2',
    connection: {
      host: server.hostname,
      port: Number(server.port || 3306),
      user: decodeURIComponent(server.username),
      password: decodeURIComponent(server.password),
      database: server.pathname.slice(1) || undefined,
    },
  });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = new URL(override);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    label: `MySQL ${server.host}/${name} (fresh database${keep ? ', kept' : ''})`,
    drop: async () => {
      if (!keep) await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.destroy();
    },
  };
}
