/**
 * Several routers on one store (issue 14, item 2), each with its own registry cache, on the real
 * Temporal server, MariaDB and HTTP: the caches here are an hour old by design
 * (`registryRefreshMs`), so nothing below can pass by a timer's luck.
 * - the same submission sent to two routers at once is one application, one workflow, one hop;
 * - a key revoked through one router (its own connection to the store) binds the other at once:
 *   under concurrent submissions to both, no hop signed with the key enters the log after the
 *   revocation's party leaf, and every application that was taken still verifies offline.
 * Checkpoints signed by several routers at once: test/integration/evidenceLog.test.ts.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINAL_OUTCOMES } from '../../services/domain/applications';
import { verifyBundle } from '../../services/evidence/verify';
import type { HopLeaf, Leaf, PartyLeaf } from '../../services/evidence/leaves';
import { applicationBundle } from '../../services/ledger/bundles';
import { hopsOfApplication, refusals } from '../../services/ledger/ledger';
import { integratePending } from '../../services/ledger/log';
import { loadDirectory, loadPartyIdentity } from '../../services/network/folder';
import { revokeCertificate } from '../../services/operator/registry';
import { ReferencePlatform, type PreparedApplication } from '../../services/parties/platform';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { certificateFingerprint } from '../../services/pki/certificate';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { startRouter, sweeperIdOf, type RunningRouter } from '../../services/runtime/stack';
import { statesOf } from '../../services/store/applicationStates';
import { getApplication } from '../../services/store/applications';
import { openDb, type Db } from '../../services/store/db';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';
import { until } from '../support/wait';

const GOOD = SAMPLE_CUSTOMERS[0]!.fields;
const BANK = DEV.banks[0]!;
const HOUR = 3_600_000;

describe('several routers on one store — real Temporal, HTTP, MariaDB', function () {
  this.timeout(180_000);
  let net: LocalNetwork;
  let routerB: RunningRouter;
  let platformB: ReferencePlatform;
  let operatorB: Db;
  let drop: () => Promise<void>;

  before(async () => {
    const store = await freshStore('mysql', 'several-routers');
    drop = store.drop;
    net = await startLocalNetwork({
      dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), registryRefreshMs: HOUR,
    });
    routerB = await startRouter(net.cfg);
    platformB = new ReferencePlatform({ identity: loadPartyIdentity(net.cfg.networkDir, DEV.platform), directory: () => loadDirectory(net.cfg.networkDir), routerUrl: routerB.url, channelId: DEV.channel });
    // the operator's change arrives through a router of its own: its own connection to the store
    operatorB = await openDb(store.url);
  });
  after(async () => {
    await routerB?.close();
    await operatorB?.destroy();
    await net?.close();
    await drop?.();
  });

  it('takes the same submission sent to two routers at once as one application, one workflow, one hop', async () => {
    const app = net.platform.prepare(GOOD, BANK);
    const [a, b] = await Promise.all([net.platform.submit(app), platformB.submit(app)]);
    for (const r of [a, b]) assert.ok([200, 202].includes(r.status), `${r.status} ${r.body?.error?.code}`);
    assert.equal(a.body.applicationId, app.applicationId);
    assert.equal(b.body.applicationId, app.applicationId);
    await waitForState(net.platform, app.applicationId, ['platform_notified'], 60_000);
    const hops = await hopsOfApplication(net.db, app.applicationId);
    assert.equal(hops.filter((h) => h.header.kind === 'application').length, 1, 'one intake hop');
    assert.equal(hops.filter((h) => h.header.kind === 'decision').length, 1, 'one decision');
    const row = await getApplication(net.db, app.applicationId);
    const runs = await net.router.temporal.workflow.list({ query: `WorkflowId = '${row!.workflowId}'` });
    let n = 0;
    for await (const _ of runs) n++;
    assert.equal(n, 1, 'one workflow run');
  });

  it('runs one retention sweeper for the store, named by the store, not by the URL a router uses', async () => {
    const id = await sweeperIdOf(net.db);
    assert.equal(await sweeperIdOf(operatorB), id);
    assert.match(id, /^dzl-retention-sweeper-[0-9a-f]{16}$/);
    let running = 0;
    for await (const w of net.router.temporal.workflow.list({ query: `WorkflowType = 'retentionSweeper' AND ExecutionStatus = 'Running'` })) if (w.workflowId === id) running++;
    assert.equal(running, 1, 'two routers started, one sweeper runs');
  });

  it('a key revoked through one router binds the other at once: no hop signed with it enters the log after the revocation', async () => {
    const keyId = certificateFingerprint(readFileSync(join(net.cfg.networkDir, 'parties', DEV.platform, 'sig.crt'), 'utf8'));
    assert.equal(net.platform.partyId === DEV.platform && keyId.length > 0, true);
    // submissions to both routers while the revocation commits through a third connection
    // each sealed the moment it is sent, so some are signed after the revocation takes effect
    const apps: PreparedApplication[] = [];
    const submitted = Array.from({ length: 12 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 40)).then(() => {
        const app = net.platform.prepare(GOOD, BANK);
        apps[i] = app;
        return (i % 2 ? platformB : net.platform).submit(app);
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await revokeCertificate(operatorB, keyId), true);
    const answers = await Promise.all(submitted);
    // both routers' caches are still an hour old; a submission now is refused by either
    for (const platform of [net.platform, platformB]) {
      const late = await platform.submit(net.platform.prepare(GOOD, BANK));
      // the router that reread the registry refuses the request's signature; one that had not, the hop's
      assert.equal(late.status, 401, `a submission after the revocation: ${late.status} ${late.body?.error?.code}`);
      assert.ok(['REQUEST_UNAUTHENTICATED', 'HOP_CERTIFICATE_INVALID'].includes(late.body.error.code), late.body.error.code);
    }

    await integratePending(net.db);
    const leaves = (await net.db('evidence_leaves').whereNotNull('leaf_index').orderBy('leaf_index').select('leaf_index', 'kind', 'data')).map((r) => ({ index: Number(r.leaf_index), kind: r.kind as string, leaf: JSON.parse(r.data as string) as Leaf }));
    const revocation = leaves.find((l) => l.leaf.type === 'party' && l.leaf.party.id === DEV.platform && l.leaf.party.revoked?.[keyId] !== undefined);
    assert.ok(revocation, 'the revocation is a party leaf');
    // what it signed before its revocation stays valid, wherever it lands in the log; what it
    // signed after may enter the log only before the revocation's leaf (the registry then)
    const revokedAt = Date.parse((revocation.leaf as PartyLeaf).party.revoked![keyId]!);
    const headerOf = (header: string) => JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { senderKeyId: string; issuedAt: string };
    const signedWithKey = leaves.filter((l) => l.leaf.type === 'hop' && headerOf(l.leaf.header).senderKeyId === keyId);
    assert.ok(signedWithKey.length >= 2, 'the key signed hops before');
    const forbidden = signedWithKey.filter((l) => l.index > revocation.index && Date.parse(headerOf((l.leaf as HopLeaf).header).issuedAt) >= revokedAt);
    assert.deepEqual(forbidden.map((l) => l.index), [], 'hops signed with the revoked key after its revocation, recorded after it');

    // what was taken is whole and verifies offline; what was refused is recorded, and nothing else happened to it
    const taken = apps.filter((_, i) => answers[i]!.status === 202);
    const refused = apps.filter((_, i) => answers[i]!.status !== 202);
    assert.equal(taken.length + refused.length, apps.length);
    for (const [i, a] of answers.entries()) assert.ok([202, 401, 503].includes(a.status), `submission ${i}: ${a.status} ${a.body?.error?.code}`);
    for (const app of taken) {
      // the platform cannot fetch its decision now (its requests are signed with the revoked key): read the store
      await until(`${app.applicationId} ends`, async () => (await statesOf(net.db, app.applicationId)).some((s) => (FINAL_OUTCOMES as readonly string[]).includes(s.state)), 60_000);
      const bundle = await applicationBundle(net.db, net.router.regulator.log, app.applicationId);
      const report = verifyBundle({ bundle, caPem: net.router.directory.get().caPem, routerVkey: net.router.regulator.trust.routerVkey, origin: net.router.regulator.trust.origin });
      assert.ok(report.ok, report.failures.join('\n'));
    }
    for (const app of refused) assert.equal(await getApplication(net.db, app.applicationId), undefined, 'a refused submission left no application');
    assert.ok((await refusals(net.db)).some((r) => r.code === 'HOP_CERTIFICATE_INVALID' || r.code === 'REQUEST_UNAUTHENTICATED'), 'the refusals are recorded');
  });
});
