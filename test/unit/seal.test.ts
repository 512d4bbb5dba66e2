import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import { decodeHop, fieldDigest, openHop, sealHop, signBytes, verifyHop, type SealedHop } from '../../services/seal/hop';
import { signReceipt, verifyReceipt } from '../../services/seal/receipt';
import { parties, sealApplication, SAMPLE_FIELDS, strangerIdentity, type Parties } from '../support/fixtures';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DzlError, `expected a DzlError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a refusal');
}

function flip(b64: string, at = 10): string {
  const b = fromB64url(b64)!;
  b[at % b.length] ^= 0x01;
  return b64url(b);
}

/** Re-sign a modified header as the original sender would (a sender lying about content). */
function resign(p: Parties, sealed: SealedHop, edit: (h: Record<string, unknown>) => void): SealedHop {
  const h = JSON.parse(fromB64url(sealed.header)!.toString('utf8')) as Record<string, unknown>;
  edit(h);
  const bytes = canonicalJson(h);
  return { ...sealed, header: b64url(bytes), signature: b64url(signBytes(p.platform.signing, bytes)) };
}

describe('sealed hop', () => {
  let p: Parties;
  before(() => {
    p = parties();
  });
  const verify = (hop: unknown, now?: Date) => verifyHop(hop, { signerOf: p.directory.signerOf, ...(now ? { now } : {}) });

  it('round-trips: the channel opens exactly the fields the platform sealed', () => {
    const s = sealApplication(p);
    const opened = openHop(verify(s.sealed), p.channel.recipient);
    assert.deepEqual(opened.fields, SAMPLE_FIELDS);
    assert.deepEqual(opened.header.manifest.map((m) => m.field), Object.keys(SAMPLE_FIELDS).sort());
  });

  it('keeps values out of the header: only names, classes and salted digests', () => {
    const s = sealApplication(p);
    const header = fromB64url(s.sealed.header)!.toString('utf8');
    for (const v of Object.values(SAMPLE_FIELDS)) if (typeof v === 'string') assert.ok(!header.includes(v), `header leaks ${v}`);
    const entry = s.header.manifest.find((m) => m.field === 'customer.idNumber')!;
    assert.equal(entry.class, 'C2');
    const opened = openHop(verify(s.sealed), p.channel.recipient);
    assert.equal(fieldDigest(opened.salt, 'customer.idNumber', SAMPLE_FIELDS['customer.idNumber']!), entry.digest);
  });

  it('refuses a tampered header (HOP_SIGNATURE_INVALID) and a header re-serialised non-canonically (HOP_MALFORMED)', () => {
    const s = sealApplication(p);
    const h = JSON.parse(fromB64url(s.sealed.header)!.toString('utf8'));
    h.to = 'channel-pudao';
    assert.equal(code(() => verify({ ...s.sealed, header: b64url(canonicalJson(h)) })), 'HOP_SIGNATURE_INVALID');
    const pretty = Buffer.from(JSON.stringify(JSON.parse(fromB64url(s.sealed.header)!.toString('utf8')), null, 1));
    assert.equal(code(() => verify({ ...s.sealed, header: b64url(pretty) })), 'HOP_MALFORMED');
  });

  it('refuses tampered ciphertext, iv or wrapped key before decrypting (HOP_CIPHERTEXT_TAMPERED)', () => {
    const s = sealApplication(p);
    for (const part of ['ciphertext', 'iv', 'wrappedKey'] as const) {
      assert.equal(code(() => verify({ ...s.sealed, [part]: flip(s.sealed[part], 3) })), 'HOP_CIPHERTEXT_TAMPERED', part);
    }
  });

  it('refuses a hop opened by anyone but its recipient (HOP_NOT_FOR_RECIPIENT)', () => {
    const s = sealApplication(p);
    assert.equal(code(() => openHop(verify(s.sealed), p.bank.recipient)), 'HOP_NOT_FOR_RECIPIENT');
    assert.equal(code(() => openHop(verify(s.sealed), { partyId: 'channel-baihang', decryptionKeys: p.bank.recipient.decryptionKeys })), 'HOP_NOT_FOR_RECIPIENT');
  });

  it('refuses an unknown signer and a signer claiming another party', () => {
    const stranger = sealHop(strangerIdentity(), { ...baseReq(p) });
    assert.equal(code(() => verify(stranger.sealed)), 'HOP_SIGNER_UNKNOWN');
    const impostor = sealHop(p.bank.signing, { ...baseReq(p) });
    const claimed = resignAs(p, impostor.sealed, (h) => (h.from = 'platform-huixin'));
    assert.equal(code(() => verify(claimed)), 'HOP_SIGNER_MISMATCH');
  });

  it('refuses stale and future issued-at (HOP_EXPIRED, HOP_FROM_FUTURE)', () => {
    const s = sealApplication(p, { now: new Date(Date.now() - 6 * 60_000) });
    assert.equal(code(() => verify(s.sealed)), 'HOP_EXPIRED');
    const f = sealApplication(p, { now: new Date(Date.now() + 5 * 60_000) });
    assert.equal(code(() => verify(f.sealed)), 'HOP_FROM_FUTURE');
  });

  it('refuses a manifest that lies about the content (HOP_MANIFEST_MISMATCH)', () => {
    const s = sealApplication(p);
    const lying = resign(p, s.sealed, (h) => {
      (h.manifest as { field: string }[]).pop();
    });
    // the AAD no longer matches either, so GCM fails first — a lie is caught one way or the other
    assert.match(code(() => openHop(verify(lying), p.channel.recipient)), /HOP_CIPHERTEXT_TAMPERED|HOP_MANIFEST_MISMATCH/);
  });

  it('refuses C3 fields at sealing (FIELD_C3_REFUSED)', () => {
    assert.equal(code(() => sealApplication(p, { fields: { ...SAMPLE_FIELDS, 'card.cvn2': '123' } })), 'FIELD_C3_REFUSED');
  });

  it('refuses malformed input with HOP_MALFORMED, never a crash', () => {
    for (const bad of [null, 'x', {}, { header: '!!', signature: 'a', wrappedKey: 'a', iv: 'a', ciphertext: 'a' }, { ...sealApplication(p).sealed, iv: 'AAAA' }]) {
      assert.equal(code(() => decodeHop(bad)), 'HOP_MALFORMED');
    }
  });

  it('signs receipts that name exactly one hop and one recipient', () => {
    const s = sealApplication(p);
    const r = signReceipt(p.channel.signing, { hopId: s.header.hopId, headerDigest: s.headerDigest }, 'accepted');
    const ok = verifyReceipt(r, { hopId: s.header.hopId, headerDigest: s.headerDigest, by: 'channel-baihang' }, p.directory.signerOf);
    assert.equal(ok.body.status, 'accepted');
    assert.equal(code(() => verifyReceipt(r, { hopId: s.header.hopId, headerDigest: s.headerDigest, by: 'bank-hangzhou' }, p.directory.signerOf)), 'RECEIPT_INVALID');
    assert.equal(code(() => verifyReceipt(r, { hopId: 'hop_other', headerDigest: s.headerDigest, by: 'channel-baihang' }, p.directory.signerOf)), 'RECEIPT_INVALID');
    assert.equal(code(() => verifyReceipt({ ...r, signature: flip(r.signature) }, { hopId: s.header.hopId, headerDigest: s.headerDigest, by: 'channel-baihang' }, p.directory.signerOf)), 'RECEIPT_INVALID');
  });
});

function baseReq(p: Parties) {
  return {
    applicationId: 'platform-huixin:app_unit_2',
    kind: 'application' as const,
    model: 'data_channel' as const,
    to: p.directory.encryptionCertificate('channel-baihang'),
    platform: 'platform-huixin',
    channel: 'channel-baihang',
    consentRef: 'c1',
    fields: { 'loan.amount': 100 },
    salt: Buffer.alloc(32, 7),
    classOf: () => 'C2' as const,
  };
}

function resignAs(p: Parties, sealed: SealedHop, edit: (h: Record<string, unknown>) => void): SealedHop {
  const h = JSON.parse(fromB64url(sealed.header)!.toString('utf8')) as Record<string, unknown>;
  edit(h);
  const bytes = canonicalJson(h);
  return { ...sealed, header: b64url(bytes), signature: b64url(signBytes(p.bank.signing, bytes)) };
}
