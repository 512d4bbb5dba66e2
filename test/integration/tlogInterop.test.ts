import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashLeaf } from '../../services/evidence/merkle';
import { tilePath } from '../../services/evidence/tiles';
import { checkpointAt, proveConsistency, proveInclusion, publishCheckpoint, type StoredCheckpoint } from '../../services/ledger/log';
import { readNetworkFile, ensureLogKeys } from '../../services/network/folder';
import { registerNetwork } from '../../services/operator/registry';
import { startRouter, type RunningRouter } from '../../services/runtime/stack';
import { b64url } from '../../services/seal/bytes';
import { openDb } from '../../services/store/db';
import { insertLeaves, latestPartyLeaf, type NewLeafRow } from '../../services/store/evidenceLeaves';
import { ROOT, ensureNetwork, env, tempDir, temporalAddress } from '../support/env';
import { freshStore } from '../support/stores';

const CLIENT_DIR = join(ROOT, 'test', 'interop', 'tlog-client');

interface ClientRun {
  code: number;
  report: { origin: string; size: number; tilesFetched: number; checks: string[] };
  stderr: string;
}

/**
 * `go run` of the independent client: Go caches the built executable, so a repeat costs a fraction
 * of a second; go.sum pins the modules it fetches from the module proxy. No VCS stamping: the
 * client sits inside this repository's work tree.
 */
function runClient(args: string[]): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    execFile('go', ['run', '.', ...args], { cwd: CLIENT_DIR, timeout: 180_000, env: { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? -1) : 0;
      if (typeof code !== 'number' || code === -1) return reject(err);
      const line = stdout.trim().split('\n').pop() ?? '{}';
      resolve({ code, report: JSON.parse(line) as ClientRun['report'], stderr });
    });
  });
}

function bulk(from: number, n: number): NewLeafRow[] {
  return Array.from({ length: n }, (_, k) => {
    const data = JSON.stringify({ type: 'refusal', bulk: from + k, pad: createHash('sha256').update(String(from + k)).digest('hex') });
    return { dedupKey: `interop:${from + k}`, kind: 'refusal', data, leafHash: Buffer.from(hashLeaf(Buffer.from(data))).toString('hex') };
  });
}

describe('the tile log followed by an independent C2SP client (Go: x/mod sumdb/tlog + note, transparency-dev/merkle)', function () {
  this.timeout(300_000);
  let router: RunningRouter;
  let drop: () => Promise<void>;
  let vkey: string;
  let origin: string;
  let older: StoredCheckpoint;
  let latest: StoredCheckpoint;
  let oldFile: string;
  let leafArgs: string[];

  before(async () => {
    const store = await freshStore('sqlite', 'tlog-interop');
    drop = store.drop;
    const dir = ensureNetwork();
    const network = ensureLogKeys(dir);
    vkey = network.log!.routerVkey;
    origin = network.log!.origin;
    const seed = await openDb(store.url);
    await registerNetwork(seed, readNetworkFile(dir));
    await seed.destroy();
    router = await startRouter({ dbUrl: store.url, networkDir: dir, temporalAddress: temporalAddress(), logFile: env.logFile, checkpointIntervalMs: 3_600_000 });
    // real leaves through the real router: unsigned requests are refused and recorded
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${router.url}/v1/applications`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 401);
    }
    older = await publishCheckpoint(router.db, router.regulator.log);
    oldFile = join(tempDir('tlog-interop'), 'older.checkpoint');
    writeFileSync(oldFile, older.note);
    // then enough to reach level-2 tiles (65 536 leaves), written in bulk
    await insertLeaves(router.db, bulk(0, 66_000));
    latest = await publishCheckpoint(router.db, router.regulator.log);
    const party = (await latestPartyLeaf(router.db, 'router'))!;
    const proof = await proveInclusion(router.db, party.leafIndex!, latest.treeSize);
    leafArgs = [
      `-leaf-index=${party.leafIndex}`,
      `-leaf-data=${b64url(Buffer.from(party.data, 'utf8'))}`,
      `-leaf-proof=${proof.map((h) => b64url(h)).join(',')}`,
      `-proof-size=${latest.treeSize}`,
      `-old=${oldFile}`,
      `-consistency-proof=${(await proveConsistency(router.db, older.treeSize, latest.treeSize)).map((h) => b64url(h)).join(',')}`,
    ];
  });
  after(async () => {
    await router?.close();
    await drop?.();
  });

  const base = () => [`-log=${router.url}/log/`, `-vkey=${vkey}`, `-origin=${origin}`];

  it('serves the checkpoint and tiles over plain HTTP, read-only, without authentication', async () => {
    const cp = await fetch(`${router.url}/log/checkpoint`);
    assert.equal(cp.status, 200);
    assert.equal(await cp.text(), (await checkpointAt(router.db, latest.treeSize))!.note);
    const full = await fetch(`${router.url}/log/tile/0/000`);
    assert.equal(full.status, 200);
    assert.equal((await full.arrayBuffer()).byteLength, 256 * 32);
    const partialWidth = latest.treeSize % 256;
    const partial = await fetch(`${router.url}/log/${tilePath(0, Math.floor(latest.treeSize / 256), partialWidth)}`);
    assert.equal(partial.status, 200);
    assert.equal((await partial.arrayBuffer()).byteLength, partialWidth * 32);
    assert.equal((await fetch(`${router.url}/log/tile/0/x999/999`)).status, 404);
    assert.equal((await fetch(`${router.url}/log/tile/0/0000`)).status, 400);
    assert.equal((await fetch(`${router.url}/log/tile/entries/000`)).status, 404, 'entries are not served');
    assert.equal((await fetch(`${router.url}/log/checkpoint`, { method: 'POST' })).status, 404, 'read-only');
  });

  it('verifies the signature, the root from every leaf hash, an inclusion and a consistency proof', async () => {
    const run = await runClient([...base(), ...leafArgs]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.report.size, latest.treeSize);
    assert.equal(run.report.origin, origin);
    assert.equal(run.report.checks.length, 7, run.report.checks.join('\n'));
    assert.ok(run.report.checks.some((c) => c.startsWith(`checkpoint ${older.treeSize} is a prefix of ${latest.treeSize}`)));
  });

  it('refuses a checkpoint under another origin or key', async () => {
    const wrongOrigin = await runClient([`-log=${router.url}/log/`, `-vkey=${vkey}`, '-origin=dzl.example/another-log']);
    assert.equal(wrongOrigin.code, 1);
    assert.match(wrongOrigin.stderr, /origin/);
  });

  for (const [what, level, index] of [
    ['a leaf hash in a level-0 tile', 0, 1],
    ['a subtree hash in a level-1 tile', 1, 0],
    ['a hash in the level-2 tile', 2, 0],
  ] as const) {
    it(`fails when the tiles are wrong: ${what}`, async () => {
      const row = await router.db('log_tiles').where({ level, tile_index: index }).first();
      const good = Buffer.from(row.hashes as Buffer);
      const bad = Buffer.from(good);
      bad[5] = bad[5]! ^ 0xff;
      await router.db('log_tiles').where({ level, tile_index: index }).update({ hashes: bad });
      try {
        const run = await runClient([...base(), ...leafArgs]);
        assert.equal(run.code, 1, `the client accepted a corrupted tile ${level}/${index}`);
        assert.ok(run.stderr.length > 0);
      } finally {
        await router.db('log_tiles').where({ level, tile_index: index }).update({ hashes: good });
      }
    });
  }
});
