import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import knexFactory from 'knex';
import { DzlError } from '../../services/common/errors';
import { consistencyProof, hashLeaf, inclusionProof, merkleRoot, verifyConsistency, verifyInclusion } from '../../services/evidence/merkle';
import { SIG_COSIGNATURE_V1, checkpointBody, cosignatureLine, generateNoteKey, openNote, parseCheckpoint } from '../../services/evidence/note';
import { refusals } from '../../services/ledger/ledger';
import { addCosignature, checkLogSigner, integratePending, LogSignerMismatch, parseBody, proveConsistency, proveInclusion, proveInclusions, publishCheckpoint, rootAt, type LogConfig } from '../../services/ledger/log';
import { knexConfig, openDb, type Db } from '../../services/store/db';
import { insertLeaves, leafHashesBetween, type NewLeafRow } from '../../services/store/evidenceLeaves';
import { readLogState } from '../../services/store/evidenceLog';
import { migrationSource } from '../../services/store/migrations';
import { freshStore, STORE_KINDS } from '../support/stores';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function leaves(from: number, n: number, tag: string): NewLeafRow[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const data = JSON.stringify({ type: 'refusal', i, tag, pad: createHash('sha256').update(`${tag}${i}`).digest('hex') });
    return { dedupKey: `test:${tag}:${i}`, kind: 'refusal', data, leafHash: hex(hashLeaf(Buffer.from(data))) };
  });
}

