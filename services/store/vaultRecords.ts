/**
 * `vault_records`: a reference party's encrypted records (services/atrest/vault.ts seals and
 * opens them). One row per record, addressed by (owner, application, kind, record id); the
 * owner leads every query, so one party's scans stay in its own range.
 */
import type { Knex } from 'knex';
import type { Conn } from './db';
import { VAULT_TABLE } from './vaultMigrations';

export interface VaultRow {
  owner: string;
  application_id: string;
  kind: string;
  record_id: string;
  key_id: string;
  iv: string;
  ciphertext: string;
}

const SEALED_COLUMNS = ['owner', 'application_id', 'kind', 'record_id', 'key_id', 'iv', 'ciphertext'] as const;
const PRIMARY_KEY = ['owner', 'application_id', 'kind', 'record_id'];

export async function upsertVaultRow(db: Conn, row: VaultRow, now: number): Promise<void> {
  await db(VAULT_TABLE)
    .insert({ ...row, created_at: now, updated_at: now })
    .onConflict(PRIMARY_KEY)
    .merge(['key_id', 'iv', 'ciphertext', 'updated_at']);
}

export async function vaultRow(db: Conn, at: { owner: string; applicationId: string; kind: string; recordId: string }): Promise<VaultRow | undefined> {
  return (await db(VAULT_TABLE)
    .where({ owner: at.owner, application_id: at.applicationId, kind: at.kind, record_id: at.recordId })
    .first(...SEALED_COLUMNS)) as VaultRow | undefined;
}

export async function vaultRowsOfKind(db: Conn, owner: string, applicationId: string, kind: string): Promise<VaultRow[]> {
  return (await db(VAULT_TABLE).where({ owner, application_id: applicationId, kind }).orderBy('record_id').select(...SEALED_COLUMNS)) as VaultRow[];
}

export async function vaultHasApplication(db: Conn, owner: string, applicationId: string): Promise<boolean> {
  return (await db(VAULT_TABLE).where({ owner, application_id: applicationId }).first('record_id')) !== undefined;
}

export async function deleteVaultApplication(db: Conn, owner: string, applicationId: string): Promise<number> {
  return db(VAULT_TABLE).where({ owner, application_id: applicationId }).del();
}

/** The owner's next rows (in key order, after `after`) that are not under `keyId`. */
export async function vaultRowsNotUnder(db: Conn, owner: string, keyId: string, after: VaultRow | undefined, limit: number): Promise<VaultRow[]> {
  return (await db(VAULT_TABLE)
    .where('owner', owner)
    .whereNot('key_id', keyId)
    .modify((q) => {
      if (after) afterRow(q, after);
    })
    .orderBy([{ column: 'application_id' }, { column: 'kind' }, { column: 'record_id' }])
    .limit(limit)
    .select(...SEALED_COLUMNS)) as VaultRow[];
}

/** Replaces the row's sealing only if it still holds what was read (a put in between wins); 1 if it did. */
export async function resealVaultRow(db: Conn, row: VaultRow, sealed: Pick<VaultRow, 'key_id' | 'iv' | 'ciphertext'>): Promise<number> {
  return db(VAULT_TABLE)
    .where({ owner: row.owner, application_id: row.application_id, kind: row.kind, record_id: row.record_id, key_id: row.key_id, iv: row.iv })
    .update({ key_id: sealed.key_id, iv: sealed.iv, ciphertext: sealed.ciphertext });
}

export async function vaultRowsByKey(db: Conn, owner: string): Promise<{ keyId: string; n: number }[]> {
  const rows = (await db(VAULT_TABLE).where('owner', owner).groupBy('key_id').select('key_id').count({ n: '*' })) as { key_id: string; n: number | string }[];
  return rows.map((r) => ({ keyId: r.key_id, n: Number(r.n) }));
}

function afterRow(q: Knex.QueryBuilder, row: VaultRow): void {
  q.where((w) => {
    w.where('application_id', '>', row.application_id).orWhere((w2) => {
      w2.where('application_id', row.application_id).andWhere((w3) => {
        w3.where('kind', '>', row.kind).orWhere((w4) => {
          w4.where('kind', row.kind).andWhere('record_id', '>', row.record_id);
        });
      });
    });
  });
}
