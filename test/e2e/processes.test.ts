/**
 * The open network as independent organisations run it (issue 11): the router, the worker, two
 * channels, two banks and the platform each a separate OS process (`dzl router|worker|channel|
 * bank|platform`), each party onboarded only through the commands — `dzl party init` in its own
 * folder, `dzl operator admit`, `dzl party install` — with keys it made itself, and each reading
 * the others from the router's signed directory. Real Temporal, MariaDB, gRPC with mutual TLS and
 * HTTP on loopback. Carried: a data-channel application whose cascade moves from a bank that
 * declines (a module plug-in) to one that approves, and a direct redirect through the other
 * channel (an HTTP scoring plug-in) after the operator moved the bank to it. Then a certificate
 * revoked through the operator path is refused by the router and by a party within seconds.
 */
import { strict as assert } from 'node:assert';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fromGrpcError, clientCredentials, hopToWire, loadDzlProtos, receiptFromWire, unaryCall, type WireReceipt } from '../../services/grpc/transport';
import { verifyReceipt } from '../../services/seal/receipt';
import { loadPartyIdentity } from '../../services/network/folder';
import { loadOwnIdentity } from '../../services/network/onboarding';
import { scoreApplication } from '../../services/parties/plugins';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { classOf } from '../../services/fields/catalogue';
import { certificateFingerprint } from '../../services/pki/certificate';
import { fetchDirectory, verifyPublishedDirectory } from '../../services/registry/published';
import { newSalt, sealHop, type Fields } from '../../services/seal/hop';
import { applyOnBankPage, startProcessNetwork, type ProcessNetwork } from '../../services/demo/processNetwork';
import { freshMysqlDatabase, ROOT, temporalAddress, tempDir } from '../support/env';
import { eventually } from '../support/wait';

const DECLINING_ENGINE = join(ROOT, 'dist', 'test', 'support', 'plugins', 'decliningEngine.js');
const CUSTOMER = SAMPLE_CUSTOMERS[0]!.fields;
const RISK: Fields = Object.fromEntries(Object.entries(CUSTOMER).filter(([k]) => k.startsWith('risk.')));


