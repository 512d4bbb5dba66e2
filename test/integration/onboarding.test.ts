/**
 * A bank joins the network the way an independent organisation would (issue 11, items 2 and 3):
 * its own keys made in its own folder by `dzl party init`, reviewed and registered by the
 * operator's `dzl operator admit`, installed by `dzl party install`, and the signed directory
 * fetched and verified by `dzl party directory` — each command a separate OS process, against a
 * router running on real Temporal, HTTP and MariaDB.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DzlError } from '../../services/common/errors';
import { loadOwnIdentity } from '../../services/network/onboarding';
import { createCsr, generateRsaKeyPair } from '../../services/pki/ca';
import { fetchDirectory, verifyPublishedDirectory, type DirectoryBody, type PublishedDirectory } from '../../services/registry/published';
import { startLocalNetwork, type LocalNetwork } from '../../services/runtime/localNetwork';
import { ensureNetwork, env, ROOT, temporalAddress, tempDir, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';
import { eventually } from '../support/wait';

const run = promisify(execFile);
const DZL = join(ROOT, 'dist', 'services', 'cli', 'dzl.js');
const dzl = (...args: string[]) => run(process.execPath, [DZL, ...args], { cwd: ROOT, env: { ...process.env } });
const bodyOf = (doc: PublishedDirectory) => JSON.parse(Buffer.from(doc.directory, 'base64url').toString('utf8')) as DirectoryBody;


describe('onboarding a bank and the signed directory — separate processes, real Temporal, HTTP, MariaDB', function () {
  this.timeout(180_000);
  let net: LocalNetwork;
  let store: Awaited<ReturnType<typeof freshStore>>;
  const dir = join(tempDir('onboarding'), 'bank-xiamen');
  const caPem = () => readFileSync(join(ensureNetwork(), 'ca', 'ca.crt'), 'utf8');

  before(async function () {
    store = await freshStore('mysql', 'onboarding');
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle() });
  });
  after(async () => {
    await net?.close();
    await store?.drop();
  });

  it('joins with keys it made itself: the operator never sees a private key, and the bank reads itself in the signed directory', async () => {
    await dzl('party', 'init', '--dir', dir, '--id', 'bank-xiamen', '--role', 'bank', '--legal-name', '厦门示范银行');
    const request = readFileSync(join(dir, 'request.json'), 'utf8');
    assert.ok(!/PRIVATE KEY/.test(request), 'the request carries no private key');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.key')).sort(), ['enc.key', 'sig.key', 'tls.key']);
    await assert.rejects(dzl('party', 'init', '--dir', dir, '--id', 'bank-xiamen', '--role', 'bank', '--legal-name', 'x'), /never overwritten/);

    const admission = join(tempDir('onboarding-operator'), 'admission.json');
    const { stdout } = await dzl('operator', 'admit', join(dir, 'request.json'), '--out', admission, '--db', store.url, '--dir', ensureNetwork(),
      '--grpc', '127.0.0.1:1', '--contracted-channel', 'channel-baihang', '--decision-timeout-ms', '20000');
    assert.match(stdout, /bank-xiamen admitted as bank/);
    await dzl('party', 'install', admission, '--dir', dir);

    const me = loadOwnIdentity(dir);
    // the router reloads its registry within seconds; then the new bank's signed request is taken
    const doc = (await eventually('directory', () => fetchDirectory(net.router.url, me.signing))) as PublishedDirectory;
    const { body, directory } = verifyPublishedDirectory(doc, caPem());
    const xiamen = body.parties.find((p) => p.id === 'bank-xiamen');
    assert.ok(xiamen && xiamen.role === 'bank' && xiamen.contractedChannel === 'channel-baihang' && xiamen.certificates.length === 3, JSON.stringify(xiamen));
    assert.equal(directory.encryptionCertificate('bank-xiamen').keyId, loadOwnIdentity(dir).recipient.decryptionKeys.keys().next().value);
    assert.ok(body.parties.every((p) => p.callbackUrl === undefined), 'no platform callback URL is published');

    // the command line does the same, and keeps the verified document
    const kept = join(dir, 'directory.json');
    const printed = await dzl('party', 'directory', '--dir', dir, '--router', net.router.url, '--out', kept);
    assert.match(printed.stdout, new RegExp(`directory version ${body.version}, issued .*, verified`));
    assert.match(printed.stdout, /bank-xiamen/);
  });

  it('refuses a directory that was edited, signed by anyone but the router, or older than the one held', async () => {
    const me = loadOwnIdentity(dir);
    const doc = (await fetchDirectory(net.router.url, me.signing)) as PublishedDirectory;
    const body = bodyOf(doc);
    const edited = { ...body, parties: body.parties.map((p) => (p.id === 'bank-xiamen' ? { ...p, contractedChannel: 'channel-pudao' } : p)) };
    const code = (f: () => unknown) => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return err instanceof DzlError ? err.code : String(err);
      }
    };
    assert.equal(code(() => verifyPublishedDirectory({ ...doc, directory: Buffer.from(JSON.stringify(edited)).toString('base64url') }, caPem())), 'DIRECTORY_INVALID');
    // signed by the bank itself, naming its own key as the signer
    const forged = Buffer.from(JSON.stringify({ ...body, signedBy: me.signing.keyId }));
    assert.equal(code(() => verifyPublishedDirectory({ directory: forged.toString('base64url'), signature: doc.signature }, caPem())), 'DIRECTORY_INVALID');
    assert.equal(code(() => verifyPublishedDirectory(doc, caPem(), { ...body, version: body.version + 1 })), 'DIRECTORY_INVALID');
    assert.equal(code(() => verifyPublishedDirectory({ directory: doc.directory }, caPem())), 'DIRECTORY_INVALID');
  });

  it('publishes a revocation through the operator path as a newer version, and a cached older one is refused', async () => {
    const me = loadOwnIdentity(dir);
    const current = (await fetchDirectory(net.router.url, me.signing)) as PublishedDirectory;
    const before = bodyOf(current);
    const kept = join(dir, 'directory.json');
    const tlsKeyId = verifyPublishedDirectory(current, caPem()).directory.party('bank-xiamen')!.certificates.find((c) => c.usage === 'tls')!.keyId;
    await dzl('revoke-certificate', tlsKeyId, '--db', store.url);
    const after = bodyOf((await fetchDirectory(net.router.url, me.signing)) as PublishedDirectory);
    assert.ok(after.version > before.version, `${after.version} after ${before.version}`);
    assert.ok(after.parties.find((p) => p.id === 'bank-xiamen')!.revoked?.[tlsKeyId], 'the revocation is in the directory');
    // the kept (older) document cannot replace the newer one
    assert.throws(() => verifyPublishedDirectory(JSON.parse(readFileSync(kept, 'utf8')), caPem(), after), (err: unknown) => err instanceof DzlError && err.code === 'DIRECTORY_INVALID');
    await dzl('party', 'directory', '--dir', dir, '--router', net.router.url, '--out', kept);
    assert.equal(bodyOf(JSON.parse(readFileSync(kept, 'utf8')) as PublishedDirectory).version, after.version);
  });

  it('refuses a request whose CSR names another party, and an admission for another key', async () => {
    const other = join(tempDir('onboarding-rogue'), 'bank-rogue');
    await dzl('party', 'init', '--dir', other, '--id', 'bank-rogue', '--role', 'bank', '--legal-name', 'Rogue');
    const request = JSON.parse(readFileSync(join(other, 'request.json'), 'utf8')) as { csrs: Record<string, string> };
    request.csrs.sig = createCsr({ partyId: 'bank-hangzhou', role: 'bank', legalName: '杭州示范银行' }, generateRsaKeyPair());
    writeFileSync(join(other, 'request.json'), JSON.stringify(request));
    await assert.rejects(dzl('operator', 'admit', join(other, 'request.json'), '--out', join(other, 'a.json'), '--db', store.url, '--dir', ensureNetwork()), /names another party/);
    // bank-xiamen's admission installed in another folder: its certificates are not for those keys
    const stolen = join(tempDir('onboarding-thief'), 'bank-xiamen');
    await dzl('party', 'init', '--dir', stolen, '--id', 'bank-xiamen', '--role', 'bank', '--legal-name', '厦门示范银行');
    const admission = JSON.stringify({ v: 1, partyId: 'bank-xiamen', caPem: caPem(), certificates: Object.fromEntries(['sig', 'enc', 'tls'].map((u) => [u, readFileSync(join(dir, `${u}.crt`), 'utf8')])) });
    writeFileSync(join(stolen, 'admission.json'), admission);
    await assert.rejects(dzl('party', 'install', join(stolen, 'admission.json'), '--dir', stolen), /not for this folder's sig key/);
  });
});
