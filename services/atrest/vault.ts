/**
 * Where a reference party (the credit channel, a bank) keeps the personal data it receives:
 * one row per record, AES-256-GCM under a key from the party's keyring, the key id on the row.
 *
 * Ids are stored in clear (they are how rows are found), so they must be ids, never values.
 * The GCM additional data binds each ciphertext to its owner, application, kind and record id:
 * a ciphertext copied into another row does not decrypt there.
 *
 * Rotation without downtime: rotate the keyring (any process), keep reading, and run
 * `reencrypt()` until `stats()` shows every row under the primary key. Each row names its key,
 * so readers never wait for the rewrite; each rewrite is a compare-and-set on the row's iv, so a
 * put that lands meanwhile is never overwritten with the older value.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { canonicalJson } from '../seal/canonical';
import type { Db } from '../store/db';
import type { Keyring, KeyringKey } from './keyring';
import { migrateVault } from '../store/vaultMigrations';
import { deleteVaultApplication, resealVaultRow, upsertVaultRow, vaultHasApplication, vaultRow, vaultRowsByKey, vaultRowsNotUnder, vaultRowsOfKind, type VaultRow } from '../store/vaultRecords';

const AAD_DOMAIN = 'dzl-vault/v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Below what a MySQL MEDIUMTEXT holds once base64-encoded, so both engines take the same values. */
export const MAX_VALUE_BYTES = 8 * 1024 * 1024;

const ID_LIMITS = { owner: 64, applicationId: 64, kind: 32, recordId: 128 } as const;
/** Printable ASCII without space: ids are keys, compared byte for byte, and never personal data. */
const ID_CHARS = /^[\x21-\x7e]+$/;

export type VaultErrorCode =
  | 'VAULT_ID_INVALID'
  | 'VAULT_VALUE_NOT_JSON'
  | 'VAULT_VALUE_TOO_LARGE'
  | 'VAULT_KEY_UNKNOWN'
  | 'VAULT_RECORD_UNREADABLE'
  | 'VAULT_KEYRING_BESIDE_DATA';

export class VaultError extends Error {
  override readonly name = 'VaultError';
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    /** Ids only: owner, application, kind, record, key id. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface VaultEntry<T> {
  recordId: string;
  value: T;
}

export interface VaultStats {
  records: number;
  /** Rows per key id. */
  byKey: Record<string, number>;
}

interface RecordAddress {
  owner: string;
  applicationId: string;
  kind: string;
  recordId: string;
}

export class Vault {
  private constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    readonly owner: string,
  ) {}

  /** Creates or upgrades the vault's table (idempotent, safe for several processes at once). */
  static async open(db: Db, keyring: Keyring, owner: string): Promise<Vault> {
    checkId('owner', owner);
    refuseKeyringBesideData(db, keyring);
    await migrateVault(db);
    return new Vault(db, keyring, owner);
  }

  /** Writes or replaces one record; `value` must have a JSON form and comes back as JSON.parse gives it. */
  async put(applicationId: string, kind: string, recordId: string, value: unknown): Promise<void> {
    const at = this.address(applicationId, kind, recordId);
    const plain = jsonBytes(at, value);
    this.keyring.reload();
    const sealed = seal(at, plain, this.keyring.primary());
    await upsertVaultRow(this.db, sealed, Date.now());
  }

  async get<T = unknown>(applicationId: string, kind: string, recordId: string): Promise<T | undefined> {
    const at = this.address(applicationId, kind, recordId);
    const row = await vaultRow(this.db, at);
    return row === undefined ? undefined : (JSON.parse(this.unseal(row).toString('utf8')) as T);
  }

  /** Every record of one kind for one application, by record id. */
  async list<T = unknown>(applicationId: string, kind: string): Promise<VaultEntry<T>[]> {
    checkId('applicationId', applicationId);
    checkId('kind', kind);
    const rows = await vaultRowsOfKind(this.db, this.owner, applicationId, kind);
    return rows.map((row) => ({ recordId: row.record_id, value: JSON.parse(this.unseal(row).toString('utf8')) as T }));
  }

  async has(applicationId: string): Promise<boolean> {
    checkId('applicationId', applicationId);
    return vaultHasApplication(this.db, this.owner, applicationId);
  }

  /** Removes every record this owner holds for the application; the number of rows removed. */
  async deleteApplication(applicationId: string): Promise<number> {
    checkId('applicationId', applicationId);
    return await deleteVaultApplication(this.db, this.owner, applicationId);
  }

  /**
   * Rewrites this owner's rows that are not under the primary key, in primary-key order, batch by
   * batch; the number rewritten. Stops with VAULT_RECORD_UNREADABLE or VAULT_KEY_UNKNOWN at a row
   * it cannot read. A process that has not reloaded the keyring yet may still write under the
   * previous key for up to its reload interval: run again until `stats()` shows one key.
   */
  async reencrypt(batchSize = 100): Promise<number> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
    let rewritten = 0;
    let after: VaultRow | undefined;
    for (;;) {
      this.keyring.reload();
      const primary = this.keyring.primary();
      const rows = await vaultRowsNotUnder(this.db, this.owner, primary.id, after, batchSize);
      for (const row of rows) {
        const sealed = seal(addressOf(row), this.unseal(row), primary);
        // only if the row still holds what was read: a put in between wins
        rewritten += await resealVaultRow(this.db, row, sealed);
      }
      if (rows.length < batchSize) return rewritten;
      after = rows[rows.length - 1];
    }
  }

  async stats(): Promise<VaultStats> {
    const byKey: Record<string, number> = {};
    let records = 0;
    for (const r of await vaultRowsByKey(this.db, this.owner)) {
      byKey[r.keyId] = r.n;
      records += r.n;
    }
    return { records, byKey };
  }

  private address(applicationId: string, kind: string, recordId: string): RecordAddress {
    checkId('applicationId', applicationId);
    checkId('kind', kind);
    checkId('recordId', recordId);
    return { owner: this.owner, applicationId, kind, recordId };
  }

  /** A row under a key this process has not loaded may have been rewritten after a rotation elsewhere. */
  private keyFor(row: VaultRow): KeyringKey {
    const known = this.keyring.get(row.key_id);
    if (known) return known;
    this.keyring.reload({ force: true });
    const key = this.keyring.get(row.key_id);
    if (key) return key;
    const at = addressOf(row);
    throw new VaultError('VAULT_KEY_UNKNOWN', `${describe(at)} is sealed under key ${row.key_id}, which the keyring ${this.keyring.path} does not hold; restore that key from the key backup`, {
      ...details(at),
      keyId: row.key_id,
    });
  }

  private unseal(row: VaultRow): Buffer {
    const at = addressOf(row);
    const key = this.keyFor(row);
    const iv = Buffer.from(row.iv, 'base64');
    const body = Buffer.from(row.ciphertext, 'base64');
    try {
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new Error('short');
      const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(at));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new VaultError(
        'VAULT_RECORD_UNREADABLE',
        `${describe(at)} under key ${row.key_id} failed authentication: the row was altered, copied from another record, or its key id names other key bytes`,
        { ...details(at), keyId: row.key_id },
      );
    }
  }
}

