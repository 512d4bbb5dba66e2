/**
 * Where a reference party keeps what it received: its own database (not the router's), every
 * record encrypted under the party's keyring, which lives in another directory. A notice to
 * delete an application removes its records; rotation re-encrypts without stopping the party.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '../atrest/keyring';
import { Vault } from '../atrest/vault';
import { openDb, type Db } from '../store/db';

export interface PartyStoreDirs {
  /** One SQLite database per party (a real party would point this at its own MySQL). */
  dataDir: string;
  /** One keyring per party, apart from the data. */
  keyDir: string;
}

export interface PartyStore {
  vault: Vault;
  keyring: Keyring;
  db: Db;
  dbFile: string;
  close(): Promise<void>;
}

export async function openPartyStore(dirs: PartyStoreDirs, partyId: string): Promise<PartyStore> {
  mkdirSync(dirs.dataDir, { recursive: true });
  mkdirSync(join(dirs.keyDir, partyId), { recursive: true, mode: 0o700 });
  const dbFile = join(dirs.dataDir, `${partyId}.db`);
  const db = await openDb(`sqlite://${dbFile}`, { migrate: false });
  // WAL with NORMAL sync: a committed record survives the party's crash (not the machine's power
  // loss, which a reference party may accept; a bank's own store would keep FULL)
  await db.raw('PRAGMA synchronous = NORMAL');
  const keyring = Keyring.open(join(dirs.keyDir, partyId, 'keyring.json'), { create: true });
  const vault = await Vault.open(db, keyring, partyId);
  return { vault, keyring, db, dbFile, close: () => db.destroy() };
}