describe('the open network as separate processes — each party onboarded with its own keys (issue 11)', function () {
  this.timeout(300_000);
  let net: ProcessNetwork;
  let db: Awaited<ReturnType<typeof freshMysqlDatabase>>;
  let routerUrl = '';
  let operatorDir = '';
  let scoring: Server;
  const scored: number[] = [];
  let cascadeApplication = '';
  const platformApi = (method: string, path: string, body?: unknown) => net.platformApi(method, path, body);

  const held = (applicationId: string) =>
    eventually(`the platform holds the outcome of ${applicationId}`, async () => {
      const r = await platformApi('GET', `/applications/${encodeURIComponent(applicationId)}`);
      if (!r.body.held?.outcome) throw new Error(`state ${r.body.router?.state}`);
      return r.body;
    }, 60_000);

  before(async function () {
    db = await freshMysqlDatabase('processes');
    // the channel's own scoring system, which its process calls over HTTP (the HTTP plug-in)
    scoring = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { fields } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { fields: Fields };
        const product = scoreApplication(fields, { name: 'PudaoScore', version: '7.1' });
        scored.push(Number(product['product.score']));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fields: product }));
      });
    });
    await new Promise<void>((r) => scoring.listen(0, '127.0.0.1', () => r()));
    net = await startProcessNetwork({
      root: tempDir('processes'),
      dbUrl: db.url,
      temporalAddress: temporalAddress(),
      refreshMs: 500,
      channels: [
        { id: 'channel-a', legalName: '甲征信（测试）', licence: 'ZX-TEST-A' },
        { id: 'channel-b', legalName: '乙征信（测试）', licence: 'ZX-TEST-B', policy: { url: `http://127.0.0.1:${(scoring.address() as AddressInfo).port}/score`, provenance: { name: 'PudaoScore', version: '7.1' } } },
      ],
      banks: [
        { id: 'bank-a', legalName: '甲银行（测试）', channel: 'channel-a', engine: { module: DECLINING_ENGINE, options: { reasonCode: 'TEST_POLICY_DECLINE' } } },
        { id: 'bank-b', legalName: '乙银行（测试）', channel: 'channel-a' },
      ],
      platform: { id: 'platform-p', legalName: '丙助贷（测试）', channel: 'channel-a', funding: ['bank-a', 'bank-b'] },
    });
    routerUrl = net.routerUrl;
    operatorDir = net.operatorDir;
  });

  after(async () => {
    await net?.stop();
    scoring?.close();
    await db?.drop();
  });

  it('keeps every private key in its own party\'s folder: the operator\'s holds the router\'s alone', () => {
    const network = JSON.parse(readFileSync(join(operatorDir, 'network.json'), 'utf8')) as { parties: { id: string }[] };
    assert.deepEqual(network.parties.map((p) => p.id), ['router']);
    for (const id of ['channel-a', 'bank-a', 'platform-p']) {
      const admission = readFileSync(join(net.folder(id), '..', `${id}.admission.json`), 'utf8');
      assert.ok(!/PRIVATE KEY/.test(admission), `${id}'s admission carries no private key`);
    }
  });

  it('is observable: every process answers healthz and readyz on its ops port, metrics name codes, and the worker serves the Temporal SDK\'s own', async () => {
    assert.deepEqual(Object.keys(net.opsUrls).sort(), ['bank-a', 'bank-b', 'channel-a', 'channel-b', 'platform-p', 'router', 'worker']);
    for (const [name, ops] of Object.entries(net.opsUrls)) {
      assert.equal((await fetch(`${ops}/healthz`)).status, 200, `${name} healthz`);
      const ready = await fetch(`${ops}/readyz`);
      assert.equal(ready.status, 200, `${name} readyz: ${await ready.text()}`);
      assert.match(await (await fetch(`${ops}/metrics`)).text(), /^dzl_/m, `${name} metrics`);
    }
    const sdk = await eventually('the Temporal SDK metrics', async () => {
      const text = await (await fetch(`http://127.0.0.1:${net.ports.temporalMetrics}/metrics`)).text();
      if (!/^temporal_/m.test(text)) throw new Error('no temporal_ metric yet');
      return text;
    });
    assert.match(sdk, /temporal_worker_task_slots_available|temporal_num_pollers|temporal_request/);
  });

  it("keeps the platform's own API to this machine's callers: no browser form post, no other host name", async () => {
    const raw = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; code?: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: net.ports.platformApi, path: '/applications', method: 'POST', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string } }).error?.code }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const application = JSON.stringify({ fields: CUSTOMER, route: { bank: 'bank-b' } });
    // what a web page in the operator's browser could send without a preflight
    assert.deepEqual(await raw({ 'content-type': 'text/plain' }, application), { status: 400, code: 'REQUEST_MALFORMED' });
    // a page that rebound its own name to 127.0.0.1 still sends its own name
    assert.deepEqual(await raw({ 'content-type': 'application/json', host: 'evil.example' }, application), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
  });

  it('carries a data-channel application through a cascade: the module plug-in declines, the next bank approves', async () => {
    const submitted = await platformApi('POST', '/applications', { fields: CUSTOMER, route: { attributes: { amount: 5_000_000, termMonths: 12, region: '330000' } }, banks: ['bank-a', 'bank-b'] });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body.router?.error?.code));
    cascadeApplication = submitted.body.applicationId;
    const body = await held(submitted.body.applicationId);
    assert.equal(body.held.outcome.outcome, 'approved');
    assert.deepEqual(body.router.route.map((t: { bank: string; outcome?: string; reasonCode?: string }) => [t.bank, t.outcome, t.reasonCode]), [['bank-a', 'declined', 'TEST_POLICY_DECLINE'], ['bank-b', 'approved', undefined]]);
    assert.equal(body.held.decision.fields['decision.status'], 'approved');
    assert.ok(Number(body.held.decision.fields['decision.limit']) > 0, 'the platform opened bank-b\'s terms');
  });

  it('carries a direct redirect through the other channel, after the operator moved the bank to it (a new directory version)', async () => {
    const me = loadOwnIdentity(net.folder('platform-p'));
    const before = verifyPublishedDirectory(await fetchDirectory(routerUrl, me.signing), me.caPem).body.version;
    await net.dzl('operator', 'update', 'bank-b', '--contracted-channel', 'channel-b', ...net.operatorArgs);
    const after = verifyPublishedDirectory(await fetchDirectory(routerUrl, me.signing), me.caPem).body;
    assert.ok(after.version > before, 'the change is a party leaf: a new directory version');
    assert.equal(after.parties.find((p) => p.id === 'bank-b')?.contractedChannel, 'channel-b');
    // the router reloads its registry every 5 s (envelope.md §23), a party its directory every refreshMs
    await new Promise((r) => setTimeout(r, 5_500));
    const redirect = await platformApi('POST', '/redirects', { bank: 'bank-b', fields: RISK });
    assert.equal(redirect.status, 202, String(redirect.body.error?.code ?? redirect.body.router?.error?.code));
    const started = redirect.body as { applicationId: string; redirectUrl: string };
    const scoredBefore = scored.length;
    // the customer on bank-b's own page: the form, then the bank claims the token at the router
    assert.equal(await applyOnBankPage(started.redirectUrl, { name: '李雷', idNumber: '110101199001011234', mobile: '13800138000', amountYuan: 30_000, termMonths: 12 }), 302, "the bank's page took the application");
    const body = await held(started.applicationId);
    assert.equal(body.router.channel, 'channel-b');
    assert.deepEqual(body.router.route.map((t: { bank: string }) => t.bank), ['bank-b']);
    assert.ok(['approved', 'declined'].includes(body.held.outcome.outcome));
    assert.ok(scored.length > scoredBefore, "channel-b's scoring system (its HTTP plug-in) was called");
  });

  it('a revoked certificate is refused within seconds, by the router and by a party', async () => {
    const platformFolder = net.folder('platform-p');
    const platform = loadOwnIdentity(platformFolder);
    const keyId = certificateFingerprint(readFileSync(join(platformFolder, 'sig.crt'), 'utf8'));
    // a hop the platform signed before the revocation would be taken; one signed after is not
    await net.dzl('operator', 'revoke', keyId, ...net.operatorArgs);
    const revokedAt = Date.now();
    // the platform's requests are signed with that key: the status of its first application, asked again and again
    const routerRefused = await eventually('the router refuses the revoked platform key', async () => {
      // the platform process still answers what it holds; what the router said is in `router`
      const r = await platformApi('GET', `/applications/${encodeURIComponent(cascadeApplication)}`);
      const code = r.body.router?.error?.code as string | undefined;
      if (code !== 'REQUEST_UNAUTHENTICATED') throw new Error(`the router answered ${code ?? 'the status'}`);
      assert.equal(r.body.held?.outcome?.outcome, 'approved', 'what the platform holds stays');
      return { code, ms: Date.now() - revokedAt };
    }, 15_000);
    const refusedSubmission = await platformApi('POST', '/applications', { fields: CUSTOMER, route: { bank: 'bank-a' } });
    assert.equal(refusedSubmission.status, 401);
    assert.equal(routerRefused.code, 'REQUEST_UNAUTHENTICATED');

    // playing the router (with its own keys), deliver channel-a a hop signed with the revoked key
    const router = loadPartyIdentity(operatorDir, 'router');
    const { ChannelService } = loadDzlProtos();
    const client = new ChannelService(`127.0.0.1:${net.ports['channel-a']}`, clientCredentials(router, 'channel-a'), { 'grpc.ssl_target_name_override': 'localhost' });
    const published = verifyPublishedDirectory(await fetchDirectory(routerUrl, router.signing), router.caPem).directory;
    const partyRefused = await eventually('channel-a refuses a hop signed with the revoked key', async () => {
      const hop = sealHop(platform.signing, {
        applicationId: `platform-p:app_after_revocation_${Date.now()}`, kind: 'application', model: 'data_channel', platform: 'platform-p', channel: 'channel-a',
        to: published.encryptionCertificate('channel-a'), consentRef: 'platform-p:consent_x', fields: CUSTOMER, salt: newSalt(), classOf,
      });
      let answer: { receipt?: WireReceipt };
      try {
        answer = await unaryCall(client, 'ProcessApplication', { hop: hopToWire(hop.sealed), bank_id: 'bank-a' }, 5_000);
      } catch (err) {
        throw new Error(`a gRPC error ${fromGrpcError(err)?.code ?? 'without a code'}, not a signed refusal`);
      }
      // the channel answers with a receipt signed by its own key: rejected, and why
      const receipt = verifyReceipt(receiptFromWire(answer.receipt), { hopId: hop.header.hopId, headerDigest: hop.headerDigest, by: 'channel-a' }, published.signerOf);
      if (receipt.body.status !== 'rejected') throw new Error('taken');
      return { code: receipt.body.reason, ms: Date.now() - revokedAt };
    }, 15_000);
    client.close();
    assert.equal(partyRefused.code, 'HOP_CERTIFICATE_INVALID');
    assert.ok(routerRefused.ms < 10_000 && partyRefused.ms < 10_000, `router ${routerRefused.ms} ms, channel ${partyRefused.ms} ms`);
    process.stdout.write(`      revocation refused: router after ${routerRefused.ms} ms, channel-a after ${partyRefused.ms} ms (${partyRefused.code})\n`);
  });
});
