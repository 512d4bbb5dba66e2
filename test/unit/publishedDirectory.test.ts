/**
 * A party's check of the published directory against the copy it holds (envelope.md §23 rules
 * 4–5), tried with documents the router's own key signed — what a stolen or revoked router key,
 * or a router with a clock far ahead, would send — and the directory client's fail-closed
 * staleness.
 */
import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import { loadPartyIdentity, readNetworkFile } from '../../services/network/folder';
import { publishDirectory, verifyPublishedDirectory, type DirectoryBody } from '../../services/registry/published';
import type { PartyRecord } from '../../services/registry/directory';
import { DirectoryClient } from '../../services/parties/directoryClient';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ensureNetwork } from '../support/env';

const refused = (f: () => unknown) =>
  assert.throws(f, (err: unknown) => err instanceof DzlError && err.code === 'DIRECTORY_INVALID');

describe('the published directory against the copy a party holds', () => {
  let dir: string;
  let file: ReturnType<typeof readNetworkFile>;
  let router: ReturnType<typeof loadPartyIdentity>;
  let bank: PartyRecord;
  let bankSig: string;
  before(() => {
    dir = ensureNetwork();
    file = readNetworkFile(dir);
    router = loadPartyIdentity(dir, 'router');
    bank = file.parties.find((p) => p.id === 'bank-hangzhou')!;
    bankSig = loadPartyIdentity(dir, 'bank-hangzhou').signing.keyId;
  });
  const body = (doc: { directory: string }) => JSON.parse(Buffer.from(doc.directory, 'base64url').toString('utf8')) as DirectoryBody;
  const withRevoked = (records: PartyRecord[], partyId: string, revoked: Record<string, string>) => records.map((p) => (p.id === partyId ? { ...p, revoked } : p));

  it('takes a newer version, and the same version issued by another router a moment apart', () => {
    const held = body(publishDirectory(router.signing, file.parties, 10));
    verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 11), file.caPem, held);
    verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 10, new Date(Date.now() - 60_000)), file.caPem, held);
  });

  it('refuses a directory issued in the future: it would make every later one look older', () => {
    refused(() => verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 11, new Date(Date.now() + 3_600_000)), file.caPem));
  });

  it('refuses a newer directory that drops or postpones a revocation the held copy lists', () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const held = body(publishDirectory(router.signing, withRevoked(file.parties, bank.id, { [bankSig]: at }), 10));
    refused(() => verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 11), file.caPem, held));
    refused(() => verifyPublishedDirectory(publishDirectory(router.signing, withRevoked(file.parties, bank.id, { [bankSig]: new Date().toISOString() }), 11), file.caPem, held));
    verifyPublishedDirectory(publishDirectory(router.signing, withRevoked(file.parties, bank.id, { [bankSig]: at }), 11), file.caPem, held);
  });

  it('refuses a newer directory signed by a router key the held copy lists as revoked, whatever it says of itself', () => {
    const held = body(publishDirectory(router.signing, withRevoked(file.parties, 'router', { [router.signing.keyId]: new Date(Date.now() - 60_000).toISOString() }), 10));
    // the stolen key signs a directory that forgets its own revocation
    refused(() => verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 11, new Date(Date.now() - 120_000)), file.caPem, held));
    refused(() => verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 11), file.caPem, held));
  });

  it('refuses a directory backdated before the held one by more than the clock skew', () => {
    const held = body(publishDirectory(router.signing, file.parties, 10));
    refused(() => verifyPublishedDirectory(publishDirectory(router.signing, file.parties, 11, new Date(Date.now() - 3_600_000)), file.caPem, held));
  });

  it('a party process stops working on a copy no refresh has verified for maxAgeMs, and starts again when one does', async () => {
    let answering = true;
    let version = 20;
    const server = createServer((_req, res) => {
      if (!answering) return void res.writeHead(503).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(publishDirectory(router.signing, file.parties, version)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const client = await DirectoryClient.open({ routerUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, identity: loadPartyIdentity(dir, 'bank-hangzhou'), refreshMs: 200, maxAgeMs: 1_000 });
    try {
      assert.ok(client.get().party('bank-hangzhou'));
      answering = false; // a network path that drops every refresh: the copy must not live on for ever
      await new Promise((r) => setTimeout(r, 1_500));
      assert.throws(() => client.get(), (err: unknown) => err instanceof DzlError && err.code === 'PARTY_UNAVAILABLE');
      answering = true;
      version = 21;
      await client.refresh();
      assert.equal(client.version, 21);
      assert.ok(client.get().party('bank-hangzhou'));
    } finally {
      client.close();
      server.close();
    }
  });
});
