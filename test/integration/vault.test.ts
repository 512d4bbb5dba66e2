import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Keyring } from '../../services/atrest/keyring';
import { VAULT_TABLE } from '../../services/store/vaultMigrations';
import { Vault, VaultError } from '../../services/atrest/vault';
import { openDb, type Db } from '../../services/store/db';
import { tempDir } from '../support/env';
import { freshStore, STORE_KINDS } from '../support/stores';

const ID_NUMBER = '330106199003154821';
const applicant = { name: '张晓梅', idNumber: ID_NUMBER, mobile: '13912345678' };

/** Runs `work` over `items` with at most `width` in flight. */
async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

for (const kind of STORE_KINDS) {
  describe(`at-rest vault on ${kind === 'mysql' ? 'MariaDB (mysql2)' : 'SQLite (better-sqlite3)'}`, () => {
    const owner = 'channel-baihang';
    let db: Db;
    let db2: Db;
    let ring: Keyring;
    let drop: () => Promise<void>;
    let vault: Vault;

    before(async () => {
      const s = await freshStore(kind, 'vault');
      drop = s.drop;
      // two pools on one database: two processes of one party
      db = await openDb(s.url, { migrate: false });
      db2 = await openDb(s.url, { migrate: false });
      ring = Keyring.open(join(tempDir('vault-keys'), 'keyring.json'), { create: true });
    });
    after(async () => {
      await db?.destroy();
      await db2?.destroy();
      await drop?.();
    });

    it('creates its schema once when several processes open it at once, beside no router table', async () => {
      const opened = await Promise.all([
        Vault.open(db, ring, owner),
        Vault.open(db2, ring, owner),
        Vault.open(db, ring, 'bank-hangzhou'),
        Vault.open(db2, ring, 'bank-ningbo'),
      ]);
      vault = opened[0]!;
      assert.deepEqual((await db('vault_migrations').select('name')).map((r: { name: string }) => r.name), ['001_vault_records']);
      assert.equal(await db.schema.hasTable('knex_migrations'), false);
      await Vault.open(db, ring, owner);
    });

    it('round-trips, keeps nothing readable in the row, and tells record ids apart by case', async () => {
      await vault.put('app_1', 'application', 'fields', applicant);
      await vault.put('app_1', 'application', 'Fields', { other: true });
      assert.deepEqual(await vault.get('app_1', 'application', 'fields'), applicant);
      assert.deepEqual(await vault.get('app_1', 'application', 'Fields'), { other: true });
      assert.deepEqual((await vault.list('app_1', 'application')).map((e) => e.recordId).sort(), ['Fields', 'fields']);
      const row = (await db(VAULT_TABLE).where({ owner, application_id: 'app_1', record_id: 'fields' }).first()) as Record<string, unknown>;
      const text = JSON.stringify(row);
      for (const needle of [ID_NUMBER, '张晓梅', '13912345678']) {
        assert.ok(!text.includes(needle));
        assert.ok(!Buffer.from(String(row.ciphertext), 'base64').includes(Buffer.from(needle)));
      }
    });

    it('does not decrypt a ciphertext copied into another record', async () => {
      const { key_id, iv, ciphertext } = (await db(VAULT_TABLE).where({ owner, application_id: 'app_1', record_id: 'fields' }).first()) as Record<string, string>;
      await db(VAULT_TABLE).insert({ owner, application_id: 'app_1', kind: 'application', record_id: 'moved', key_id, iv, ciphertext, created_at: 1, updated_at: 1 });
      await assert.rejects(
        vault.get('app_1', 'application', 'moved'),
        (err: unknown) => err instanceof VaultError && err.code === 'VAULT_RECORD_UNREADABLE' && err.message.includes(`${owner}/app_1/application/moved`) && err.message.includes(key_id!),
      );
      await db(VAULT_TABLE).where({ owner, application_id: 'app_1', record_id: 'moved' }).del();
    });

    it('re-encrypts under a rotated key while two processes keep writing, losing no write', async () => {
      const path = join(tempDir('vault-rot-keys'), 'keyring.json');
      const rotOwner = 'bank-rotation';
      const cliRing = Keyring.open(path, { create: true });
      const here = await Vault.open(db, Keyring.open(path, { reloadIntervalMs: 0 }), rotOwner);
      // the other process has not looked at the keyring since before the rotation
      const there = await Vault.open(db2, Keyring.open(path, { reloadIntervalMs: 60_000 }), rotOwner);
      const admin = await Vault.open(db, cliRing, rotOwner);

      const expected = new Map<string, unknown>();
      const ids = Array.from({ length: 200 }, (_, i) => `r${String(i).padStart(3, '0')}`);
      await inParallel(ids, 8, async (id) => {
        await here.put('app_rot', 'field', id, { id, v: 1 });
        expected.set(id, { id, v: 1 });
      });
      const oldKey = cliRing.primary().id;
      const newKey = cliRing.rotate().id;

      const updates = ids.filter((_, i) => i % 4 === 0);
      const staleUpdates = ids.filter((_, i) => i % 4 === 1);
      const added = Array.from({ length: 50 }, (_, i) => `n${String(i).padStart(3, '0')}`);
      const [moved] = await Promise.all([
        admin.reencrypt(8),
        inParallel(updates, 4, async (id) => {
          await here.put('app_rot', 'field', id, { id, v: 2 });
          expected.set(id, { id, v: 2 });
        }),
        inParallel([...staleUpdates, ...added], 4, async (id) => {
          await there.put('app_rot', 'field', id, { id, v: 3 });
          expected.set(id, { id, v: 3 });
        }),
      ]);
      assert.ok(moved > 0);

      const check = async () => {
        const listed = await admin.list('app_rot', 'field');
        assert.equal(listed.length, expected.size);
        for (const { recordId, value } of listed) assert.deepEqual(value, expected.get(recordId), `record ${recordId}`);
      };
      await check();
      // the stale process wrote under the old key meanwhile; a second pass takes those
      const stale = (await admin.stats()).byKey[oldKey] ?? 0;
      assert.equal(await admin.reencrypt(8), stale);
      assert.deepEqual(await admin.stats(), { records: expected.size, byKey: { [newKey]: expected.size } });
      await check();
    });

    it('deletes one application’s records and nothing else', async () => {
      const bank = await Vault.open(db, ring, 'bank-hangzhou');
      await bank.put('app_1', 'application', 'fields', applicant);
      await vault.put('app_2', 'credit_report', 'report', { score: 700 });
      assert.equal(await vault.deleteApplication('app_1'), 2);
      assert.equal(await vault.has('app_1'), false);
      assert.equal(await vault.has('app_2'), true);
      assert.deepEqual(await bank.get('app_1', 'application', 'fields'), applicant);
    });
  });
}
