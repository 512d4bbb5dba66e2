import { strict as assert } from 'node:assert';
import { recordHop, recordReceipt, recordRefusal, leavesOfApplication, refusals } from '../../services/ledger/ledger';
import { hashLeaf } from '../../services/evidence/merkle';
import { appendState, statesOf } from '../../services/store/applicationStates';
import { insertApplication, type ApplicationRow } from '../../services/store/applications';
import { openDb, type Db } from '../../services/store/db';
import { DbNonceStore } from '../../services/store/nonces';
import { signReceipt, verifyReceipt } from '../../services/seal/receipt';
import { parties, sealApplication } from '../support/fixtures';
import { freshStore, STORE_KINDS } from '../support/stores';

for (const kind of STORE_KINDS) {
  describe(`store on ${kind === 'mysql' ? 'MariaDB (mysql2)' : 'SQLite (better-sqlite3)'}`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      const s = await freshStore(kind, 'store');
      drop = s.drop;
      db = await openDb(s.url);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('remembers a nonce once, atomically, even under concurrent use', async () => {
      const nonces = new DbNonceStore(db, 300_000);
      const results = await Promise.all(Array.from({ length: 8 }, () => nonces.remember('platform-huixin', 'nonce-concurrent', new Date())));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await nonces.remember('bank-hangzhou', 'nonce-concurrent', new Date()), true, 'nonces are per sender');
    });

    it('keeps one application per (platform, idempotency key) and returns the standing row', async () => {
      const row: ApplicationRow = {
        id: 'app_store_1', platformId: 'platform-huixin', idempotencyKey: 'idem-store-1', requestHash: 'h1', workflowId: 'wf1',
        model: 'data_channel', channelId: 'channel-baihang', bankId: 'bank-hangzhou', consentId: 'c1', callbackUrl: null, intakeHopId: 'hop_1', createdAt: Date.now(),
      };
      const first = await insertApplication(db, row);
      const second = await insertApplication(db, { ...row, id: 'app_store_2', requestHash: 'h2' });
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.row.id, 'app_store_1');
      assert.equal(second.row.requestHash, 'h1', 'a repeat changes nothing already accepted');
    });

    it('appends each state once, in order', async () => {
      await appendState(db, 'app_store_1', { state: 'accepted' });
      await appendState(db, 'app_store_1', { state: 'approved', reasonCode: 'X' });
      await appendState(db, 'app_store_1', { state: 'accepted' });
      assert.deepEqual((await statesOf(db, 'app_store_1')).map((s) => s.state), ['accepted', 'approved']);
    });

    it('appends evidence leaves once per fact, with RFC 9162 leaf hashes over the stored bytes', async () => {
      const p = parties();
      const s = sealApplication(p, { applicationId: 'platform-huixin:app_store_ev' });
      const hop = { header: s.header, headerBytes: s.headerBytes, signature: Buffer.from(s.sealed.signature, 'base64url') };
      assert.equal(await recordHop(db, hop), true);
      assert.equal(await recordHop(db, hop), false, 'a retried write appends nothing');
      const r = verifyReceipt(signReceipt(p.channel.signing, { hopId: s.header.hopId, headerDigest: s.headerDigest }, 'accepted'), { hopId: s.header.hopId, headerDigest: s.headerDigest, by: 'channel-baihang' }, p.directory.signerOf);
      await recordReceipt(db, 'platform-huixin:app_store_ev', r);
      await recordReceipt(db, 'platform-huixin:app_store_ev', r);
      // a refusal is filed under an application only once the router holds it (envelope.md §19.2)
      await recordRefusal(db, { code: 'HOP_REPLAYED', message: 'm', stage: 'intake', refusedBy: 'router', applicationId: 'platform-huixin:app_store_ev' });
      assert.deepEqual((await leavesOfApplication(db, 'platform-huixin:app_store_ev')).map((l) => l.kind), ['hop', 'receipt']);
      await insertApplication(db, {
        id: 'platform-huixin:app_store_ev', platformId: 'platform-huixin', idempotencyKey: 'idem-store-ev', requestHash: 'h', workflowId: 'wf-ev',
        model: 'data_channel', channelId: 'channel-baihang', bankId: 'bank-hangzhou', consentId: 'c1', callbackUrl: null, intakeHopId: s.header.hopId, createdAt: Date.now(),
      });
      await recordRefusal(db, { code: 'HOP_REPLAYED', message: 'm', stage: 'intake', refusedBy: 'router', applicationId: 'platform-huixin:app_store_ev' });
      const leaves = await leavesOfApplication(db, 'platform-huixin:app_store_ev');
      assert.deepEqual(leaves.map((l) => l.kind), ['hop', 'receipt', 'refusal']);
      for (const l of leaves) assert.equal(l.leafHash, Buffer.from(hashLeaf(l.data)).toString('hex'));
      assert.equal((await refusals(db, { code: 'HOP_REPLAYED' })).length, 2);
    });
  });
}
