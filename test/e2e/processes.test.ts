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
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
import { freePort } from '../../services/temporal/devServer';
import { freshMysqlDatabase, ROOT, temporalAddress, tempDir } from '../support/env';

const run = promisify(execFile);
const DZL = join(ROOT, 'dist', 'services', 'cli', 'dzl.js');
const dzl = (...args: string[]) => run(process.execPath, [DZL, ...args], { cwd: ROOT });
const DECLINING_ENGINE = join(ROOT, 'dist', 'test', 'support', 'plugins', 'decliningEngine.js');
const CUSTOMER = SAMPLE_CUSTOMERS[0]!.fields;
const RISK: Fields = Object.fromEntries(Object.entries(CUSTOMER).filter(([k]) => k.startsWith('risk.')));

async function eventually<T>(what: string, attempt: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} within ${ms} ms: ${last instanceof Error ? last.message : String(last)}`);
}

describe('the open network as separate processes — each party onboarded with its own keys (issue 11)', function () {
  this.timeout(300_000);
  const root = tempDir('processes');
  const operatorDir = join(root, 'operator');
  const children: { name: string; child: ChildProcess }[] = [];
  let db: Awaited<ReturnType<typeof freshMysqlDatabase>>;
  let routerUrl = '';
  let scoring: Server;
  const scored: number[] = [];
  const port: Record<string, number> = {};
  let cascadeApplication = '';

  /** Starts `dzl <args>` as its own process, its output in its own log; resolves when it printed `ready`. */
  function start(name: string, ready: RegExp, ...args: string[]): Promise<ChildProcess> {
    const log = createWriteStream(join(root, `${name}.log`));
    const child = spawn(process.execPath, [DZL, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push({ name, child });
    child.stdout.pipe(log);
    return new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start: ${seen.slice(-600)}`)), 90_000);
      child.stderr.on('data', (chunk: Buffer) => {
        log.write(chunk);
        seen += chunk.toString('utf8');
        if (ready.test(seen)) {
          clearTimeout(timer);
          resolve(child);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}: ${seen.slice(-600)}`));
      });
    });
  }

  /** A party's own onboarding: its keys in its folder, the operator's admission, the install. */
  async function onboard(id: string, role: string, legalName: string, admit: string[]): Promise<string> {
    const folder = join(root, id);
    await dzl('party', 'init', '--dir', folder, '--id', id, '--role', role, '--legal-name', legalName);
    await dzl('operator', 'admit', join(folder, 'request.json'), '--out', join(root, `${id}.admission.json`), '--db', db.url, '--dir', operatorDir, ...admit);
    await dzl('party', 'install', join(root, `${id}.admission.json`), '--dir', folder);
    return folder;
  }

  function configure(id: string, config: Record<string, unknown>): string {
    const file = join(root, `${id}.json`);
    writeFileSync(file, JSON.stringify({ folder: `./${id}`, routerUrl, directory: { refreshMs: 500 }, log: { file: `./${id}.party.log` }, ...config }, null, 2));
    return file;
  }

  /** The platform's own system, calling its platform process's API. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the platform API's JSON, read as such
  async function platformApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${port.platformApi}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: await res.json() };
  }

  const held = (applicationId: string) =>
    eventually(`the platform holds the outcome of ${applicationId}`, async () => {
      const r = await platformApi('GET', `/applications/${encodeURIComponent(applicationId)}`);
      if (!r.body.held?.outcome) throw new Error(`state ${r.body.router?.state}`);
      return r.body;
    }, 60_000);

  before(async function () {
    db = await freshMysqlDatabase('processes');
    for (const name of ['routerHttp', 'routerGrpc', 'channelA', 'channelB', 'bankA', 'bankB', 'bankAWeb', 'bankBWeb', 'callback', 'platformApi']) port[name] = await freePort();
    routerUrl = `http://127.0.0.1:${port.routerHttp}`;
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

    // the operator: a CA and the router's keys, nothing of anyone else's
    await dzl('network', 'init', '--dir', operatorDir, '--operator-only');
    await dzl('network', 'register', '--dir', operatorDir, '--db', db.url);
    const common = ['--db', db.url, '--network', operatorDir, '--temporal', temporalAddress(), '--allow-private-callbacks'];
    await start('router', /dzl router running/, 'router', ...common, '--port', String(port.routerHttp), '--grpc-address', `127.0.0.1:${port.routerGrpc}`);
    await start('worker', /dzl worker running/, 'worker', ...common);

    const licence = (n: string) => ['--licence', n, '--licence-issuer', 'PBOC (test)', '--licence-valid-until', '2030-12-31T23:59:59Z'];
    await onboard('channel-a', 'channel', '甲征信（测试）', ['--grpc', `127.0.0.1:${port.channelA}`, ...licence('ZX-TEST-A')]);
    await onboard('channel-b', 'channel', '乙征信（测试）', ['--grpc', `127.0.0.1:${port.channelB}`, ...licence('ZX-TEST-B')]);
    for (const [id, name, g, w] of [['bank-a', '甲银行（测试）', port.bankA, port.bankAWeb], ['bank-b', '乙银行（测试）', port.bankB, port.bankBWeb]] as const) {
      await onboard(id, 'bank', name, ['--grpc', `127.0.0.1:${g}`, '--web', `http://127.0.0.1:${w}/h5/apply`, '--contracted-channel', 'channel-a', '--decision-timeout-ms', '20000']);
    }
    await onboard('platform-p', 'platform', '丙助贷（测试）', ['--callback-origin', `http://127.0.0.1:${port.callback}`]);
    const rules = join(root, 'funding.json');
    writeFileSync(rules, JSON.stringify(['bank-a', 'bank-b'].map((bankId, i) => ({ bankId, priority: i + 1, minAmount: 100_000, maxAmount: 50_000_000, terms: [6, 12, 24], regions: ['*'], dailyQuota: 1000 }))));
    await dzl('operator', 'funding', 'platform-p', rules, '--db', db.url);

    const running = /running: /;
    await Promise.all([
      start('channel-a', running, 'channel', '--config', configure('channel-a', { role: 'channel', listen: { grpc: `127.0.0.1:${port.channelA}` } })),
      start('channel-b', running, 'channel', '--config', configure('channel-b', {
        role: 'channel', listen: { grpc: `127.0.0.1:${port.channelB}` },
        channel: { policy: { url: `http://127.0.0.1:${(scoring.address() as AddressInfo).port}/score`, provenance: { name: 'PudaoScore', version: '7.1' } } },
      })),
      start('bank-a', running, 'bank', '--config', configure('bank-a', {
        role: 'bank', listen: { grpc: `127.0.0.1:${port.bankA}`, web: `127.0.0.1:${port.bankAWeb}` },
        bank: { engine: { module: DECLINING_ENGINE, options: { reasonCode: 'TEST_POLICY_DECLINE' } } },
      })),
      start('bank-b', running, 'bank', '--config', configure('bank-b', { role: 'bank', listen: { grpc: `127.0.0.1:${port.bankB}`, web: `127.0.0.1:${port.bankBWeb}` } })),
      start('platform-p', running, 'platform', '--config', configure('platform-p', {
        role: 'platform', listen: { callback: `127.0.0.1:${port.callback}`, api: `127.0.0.1:${port.platformApi}` }, platform: { channel: 'channel-a' },
      })),
    ]);
  });

  after(async () => {
    for (const { child } of children.reverse()) child.kill('SIGTERM');
    await Promise.all(children.map(({ child }) => child.exitCode !== null || child.signalCode !== null ? undefined : new Promise<void>((r) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 10_000);
      child.once('exit', () => { clearTimeout(t); r(); });
    })));
    scoring?.close();
    await db?.drop();
  });

  it('keeps every private key in its own party\'s folder: the operator\'s holds the router\'s alone', () => {
    const network = JSON.parse(readFileSync(join(operatorDir, 'network.json'), 'utf8')) as { parties: { id: string }[] };
    assert.deepEqual(network.parties.map((p) => p.id), ['router']);
    for (const id of ['channel-a', 'bank-a', 'platform-p']) {
      const admission = readFileSync(join(root, `${id}.admission.json`), 'utf8');
      assert.ok(!/PRIVATE KEY/.test(admission), `${id}'s admission carries no private key`);
    }
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
    const me = loadOwnIdentity(join(root, 'platform-p'));
    const before = verifyPublishedDirectory(await fetchDirectory(routerUrl, me.signing), me.caPem).body.version;
    await dzl('operator', 'update', 'bank-b', '--contracted-channel', 'channel-b', '--db', db.url);
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
    const page = await fetch(started.redirectUrl);
    assert.equal(page.status, 200);
    const token = new URL(started.redirectUrl).searchParams.get('token')!;
    const form = new URLSearchParams({ token, name: '李雷', idNumber: '110101199001011234', mobile: '13800138000', amount: '30000', term: '12', consent: 'yes' });
    const posted = await fetch(new URL('/h5/apply', started.redirectUrl), { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    assert.equal(posted.status, 302, `the bank's page took the application (HTTP ${posted.status})`);
    const body = await held(started.applicationId);
    assert.equal(body.router.channel, 'channel-b');
    assert.deepEqual(body.router.route.map((t: { bank: string }) => t.bank), ['bank-b']);
    assert.ok(['approved', 'declined'].includes(body.held.outcome.outcome));
    assert.ok(scored.length > scoredBefore, "channel-b's scoring system (its HTTP plug-in) was called");
  });

  it('a revoked certificate is refused within seconds, by the router and by a party', async () => {
    const platformFolder = join(root, 'platform-p');
    const platform = loadOwnIdentity(platformFolder);
    const keyId = certificateFingerprint(readFileSync(join(platformFolder, 'sig.crt'), 'utf8'));
    // a hop the platform signed before the revocation would be taken; one signed after is not
    await dzl('operator', 'revoke', keyId, '--db', db.url);
    const revokedAt = Date.now();
    // the platform's requests are signed with that key: the status of its first application, asked again and again
    const routerRefused = await eventually('the router refuses the revoked platform key', async () => {
      const r = await platformApi('GET', `/applications/${encodeURIComponent(cascadeApplication)}`);
      if (r.status !== 401) throw new Error(`HTTP ${r.status}`);
      return { code: r.body.router?.error?.code as string, ms: Date.now() - revokedAt };
    }, 15_000);
    const refusedSubmission = await platformApi('POST', '/applications', { fields: CUSTOMER, route: { bank: 'bank-a' } });
    assert.equal(refusedSubmission.status, 401);
    assert.equal(routerRefused.code, 'REQUEST_UNAUTHENTICATED');

    // playing the router (with its own keys), deliver channel-a a hop signed with the revoked key
    const router = loadPartyIdentity(operatorDir, 'router');
    const { ChannelService } = loadDzlProtos();
    const client = new ChannelService(`127.0.0.1:${port.channelA}`, clientCredentials(router, 'channel-a'), { 'grpc.ssl_target_name_override': 'localhost' });
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
