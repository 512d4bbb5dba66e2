import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { verifyBundle } from '../../services/evidence/verify';
import { verifyConsistency, verifyInclusion, hashLeaf } from '../../services/evidence/merkle';
import { openNote, parseCheckpoint, parseVkey } from '../../services/evidence/note';
import { clientCredentials, loadDzlProtos, unaryCall } from '../../services/grpc/transport';
import { ensureLogKeys, loadPartyIdentity, loadWitnessSigner } from '../../services/network/folder';
import { ReferenceRegulator } from '../../services/parties/regulator';
import { SAMPLE_CUSTOMERS, syntheticCustomer } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { fromB64url } from '../../services/seal/bytes';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

const BANK = DEV.banks[0];

describe('the regulator’s evidence API — real HTTP, gRPC (mTLS), Temporal, MariaDB', function () {
  this.timeout(300_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  let regulator: ReferenceRegulator;
  let caPem: string;
  let routerVkey: string;
  let witnessVkey: string;
  let origin: string;
  const applications: string[] = [];

  /** N applications, C in flight; each finishes when the platform's callback has its decision. */
  async function runApplications(n: number, concurrency = 32): Promise<string[]> {
    const ids: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const app = net.platform.prepare(syntheticCustomer(i).fields, BANK);
        const res = await net.platform.submit(app);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const deadline = Date.now() + 120_000;
        while (!net.platform.decisions.has(app.applicationId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.ok(net.platform.decisions.has(app.applicationId), `no decision for ${app.applicationId}`);
        ids.push(app.applicationId);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    for (const id of ids.slice(-32)) await waitForState(net.platform, id, ['platform_notified']);
    return ids;
  }

  before(async () => {
    const store = await freshStore('mysql', 'regulator');
    drop = store.drop;
    const dir = ensureNetwork();
    const network = ensureLogKeys(dir);
    caPem = network.caPem;
    routerVkey = network.log!.routerVkey;
    origin = network.log!.origin;
    witnessVkey = network.log!.witnesses[0]!.vkey;
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: dir, temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), checkpointIntervalMs: 60_000 });
    regulator = new ReferenceRegulator(loadPartyIdentity(dir, 'regulator-pboc'), net.router.url, loadWitnessSigner(dir, 'regulator-pboc'), routerVkey);
    for (const c of SAMPLE_CUSTOMERS.slice(0, 2)) {
      const app = net.platform.prepare(c.fields, BANK);
      assert.equal((await net.platform.submit(app)).status, 202);
      await waitForState(net.platform, app.applicationId, ['platform_notified']);
      applications.push(app.applicationId);
    }
  });
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('answers regulators only', async () => {
    const asPlatform = await net.platform.request('GET', `/v1/regulator/applications/${applications[0]}/bundle`);
    assert.equal(asPlatform.status, 403);
    assert.equal(asPlatform.body.error.code, 'PARTY_ROLE_MISMATCH');
  });

  it('serves an application bundle, proven against a witnessed checkpoint, that verifies offline', async () => {
    const cosigned = await regulator.witnessLatest();
    const opened = openNote(cosigned.checkpoint, [parseVkey(routerVkey), parseVkey(witnessVkey)]);
    assert.equal(opened.verifiedBy.length, 2, 'signed by the router and cosigned by the witness');
    const bundle = await regulator.applicationBundle(applications[0]!, true);
    assert.equal(bundle.checkpoint, cosigned.checkpoint);
    const kinds = bundle.leaves.map((l) => (JSON.parse(fromB64url(l.data)!.toString('utf8')) as { type: string }).type);
    assert.equal(kinds.filter((k) => k === 'hop').length, 3);
    assert.equal(kinds.filter((k) => k === 'receipt').length, 3);
    assert.ok(kinds.includes('consent') && kinds.includes('party'));
    const { rootHash, size } = parseCheckpoint(opened.body);
    for (const l of bundle.leaves) verifyInclusion(l.index, size, hashLeaf(fromB64url(l.data)!), l.proof!.map((p) => fromB64url(p)!), rootHash);
    const report = verifyBundle({ bundle, caPem, routerVkey, origin, requireWitnesses: [witnessVkey] });
    assert.ok(report.ok, report.failures.join('\n'));
    assert.equal(report.summary.hops, 3);
  });

  it('serves a party’s bundle over a time range that verifies offline', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const bundle = await regulator.partyBundle(BANK, from, to);
    const report = verifyBundle({ bundle, caPem, routerVkey, origin });
    assert.ok(report.ok, report.failures.join('\n'));
    assert.ok(report.summary.hops >= 4, 'the bank sent and received two hops per application');
    const empty = await regulator.partyBundle(BANK, '2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z');
    assert.equal(empty.leaves.filter((l) => (JSON.parse(fromB64url(l.data)!.toString('utf8')) as { type: string }).type === 'hop').length, 0);
  });

  it('serves the same bundle over gRPC with mutual TLS, to regulators only', async () => {
    const { RegulatorService } = loadDzlProtos();
    const dir = ensureNetwork();
    const call = async (party: string) => {
      const client = new RegulatorService(net.router.grpcAddress, clientCredentials(loadPartyIdentity(dir, party), 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
      try {
        return await unaryCall<object, { json: Buffer }>(client, 'GetApplicationBundle', { application_id: applications[1] }, 10_000);
      } finally {
        client.close();
      }
    };
    const res = await call('regulator-pboc');
    const report = verifyBundle({ bundle: JSON.parse(res.json.toString('utf8')), caPem, routerVkey, origin });
    assert.ok(report.ok, report.failures.join('\n'));
    await assert.rejects(call(DEV.platform), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
  });

  it('proves the log consistent between checkpoints before and after 1,000 further applications', async () => {
    const before = await regulator.witnessLatest();
    const more = await runApplications(1000);
    assert.equal(more.length, 1000);
    const after = await regulator.witnessLatest(); // the witness itself checks consistency from `before`
    const a = parseCheckpoint(openNote(before.checkpoint, [parseVkey(routerVkey)]).body);
    const b = parseCheckpoint(openNote(after.checkpoint, [parseVkey(routerVkey)]).body);
    assert.ok(b.size >= a.size + 6000, `the log grew by every hop, receipt and consent (${a.size} → ${b.size})`);
    const proof = await regulator.consistency(a.size, b.size);
    verifyConsistency(a.size, b.size, proof, a.rootHash, b.rootHash);
    const tampered = proof.map((h, i) => (i === 0 ? Uint8Array.from(h, (x, j) => (j === 0 ? x ^ 1 : x)) : h));
    assert.throws(() => verifyConsistency(a.size, b.size, tampered, a.rootHash, b.rootHash));
  });

  it('audits the whole log: no personal data went from a platform to a bank, and every refusal is listed', async () => {
    const refused = net.platform.prepare(SAMPLE_CUSTOMERS[0]!.fields, BANK);
    const replay = await net.platform.submit({ ...refused, idempotencyKey: 'idem-audit-1', body: { ...refused.body, route: { bank: DEV.banks[1] } } });
    assert.equal(replay.body.error.code, 'CONSENT_DOES_NOT_NAME_RECIPIENT');
    const bundle = await regulator.directConnectionAudit();
    assert.equal(bundle.complete, true);
    const report = verifyBundle({ bundle, caPem, routerVkey, origin });
    assert.ok(report.ok, report.failures.join('\n'));
    assert.ok(report.checks.some((c) => /no platform → bank hop/.test(c.check) && c.ok));
    assert.ok(report.summary.refusals >= 1);
    assert.ok(report.summary.hops >= 3 * 1002);
  });

  it('refuses a cosignature that is not exactly one valid cosignature/v1 line by the witness (COSIGNATURE_INVALID), and a consistency request beyond the log', async () => {
    const cp = await regulator.checkpoint(true);
    const bad = await regulator.request<{ error: { code: string } }>('POST', `/v1/regulator/checkpoint/${cp.treeSize}/cosignature`, { line: '— dzl.dev/dzl-dev/witness/regulator-pboc AAAA' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'COSIGNATURE_INVALID');
    // a valid cosignature with a second line posing as the router: refused whole, and the note served after still verifies
    const witnessed = await regulator.witnessLatest();
    const size = parseCheckpoint(openNote(witnessed.checkpoint, [parseVkey(routerVkey)]).body).size;
    const own = witnessed.checkpoint.split('\n').find((l) => l.startsWith(`— ${parseVkey(witnessVkey).name} `))!;
    const router = parseVkey(routerVkey);
    const forged = `— ${router.name} ${Buffer.concat([router.keyId, Buffer.alloc(64)]).toString('base64')}`;
    const hostile = await regulator.request<{ error: { code: string } }>('POST', `/v1/regulator/checkpoint/${size}/cosignature`, { line: `${own}\n${forged}\n` });
    assert.equal(hostile.body.error.code, 'COSIGNATURE_INVALID');
    const served = await regulator.checkpoint();
    assert.ok(!served.checkpoint.includes(forged));
    assert.equal(openNote(served.checkpoint, [router, parseVkey(witnessVkey)]).verifiedBy.length, 2);
    const beyond = await regulator.request<{ error: { code: string } }>('GET', `/v1/regulator/consistency?from=1&to=${cp.treeSize + 10}`);
    assert.equal(beyond.body.error.code, 'REQUEST_MALFORMED');
  });
});

