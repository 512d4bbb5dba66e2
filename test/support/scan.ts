import type { Db } from '../../services/store/db';
import { isMysql } from '../../services/store/db';

/** Every row of every table of a store, as text: what a scan for plaintext must search. */
export async function dumpDatabase(db: Db): Promise<string> {
  const tables = isMysql(db)
    ? ((await db.raw('SHOW TABLES'))[0] as Record<string, string>[]).map((r) => Object.values(r)[0]!)
    : ((await db.raw("SELECT name FROM sqlite_master WHERE type = 'table'")) as { name: string }[]).map((r) => r.name);
  const parts: string[] = [];
  for (const t of tables) parts.push(JSON.stringify(await db(t).select()));
  return parts.join('\n');
}
