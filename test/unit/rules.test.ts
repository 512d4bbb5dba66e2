import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import type { Consent } from '../../services/consent/consent';
import { checkRoute } from '../../services/routing/rules';
import type { HopHeader, ManifestEntry } from '../../services/seal/hop';
import { NetworkDirectory } from '../../services/registry/directory';
import { parties, type Parties } from '../support/fixtures';
import { readNetworkFile } from '../../services/pki/network';
import { ensureNetwork } from '../support/env';

const D = 'A'.repeat(43);
const m = (field: string, cls: ManifestEntry['class'] = 'C2'): ManifestEntry => ({ field, class: cls, digest: D });

function header(over: Partial<HopHeader>): HopHeader {
  return {
    v: 1, hopId: 'hop_1', applicationId: 'app_1', kind: 'application', model: 'data_channel',
    from: 'platform-huixin', to: 'channel-baihang', platform: 'platform-huixin', channel: 'channel-baihang',
    consentRef: 'consent_1', issuedAt: new Date().toISOString(), nonce: 'nonce-nonce-1234', senderKeyId: 'kkkkkkkk',
    recipientKeyId: 'kkkkkkkk', alg: { sig: 'PS256', enc: 'A256GCM', wrap: 'RSA-OAEP-256', digest: 'HS256' },
    manifest: [m('customer.name'), m('risk.platformScore')], ciphertextDigest: 'cccccccc', ...over,
  };
}

const consent: Consent = {
  id: 'consent_1', platformId: 'platform-huixin', textVersion: 'v1', textSha256: '0'.repeat(64), purposes: ['credit_assessment'],
  recipients: ['channel-baihang', 'bank-hangzhou'], grantedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2099-01-01T00:00:00.000Z',
};

describe('routing rules', () => {
  let p: Parties;
  before(() => {
    p = parties();
  });
  const codeOf = (h: HopHeader, c: Consent = consent, directory = p.directory): string | undefined => {
    try {
      checkRoute(h, { directory, consent: c, at: new Date() });
      return undefined;
    } catch (err) {
      assert.ok(err instanceof DzlError);
      return err.code;
    }
  };

  it('lets the three lawful hops through', () => {
    assert.equal(codeOf(header({})), undefined);
    assert.equal(codeOf(header({ kind: 'credit_report', from: 'channel-baihang', to: 'bank-hangzhou', manifest: [m('customer.name'), m('product.score')] })), undefined);
    assert.equal(codeOf(header({ kind: 'decision', from: 'bank-hangzhou', to: 'platform-huixin', manifest: [m('decision.limit')], outcome: { status: 'approved' } })), undefined);
  });

  it('refuses any platform → bank hop carrying personal data: DIRECT_CONNECTION_REFUSED', () => {
    assert.equal(codeOf(header({ to: 'bank-hangzhou' })), 'DIRECT_CONNECTION_REFUSED');
    assert.equal(codeOf(header({ kind: 'credit_report', to: 'bank-hangzhou' })), 'DIRECT_CONNECTION_REFUSED');
  });

  it('refuses platform risk fields on the channel → bank hop: FIELD_NOT_ALLOWED_FOR_RECIPIENT', () => {
    assert.equal(codeOf(header({ kind: 'credit_report', from: 'channel-baihang', to: 'bank-hangzhou', manifest: [m('risk.platformScore')] })), 'FIELD_NOT_ALLOWED_FOR_RECIPIENT');
  });

  it('refuses C3, unknown fields and misclassified fields', () => {
    assert.equal(codeOf(header({ manifest: [m('card.pin', 'C3')] })), 'FIELD_C3_REFUSED');
    assert.equal(codeOf(header({ manifest: [m('customer.shoeSize')] })), 'FIELD_UNKNOWN');
    assert.equal(codeOf(header({ manifest: [m('customer.idNumber', 'C1')] })), 'HOP_MANIFEST_MISMATCH');
  });

  it('refuses hops against the route table: ROUTE_NOT_ALLOWED', () => {
    assert.equal(codeOf(header({ kind: 'decision', outcome: { status: 'approved' }, manifest: [] })), 'ROUTE_NOT_ALLOWED');
    assert.equal(codeOf(header({ channel: 'channel-pudao' })), 'ROUTE_NOT_ALLOWED');
  });

  it('refuses a bank the consent does not name, an expired consent, and a consent mismatch', () => {
    const credit = header({ kind: 'credit_report', from: 'channel-baihang', to: 'bank-suzhou', manifest: [m('product.score')] });
    assert.equal(codeOf(credit), 'CONSENT_DOES_NOT_NAME_RECIPIENT');
    assert.equal(codeOf(header({}), { ...consent, expiresAt: '2020-01-01T00:00:00.000Z' }), 'CONSENT_EXPIRED');
    assert.equal(codeOf(header({ consentRef: 'consent_other' })), 'CONSENT_MISMATCH');
  });

  it('refuses a channel whose licence expired or was revoked: CHANNEL_NOT_LICENSED', () => {
    const file = readNetworkFile(ensureNetwork());
    for (const licence of [{ validUntil: '2020-01-01T00:00:00Z' }, { status: 'revoked' as const }]) {
      const records = file.parties.map((r) => (r.id === 'channel-baihang' ? { ...r, licence: { ...r.licence!, ...licence } } : r));
      assert.equal(codeOf(header({}), consent, new NetworkDirectory(file.caPem, records)), 'CHANNEL_NOT_LICENSED');
    }
  });

  it('refuses a hop naming another platform than the application’s', () => {
    assert.equal(codeOf(header({ platform: 'platform-other' })), 'ROUTE_NOT_ALLOWED');
    assert.equal(codeOf(header({ kind: 'decision', from: 'bank-hangzhou', to: 'platform-huixin', platform: 'platform-x', manifest: [m('decision.limit')], outcome: { status: 'approved' } })), 'ROUTE_NOT_ALLOWED');
  });

  it('refuses unknown parties: PARTY_UNKNOWN', () => {
    assert.equal(codeOf(header({ to: 'channel-nobody' })), 'PARTY_UNKNOWN');
  });
});