for (const kind of STORE_KINDS) {
  describe(`evidence log as tiles on ${kind === 'mysql' ? 'MariaDB' : 'SQLite'}`, function () {
    this.timeout(120_000);
    let db: Db;
    let url: string;
    let drop: () => Promise<void>;
    const router = generateNoteKey('dzl.test/router');
    const log: LogConfig = { origin: 'dzl.test/evidence', signer: router.signer };
    // an old log: leaves sequenced and a checkpoint signed before 008, by the code of the time
    const OLD = 1300;
    let oldRoot: Uint8Array;
    let oldHashes: Uint8Array[];

    before(async () => {
      const s = await freshStore(kind, 'evidence-log');
      url = s.url;
      drop = s.drop;
      db = knexFactory(knexConfig(url));
      for (let i = 0; i < 7; i++) await db.migrate.up({ migrationSource });
      assert.equal(await db.schema.hasTable('log_tiles'), false, 'stopped before 008');
      await insertLeaves(db, leaves(0, OLD, 'old'));
      const seqs = (await db('evidence_leaves').orderBy('seq').select('seq')).map((r) => Number(r.seq));
      for (let i = 0; i < seqs.length; i++) await db('evidence_leaves').where({ seq: seqs[i] }).update({ leaf_index: i });
      await db('log_state').where({ id: 1 }).update({ tree_size: OLD });
      oldHashes = (await leafHashesBetween(db, 0, OLD)).map((b) => new Uint8Array(b));
      oldRoot = merkleRoot(oldHashes);
      const note = `${checkpointBody({ origin: log.origin, size: OLD, rootHash: Buffer.from(oldRoot) })}\n— x AAAA\n`;
      await db('log_checkpoints').insert({ tree_size: OLD, root_hash: hex(oldRoot), note, created_at: Date.now() });
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('008 migrates an existing log in place: the same root and the same proofs', async () => {
      const before = [0, 1, 255, 256, 700, OLD - 1].map((i) => inclusionProof(i, oldHashes).map(hex));
      const consistencyBefore = [1, 256, 1000].map((m) => consistencyProof(m, oldHashes).map(hex));
      await db.migrate.latest({ migrationSource });
      const state = await readLogState(db);
      assert.equal(state.treeSize, OLD);
      assert.equal(hex(state.rootHash!), hex(oldRoot));
      assert.equal(hex(await rootAt(db, OLD)), hex(oldRoot));
      const after = await proveInclusions(db, [0, 1, 255, 256, 700, OLD - 1], OLD);
      assert.deepEqual([...after.values()].map((p) => p.map(hex)), before);
      assert.deepEqual(await Promise.all([1, 256, 1000].map(async (m) => (await proveConsistency(db, m, OLD)).map(hex))), consistencyBefore);
      // and the roots of earlier sizes too, from today's tiles
      for (const m of [1, 2, 255, 256, 257, 1000]) assert.equal(hex(await rootAt(db, m)), hex(merkleRoot(oldHashes.slice(0, m))), `root at ${m}`);
    });

    it('integrates new leaves into the tiles; the next checkpoint extends the old one', async () => {
      await insertLeaves(db, leaves(OLD, 900, 'new'));
      const cp = await publishCheckpoint(db, log);
      assert.equal(cp.treeSize, OLD + 900);
      const all = (await leafHashesBetween(db, 0, cp.treeSize)).map((b) => new Uint8Array(b));
      assert.equal(hex(cp.rootHash), hex(merkleRoot(all)));
      assert.equal(parseCheckpoint(parseBody(cp.note)).size, cp.treeSize);
      verifyConsistency(OLD, cp.treeSize, await proveConsistency(db, OLD, cp.treeSize), oldRoot, cp.rootHash);
      verifyInclusion(OLD + 17, cp.treeSize, all[OLD + 17]!, await proveInclusion(db, OLD + 17, cp.treeSize), cp.rootHash);
    });

    it('several routers sequencing at once give every leaf one dense index', async () => {
      // a second router: its own connection pool on the same store. On SQLite a second pool in
      // this process would block on the first's write lock synchronously (better-sqlite3), so the
      // routers share the one connection there, as two routers' statements share the one writer.
      const other = kind === 'mysql' ? await openDb(url) : db;
      try {
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let round = 0; round < 5; round++) {
            await insertLeaves(w % 2 ? other : db, leaves(round * 100, 60, `w${w}`));
            await integratePending(w % 2 ? db : other);
          }
        });
        await Promise.all(writers);
        const tree = await integratePending(db);
        const rows = await db('evidence_leaves').whereNotNull('leaf_index').orderBy('leaf_index').select('leaf_index', 'leaf_hash');
        assert.equal(rows.length, tree.treeSize);
        rows.forEach((r, i) => assert.equal(Number(r.leaf_index), i));
        assert.equal(await db('evidence_leaves').whereNull('leaf_index').count({ n: '*' }).first().then((r) => Number(r?.n)), 0);
        assert.equal(hex(tree.rootHash), hex(merkleRoot(rows.map((r) => Buffer.from(r.leaf_hash as string, 'hex')))));
      } finally {
        if (other !== db) await other.destroy();
      }
    });

    it('several routers signing at once sign each size once, stored in the order of their sizes', async () => {
      const other = kind === 'mysql' ? await openDb(url) : db;
      try {
        const from = (await readLogState(db)).treeSize;
        const routers = Array.from({ length: 4 }, async (_, w) => {
          for (let round = 0; round < 6; round++) {
            await insertLeaves(w % 2 ? other : db, leaves(round * 10, 7, `cp${w}`));
            await publishCheckpoint(w % 2 ? db : other, log);
          }
        });
        await Promise.all(routers);
        const last = await publishCheckpoint(db, log);
        assert.equal(last.treeSize, from + 4 * 6 * 7, 'every leaf is under the last checkpoint');
        const rows = await db('log_checkpoints').where('tree_size', '>=', from).orderBy('tree_size').select('tree_size', 'root_hash', 'note', 'created_at');
        for (let i = 1; i < rows.length; i++) {
          assert.ok(Number(rows[i].created_at) >= Number(rows[i - 1].created_at), `checkpoint ${rows[i].tree_size} was stored after the larger one before it`);
          const [m, n] = [Number(rows[i - 1].tree_size), Number(rows[i].tree_size)];
          verifyConsistency(m, n, await proveConsistency(db, m, n), Buffer.from(rows[i - 1].root_hash, 'hex'), Buffer.from(rows[i].root_hash, 'hex'));
        }
        for (const r of rows) assert.deepEqual(openNote(r.note as string, [router.signer]).verifiedBy, [router.signer.name]);
      } finally {
        if (other !== db) await other.destroy();
      }
    });

    it('a router with another log key or origin does not start and signs nothing', async () => {
      const stranger = generateNoteKey(router.signer.name);
      const before = await db('log_checkpoints').count({ n: '*' }).first();
      await insertLeaves(db, leaves(0, 3, 'stranger'));
      await assert.rejects(publishCheckpoint(db, { origin: log.origin, signer: stranger.signer }), LogSignerMismatch);
      await assert.rejects(checkLogSigner(db, { origin: 'dzl.test/another-log', signer: router.signer }), LogSignerMismatch);
      await assert.rejects(checkLogSigner(db, { origin: log.origin, signer: stranger.signer }), LogSignerMismatch);
      assert.deepEqual(await db('log_checkpoints').count({ n: '*' }).first(), before, 'no checkpoint by the stranger');
      await checkLogSigner(db, log);
      assert.equal(openNote((await publishCheckpoint(db, log)).note, [router.signer]).verifiedBy[0], router.signer.name);
    });

    describe('a witness cannot turn the log against its checkpoints', () => {
      const witness = generateNoteKey('dzl.test/witness', SIG_COSIGNATURE_V1);
      const other = generateNoteKey('dzl.test/other-witness', SIG_COSIGNATURE_V1);

      const refusedWith = async (line: string, size?: number) => {
        const cp = await publishCheckpoint(db, log);
        await assert.rejects(addCosignature(db, size ?? cp.treeSize, line, witness.signer.vkey, 'regulator-test'), (e: unknown) => e instanceof DzlError && e.code === 'COSIGNATURE_INVALID');
        const after = (await publishCheckpoint(db, log)).note;
        // the stored note still opens for the router, and holds nothing the witness sent
        assert.deepEqual(openNote(after, [router.signer]).verifiedBy, [router.signer.name]);
        assert.ok(!after.includes(line.trim()), 'the refused text is not served');
      };

      it('refuses a second line posing as the router, and records the refusal', async () => {
        const cp = await publishCheckpoint(db, log);
        const body = parseBody(cp.note);
        const good = cosignatureLine(body, witness.signer);
        const forged = `— ${router.signer.name} ${Buffer.concat([router.signer.keyId, Buffer.alloc(64)]).toString('base64')}\n`;
        await refusedWith(good + forged);
        const recorded = await refusals(db, { code: 'COSIGNATURE_INVALID' });
        assert.ok(recorded.some((r) => r.stage === 'cosignature' && r.from === 'regulator-test'));
      });

      it('refuses another witness’s line, a malformed line, a non-v1 signature and a signature over another checkpoint', async () => {
        const cp = await publishCheckpoint(db, log);
        const body = parseBody(cp.note);
        await refusedWith(cosignatureLine(body, other.signer));
        await refusedWith('— dzl.test/witness !!!\n');
        await refusedWith(`— ${witness.signer.name} ${Buffer.concat([witness.signer.keyId, Buffer.alloc(64)]).toString('base64')}\n`);
        await refusedWith(cosignatureLine(checkpointBody({ origin: log.origin, size: 1, rootHash: Buffer.alloc(32) }), witness.signer));
        await refusedWith(cosignatureLine(body, witness.signer), 999_999);
      });

      it('accepts exactly one cosignature/v1 line by the witness, stored re-encoded', async () => {
        const cp = await publishCheckpoint(db, log);
        const line = cosignatureLine(parseBody(cp.note), witness.signer);
        const stored = await addCosignature(db, cp.treeSize, line.trimEnd(), witness.signer.vkey, 'regulator-test');
        const opened = openNote(stored.note, [router.signer, witness.signer]);
        assert.deepEqual(opened.verifiedBy.sort(), [router.signer.name, witness.signer.name].sort());
        assert.ok(stored.note.endsWith(line));
      });
    });
  });
}
