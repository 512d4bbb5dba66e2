import { strict as assert } from 'node:assert';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { Keyring, KeyringError, type KeyringErrorCode } from '../../services/atrest/keyring';
import { VAULT_TABLE } from '../../services/store/vaultMigrations';
import { Vault, VaultError, type VaultErrorCode } from '../../services/atrest/vault';
import { openDb, type Db } from '../../services/store/db';
import { sqliteUrl, tempDir } from '../support/env';

const NAME = '张晓梅';
const ID_NUMBER = '330106199003154821';
const applicant = { name: NAME, idNumber: ID_NUMBER, mobile: '13912345678' };

const keyringError = (code: KeyringErrorCode) => (err: unknown) => err instanceof KeyringError && err.code === code;
const vaultError = (code: VaultErrorCode, also: (e: VaultError) => boolean = () => true) => (err: unknown) =>
  err instanceof VaultError && err.code === code && also(err);

function keyringPath(name: string): string {
  return join(tempDir(`atrest-keys-${name}`), 'keyring.json');
}

function fileKeys(path: string): { primary: string; keys: { id: string; key: string }[] } {
  return JSON.parse(readFileSync(path, 'utf8')) as { primary: string; keys: { id: string; key: string }[] };
}

describe('at-rest keyring', () => {
  it('creates a 0600 file with one key, and a second open with create keeps that key', () => {
    const path = keyringPath('create');
    const a = Keyring.open(path, { create: true });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(a.primary().id, /^k-[0-9a-f]{8}$/);
    assert.equal(a.primary().key.length, 32);
    const b = Keyring.open(path, { create: true });
    assert.equal(b.primary().id, a.primary().id);
    assert.ok(b.primary().key.equals(a.primary().key));
  });

  it('refuses a missing file, a file others can read, and a malformed file, without quoting the file', () => {
    const path = keyringPath('refuse');
    assert.throws(() => Keyring.open(path), keyringError('KEYRING_NOT_FOUND'));
    Keyring.open(path, { create: true });
    const key = fileKeys(path).keys[0]!.key;
    chmodSync(path, 0o644);
    assert.throws(() => Keyring.open(path), keyringError('KEYRING_TOO_OPEN'));
    chmodSync(path, 0o600);
    writeFileSync(path, readFileSync(path, 'utf8').replace(`"${key}"`, `"${key}" x`));
    assert.throws(() => Keyring.open(path), (err: unknown) => keyringError('KEYRING_MALFORMED')(err) && !(err as Error).message.includes(key.slice(0, 12)));
    writeFileSync(path, JSON.stringify({ format: 'dzl-keyring/v1', primary: 'k-1', keys: [{ id: 'k-1', key: key.slice(4), createdAt: new Date().toISOString() }] }));
    assert.throws(() => Keyring.open(path), (err: unknown) => keyringError('KEYRING_MALFORMED')(err) && /32 bytes/.test((err as Error).message));
  });

  it('never shows key bytes through inspect, JSON or a copied handle', () => {
    const path = keyringPath('hide');
    const ring = Keyring.open(path, { create: true });
    ring.rotate();
    const material = fileKeys(path).keys.map((k) => k.key);
    const handle = ring.primary();
    const shown = [inspect(ring), JSON.stringify(ring), inspect(handle), JSON.stringify(handle), JSON.stringify({ ...handle }), inspect(ring.info())].join('\n');
    for (const m of material) assert.ok(!shown.includes(m), 'a key was shown');
    assert.ok(shown.includes(handle.id));
  });

  it('rotates: a new primary, the old key kept, the file replaced whole and still 0600', () => {
    const path = keyringPath('rotate');
    const ring = Keyring.open(path, { create: true });
    const first = ring.primary();
    const next = ring.rotate();
    assert.notEqual(next.id, first.id);
    assert.equal(ring.primary().id, next.id);
    assert.ok(ring.get(first.id)!.key.equals(first.key));
    assert.deepEqual(fileKeys(path).keys.map((k) => k.id), [first.id, next.id]);
    assert.equal(fileKeys(path).primary, next.id);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dirname(path)), ['keyring.json'], 'no temp or lock file is left behind');
  });

  it('lets a second process see a rotation through reload, looking at the file at most once a second', () => {
    const path = keyringPath('reload');
    const cli = Keyring.open(path, { create: true });
    const server = Keyring.open(path);
    const rotated = cli.rotate();
    assert.equal(server.reload(), false, 'looked again within the interval');
    assert.notEqual(server.primary().id, rotated.id);
    assert.equal(server.reload({ force: true }), true);
    assert.equal(server.primary().id, rotated.id);
    assert.equal(server.reload({ force: true }), false, 'an unchanged file is not re-read');
  });

  it('refuses a rotation while another holds the lock, and a file whose key id now names other bytes', () => {
    const path = keyringPath('lock');
    const ring = Keyring.open(path, { create: true });
    const before = ring.info();
    writeFileSync(`${path}.lock`, '1\n');
    assert.throws(() => ring.rotate(), keyringError('KEYRING_BUSY'));
    assert.deepEqual(ring.info(), before);
    assert.deepEqual(Keyring.open(path).info(), before);

    const other = keyringPath('other');
    Keyring.open(other, { create: true });
    const doc = fileKeys(other);
    doc.keys[0]!.id = before.primary;
    doc.primary = before.primary;
    writeFileSync(path, JSON.stringify({ format: 'dzl-keyring/v1', ...doc }), { mode: 0o600 });
    assert.throws(() => ring.reload({ force: true }), keyringError('KEYRING_KEY_CHANGED'));
  });
});

