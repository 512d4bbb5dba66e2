import { freshMysqlDatabase, sqliteUrl, tempDir } from './env';

export type StoreKind = 'sqlite' | 'mysql';
export const STORE_KINDS: StoreKind[] = ['sqlite', 'mysql'];

/** A fresh store of the given kind: a SQLite file, or a new database on the MariaDB server. */
export async function freshStore(kind: StoreKind, suite: string): Promise<{ url: string; dir: string; drop: () => Promise<void> }> {
  const dir = tempDir(suite);
  if (kind === 'sqlite') return { url: sqliteUrl(dir), dir, drop: async () => undefined };
  const db = await freshMysqlDatabase(suite);
  return { url: db.url, dir, drop: db.drop };
}