function seal(at: RecordAddress, plain: Buffer, key: KeyringKey): VaultRow {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(at));
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    owner: at.owner,
    application_id: at.applicationId,
    kind: at.kind,
    record_id: at.recordId,
    key_id: key.id,
    iv: iv.toString('base64'),
    ciphertext: body.toString('base64'),
  };
}

/** JCS of a tagged list of strings: unambiguous whatever the ids contain. */
function aad(at: RecordAddress): Buffer {
  return canonicalJson([AAD_DOMAIN, at.owner, at.applicationId, at.kind, at.recordId]);
}

function jsonBytes(at: RecordAddress, value: unknown): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // the engine's message may quote the value
    text = undefined;
  }
  if (text === undefined) throw new VaultError('VAULT_VALUE_NOT_JSON', `the value for ${describe(at)} has no JSON form`, details(at));
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new VaultError('VAULT_VALUE_TOO_LARGE', `the value for ${describe(at)} is ${bytes.length} bytes as JSON; the vault takes at most ${MAX_VALUE_BYTES}`, details(at));
  }
  return bytes;
}

/** Keyset pagination on the primary key after `row` (the owner is fixed by the caller). */
function checkId(name: keyof typeof ID_LIMITS, value: unknown): asserts value is string {
  const max = ID_LIMITS[name];
  if (typeof value !== 'string' || value.length > max || !ID_CHARS.test(value)) {
    throw new VaultError('VAULT_ID_INVALID', `${name} must be 1-${max} printable ASCII characters without spaces`);
  }
}

/**
 * A copy of the data directory must not carry the keys: refuse a keyring inside the directory
 * of the SQLite file. (A MySQL server's files are out of reach of this check.)
 */
function refuseKeyringBesideData(db: Db, keyring: Keyring): void {
  const file: unknown = db.client.config?.connection?.filename;
  if (typeof file !== 'string' || file === '' || file === ':memory:') return;
  const dataDir = realpathSync(dirname(file));
  const keyDir = realpathSync(dirname(keyring.path));
  const rel = relative(dataDir, keyDir);
  const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  if (!outside) {
    throw new VaultError('VAULT_KEYRING_BESIDE_DATA', `the keyring ${keyring.path} is inside ${dataDir}, the database's directory; keep it where a copy of the data does not reach`);
  }
}

function addressOf(row: VaultRow): RecordAddress {
  return { owner: row.owner, applicationId: row.application_id, kind: row.kind, recordId: row.record_id };
}

function describe(at: RecordAddress): string {
  return `vault record ${at.owner}/${at.applicationId}/${at.kind}/${at.recordId}`;
}

function details(at: RecordAddress): Record<string, string> {
  return { owner: at.owner, applicationId: at.applicationId, kind: at.kind, recordId: at.recordId };
}