describe('at-rest vault (SQLite)', () => {
  const owner = 'bank-hangzhou';
  let dataDir: string;
  let ring: Keyring;
  let db: Db;
  let vault: Vault;

  const rawRow = async (app: string, kind: string, rec: string, who = owner) =>
    (await db(VAULT_TABLE).where({ owner: who, application_id: app, kind, record_id: rec }).first()) as Record<string, unknown> | undefined;

  before(async () => {
    dataDir = tempDir('atrest-data');
    ring = Keyring.open(keyringPath('vault'), { create: true });
    db = await openDb(sqliteUrl(dataDir), { migrate: false });
    vault = await Vault.open(db, ring, owner);
  });
  after(async () => {
    await db?.destroy();
  });

  it('keeps its keyring as a 0600 file outside the database’s directory, and refuses one inside it', async () => {
    assert.equal(statSync(ring.path).mode & 0o777, 0o600);
    assert.notEqual(dirname(ring.path), dataDir);
    const beside = Keyring.open(join(dataDir, 'keys', 'keyring.json'), { create: true });
    await assert.rejects(Vault.open(db, beside, owner), vaultError('VAULT_KEYRING_BESIDE_DATA'));
  });

  it('round-trips values, replaces on a second put, and answers undefined for an absent record', async () => {
    await vault.put('app_rt', 'application', 'fields', applicant);
    await vault.put('app_rt', 'application', 'consent', { consentId: 'c-1', scope: ['credit_report'] });
    await vault.put('app_rt', 'note', 'empty', null);
    assert.deepEqual(await vault.get('app_rt', 'application', 'fields'), applicant);
    await vault.put('app_rt', 'application', 'fields', { ...applicant, mobile: '13800000000' });
    assert.deepEqual(await vault.get('app_rt', 'application', 'fields'), { ...applicant, mobile: '13800000000' });
    assert.equal(await vault.get('app_rt', 'note', 'empty'), null);
    assert.equal(await vault.get('app_rt', 'application', 'absent'), undefined);
    assert.deepEqual(await vault.list('app_rt', 'application'), [
      { recordId: 'consent', value: { consentId: 'c-1', scope: ['credit_report'] } },
      { recordId: 'fields', value: { ...applicant, mobile: '13800000000' } },
    ]);
    assert.equal(await vault.has('app_rt'), true);
    assert.equal(await vault.has('app_none'), false);
  });

  it('leaves nothing of a value readable in its row', async () => {
    await vault.put('app_raw', 'application', 'fields', applicant);
    const row = (await rawRow('app_raw', 'application', 'fields'))!;
    const text = JSON.stringify(row);
    for (const needle of [ID_NUMBER, NAME, '13912345678']) {
      assert.ok(!text.includes(needle), 'plaintext in the row');
      assert.ok(!Buffer.from(String(row.ciphertext), 'base64').includes(Buffer.from(needle)), 'plaintext in the ciphertext bytes');
    }
    assert.equal(row.key_id, ring.primary().id);
  });

  it('binds a ciphertext to its row: copied to another record, application or owner it does not decrypt', async () => {
    await vault.put('app_aad', 'application', 'fields', applicant);
    const { key_id, iv, ciphertext } = (await rawRow('app_aad', 'application', 'fields'))!;
    const copies = [
      { owner, application_id: 'app_aad', kind: 'application', record_id: 'other' },
      { owner, application_id: 'app_aad2', kind: 'application', record_id: 'fields' },
      { owner, application_id: 'app_aad', kind: 'credit_report', record_id: 'fields' },
      { owner: 'bank-other', application_id: 'app_aad', kind: 'application', record_id: 'fields' },
    ];
    for (const c of copies) await db(VAULT_TABLE).insert({ ...c, key_id, iv, ciphertext, created_at: 1, updated_at: 1 });
    const otherOwner = await Vault.open(db, ring, 'bank-other');
    const expectations: [Vault, string, string, string][] = [
      [vault, 'app_aad', 'application', 'other'],
      [vault, 'app_aad2', 'application', 'fields'],
      [vault, 'app_aad', 'credit_report', 'fields'],
      [otherOwner, 'app_aad', 'application', 'fields'],
    ];
    for (const [v, app, kind, rec] of expectations) {
      await assert.rejects(
        v.get(app, kind, rec),
        vaultError('VAULT_RECORD_UNREADABLE', (e) => e.message.includes(`${v.owner}/${app}/${kind}/${rec}`) && e.message.includes(String(key_id)) && !e.message.includes(ID_NUMBER)),
      );
    }
    assert.deepEqual(await vault.get('app_aad', 'application', 'fields'), applicant, 'the original still reads');
  });

  it('fails closed on a tampered row and on a key the keyring does not hold', async () => {
    await vault.put('app_tamper', 'application', 'fields', applicant);
    const row = (await rawRow('app_tamper', 'application', 'fields'))!;
    const body = Buffer.from(String(row.ciphertext), 'base64');
    body[3] ^= 1;
    await db(VAULT_TABLE).where({ owner, application_id: 'app_tamper' }).update({ ciphertext: body.toString('base64') });
    await assert.rejects(vault.get('app_tamper', 'application', 'fields'), vaultError('VAULT_RECORD_UNREADABLE'));
    await db(VAULT_TABLE).where({ owner, application_id: 'app_tamper' }).update({ ciphertext: row.ciphertext, key_id: 'k-00000000' });
    await assert.rejects(vault.get('app_tamper', 'application', 'fields'), vaultError('VAULT_KEY_UNKNOWN', (e) => e.message.includes('k-00000000')));
    await vault.deleteApplication('app_tamper');
  });

  it('keeps owners apart', async () => {
    const channel = await Vault.open(db, ring, 'channel-baihang');
    await channel.put('app_rt', 'application', 'fields', { name: 'channel copy' });
    assert.deepEqual(await vault.get('app_rt', 'application', 'fields'), { ...applicant, mobile: '13800000000' });
    assert.deepEqual(await channel.list('app_rt', 'application'), [{ recordId: 'fields', value: { name: 'channel copy' } }]);
    assert.equal((await channel.stats()).records, 1);
    assert.equal(await channel.has('app_raw'), false);
  });

  it('reads records written before a rotation, and re-encrypts them all under the new key with values unchanged', async () => {
    const rotDb = await openDb(sqliteUrl(tempDir('atrest-rot')), { migrate: false });
    try {
      const rotRing = Keyring.open(keyringPath('rot'), { create: true });
      const v = await Vault.open(rotDb, rotRing, owner);
      const oldKey = rotRing.primary().id;
      for (let i = 0; i < 25; i++) await v.put(`app_${i % 5}`, 'field', `r${i}`, { i, idNumber: ID_NUMBER });
      const newKey = rotRing.rotate().id;
      for (let i = 0; i < 25; i++) assert.deepEqual(await v.get(`app_${i % 5}`, 'field', `r${i}`), { i, idNumber: ID_NUMBER });
      await v.put('app_new', 'field', 'r0', { fresh: true });
      assert.deepEqual(await v.stats(), { records: 26, byKey: { [oldKey]: 25, [newKey]: 1 } });
      assert.equal(await v.reencrypt(4), 25);
      assert.deepEqual(await v.stats(), { records: 26, byKey: { [newKey]: 26 } });
      for (let i = 0; i < 25; i++) assert.deepEqual(await v.get(`app_${i % 5}`, 'field', `r${i}`), { i, idNumber: ID_NUMBER });
      assert.equal(await v.reencrypt(4), 0);
    } finally {
      await rotDb.destroy();
    }
  });

  it('follows a rotation made by another process: its writes take the new key, its reads find keys it had not loaded', async () => {
    const path = keyringPath('twoproc');
    const cliRing = Keyring.open(path, { create: true });
    const writerRing = Keyring.open(path, { reloadIntervalMs: 0 });
    const readerRing = Keyring.open(path);
    const cli = await Vault.open(db, cliRing, 'bank-two');
    const writer = await Vault.open(db, writerRing, 'bank-two');
    const reader = await Vault.open(db, readerRing, 'bank-two');
    await writer.put('app_two', 'field', 'before', { n: 1 });
    const rotated = cliRing.rotate();
    await writer.put('app_two', 'field', 'after', { n: 2 });
    assert.deepEqual((await cli.stats()).byKey[rotated.id], 1, 'the writer picked the rotation up');
    assert.equal(await cli.reencrypt(), 1);
    assert.equal(readerRing.get(rotated.id), undefined, 'the reader had not loaded the new key');
    assert.deepEqual(await reader.list('app_two', 'field'), [
      { recordId: 'after', value: { n: 2 } },
      { recordId: 'before', value: { n: 1 } },
    ]);
  });

  it('deletes one application’s records and nothing else', async () => {
    await vault.put('app_del', 'application', 'fields', applicant);
    await vault.put('app_del', 'credit_report', 'report', { score: 700 });
    await vault.put('app_keep', 'application', 'fields', applicant);
    const other = await Vault.open(db, ring, 'bank-del-other');
    await other.put('app_del', 'application', 'fields', applicant);
    const before = (await vault.stats()).records;
    assert.equal(await vault.deleteApplication('app_del'), 2);
    assert.equal(await vault.has('app_del'), false);
    assert.equal((await vault.stats()).records, before - 2);
    assert.deepEqual(await vault.get('app_keep', 'application', 'fields'), applicant);
    assert.deepEqual(await other.get('app_del', 'application', 'fields'), applicant);
    assert.equal(await vault.deleteApplication('app_del'), 0);
  });

  it('refuses ids that are not ids and values without a JSON form, quoting neither', async () => {
    await assert.rejects(vault.put(`app ${ID_NUMBER}`, 'application', 'fields', 1), vaultError('VAULT_ID_INVALID', (e) => !e.message.includes(ID_NUMBER)));
    await assert.rejects(vault.put('app_x', 'application', 'r'.repeat(129), 1), vaultError('VAULT_ID_INVALID'));
    await assert.rejects(Vault.open(db, ring, ''), vaultError('VAULT_ID_INVALID'));
    const circular: Record<string, unknown> = { idNumber: ID_NUMBER };
    circular.self = circular;
    await assert.rejects(vault.put('app_x', 'application', 'r', circular), vaultError('VAULT_VALUE_NOT_JSON', (e) => !e.message.includes(ID_NUMBER)));
    await assert.rejects(vault.put('app_x', 'application', 'r', undefined), vaultError('VAULT_VALUE_NOT_JSON'));
    assert.equal(await vault.has('app_x'), false);
  });
});
