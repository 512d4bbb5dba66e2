import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import { PartyInbox } from '../../services/parties/inbox';
import { NetworkDirectory } from '../../services/registry/directory';
import { readNetworkFile } from '../../services/network/folder';
import { fromB64url } from '../../services/seal/bytes';
import { decodeHop, verifyHop } from '../../services/seal/hop';
import { ensureNetwork } from '../support/env';
import { parties, sealApplication, type Parties } from '../support/fixtures';

const statusOf = (r: { receipt: { receipt: string } }) => JSON.parse(fromB64url(r.receipt.receipt)!.toString('utf8')) as { status: string; reason?: string };

describe('a party’s inbox', () => {
  let p: Parties;
  before(() => {
    p = parties();
  });

  it('acts once per hop: a redelivery gets the stored answer', async () => {
    let acted = 0;
    const inbox = new PartyInbox<number>(p.channel, () => p.directory, 'application');
    const hop = sealApplication(p).sealed;
    const a = await inbox.receive(hop, async () => ++acted);
    const b = await inbox.receive(hop, async () => ++acted);
    assert.equal(acted, 1);
    assert.equal(a.result, 1);
    assert.deepEqual(b, a);
  });

  it('processes a redelivery after a failure of its own, instead of calling it a replay', async () => {
    let calls = 0;
    const inbox = new PartyInbox<string>(p.channel, () => p.directory, 'application');
    const hop = sealApplication(p).sealed;
    await assert.rejects(inbox.receive(hop, async () => {
      calls++;
      throw new Error('disk full');
    }));
    const again = await inbox.receive(hop, async () => `done after ${++calls}`);
    assert.equal(statusOf(again).status, 'accepted');
    assert.equal(again.result, 'done after 2');
  });

  it('answers a refusal of the content with a signed rejection, and a second hop with the same nonce as a replay', async () => {
    const inbox = new PartyInbox<string>(p.channel, () => p.directory, 'application');
    const refused = await inbox.receive(sealApplication(p).sealed, async () => {
      throw new DzlError('FIELD_NOT_ALLOWED_FOR_RECIPIENT', 'no');
    });
    assert.deepEqual(statusOf(refused), { ...statusOf(refused), status: 'rejected', reason: 'FIELD_NOT_ALLOWED_FOR_RECIPIENT' });
    const wrongKind = await new PartyInbox<string>(p.bank, () => p.directory, 'credit_report').receive(sealApplication(p).sealed, async () => 'x');
    assert.equal(statusOf(wrongKind).reason, 'ROUTE_NOT_ALLOWED');
  });

  it('accepts a relayed hop that waited in custody past the 5-minute intake window', async () => {
    const inbox = new PartyInbox<string>(p.channel, () => p.directory, 'application');
    const old = sealApplication(p, { now: new Date(Date.now() - 60 * 60_000) }).sealed;
    assert.equal(statusOf(await inbox.receive(old, async () => 'ok')).status, 'accepted');
  });
});

describe('certificate revocation', () => {
  it('keeps what a revoked key signed before revocation verifiable, and refuses what it signed after', () => {
    const p = parties();
    const before = sealApplication(p, { now: new Date(Date.now() - 60_000) });
    const file = readNetworkFile(ensureNetwork());
    const revokedAt = new Date(Date.now() - 30_000).toISOString();
    const records = file.parties.map((r) => (r.id === 'platform-huixin' ? { ...r, revoked: { [p.platform.signing.keyId]: revokedAt } } : r));
    const directory = new NetworkDirectory(file.caPem, records);
    assert.equal(verifyHop(before.sealed, { signerOf: directory.signerOf }).header.hopId, before.header.hopId);
    const after = sealApplication(p);
    assert.throws(() => verifyHop(after.sealed, { signerOf: directory.signerOf }), (e: unknown) => e instanceof DzlError && e.code === 'HOP_CERTIFICATE_INVALID');
  });
});

describe('strict decoding', () => {
  it('refuses header members this version does not define, and non-canonical base64url', () => {
    const p = parties();
    const s = sealApplication(p);
    const h = JSON.parse(fromB64url(s.sealed.header)!.toString('utf8'));
    h.extra = 1;
    const canonical = require('../../services/seal/canonical') as typeof import('../../services/seal/canonical');
    assert.throws(() => decodeHop({ ...s.sealed, header: Buffer.from(canonical.canonicalJson(h)).toString('base64url') }), /does not define: extra/);
    // 'AB' and 'AC' decode to the same byte; only the canonical form (zero unused bits) is accepted
    const sig = s.sealed.signature;
    const last = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = sig.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
    if (Buffer.from(twin, 'base64url').equals(Buffer.from(sig, 'base64url'))) {
      assert.throws(() => decodeHop({ ...s.sealed, signature: twin }), /signature must be non-empty base64url/);
    } else {
      assert.ok(sig.length % 4 === 0, 'a signature with no unused bits has no twin encoding');
    }
  });
});
