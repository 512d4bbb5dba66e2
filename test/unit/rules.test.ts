import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import type { Consent } from '../../services/consent/consent';
import { checkRoute } from '../../services/routing/rules';
import { parseMinimisationPolicy, setMinimisationPolicy, type MinimisationPolicyFile } from '../../services/routing/minimisation';
import policyFile from '../../contracts/minimisation.json';
import type { HopHeader, ManifestEntry } from '../../services/seal/hop';
import { NetworkDirectory } from '../../services/registry/directory';
import { parties, type Parties } from '../support/fixtures';
import { readNetworkFile } from '../../services/network/folder';
import { ensureNetwork } from '../support/env';

const D = 'A'.repeat(43);
const m = (field: string, cls: ManifestEntry['class'] = 'C2'): ManifestEntry => ({ field, class: cls, digest: D });

function header(over: Partial<HopHeader>): HopHeader {
  // ids in their owners' namespaces (envelope.md §4): the sender's hop id, the platform's application id
  return {
    v: 1, hopId: `${over.from ?? 'platform-huixin'}:hop_1`, applicationId: `${over.platform ?? 'platform-huixin'}:app_1`, kind: 'application', model: 'data_channel',
    from: 'platform-huixin', to: 'channel-baihang', platform: 'platform-huixin', channel: 'channel-baihang',
    consentRef: 'platform-huixin:consent_1', issuedAt: new Date().toISOString(), nonce: 'nonce-nonce-1234', senderKeyId: 'kkkkkkkk',
    recipientKeyId: 'kkkkkkkk', alg: { sig: 'PS256', enc: 'A256GCM', wrap: 'RSA-OAEP-256', digest: 'HS256' },
    manifest: [m('customer.name'), m('risk.platformScore')], ciphertextDigest: 'cccccccc', ...over,
  };
}

const APPROVAL = [m('decision.status'), m('decision.limit'), m('decision.aprBasisPoints'), m('decision.termMonths')];

const consent: Consent = {
  id: 'platform-huixin:consent_1', platformId: 'platform-huixin', textVersion: 'v1', textSha256: '0'.repeat(64), purposes: ['credit_assessment'],
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
    assert.equal(codeOf(header({ kind: 'decision', from: 'bank-hangzhou', to: 'platform-huixin', manifest: APPROVAL, outcome: { status: 'approved' } })), undefined);
  });

  it('refuses a decision whose manifest is not that of its outcome: HOP_MANIFEST_MISMATCH (envelope.md §15.4)', () => {
    const decision = (manifest: ManifestEntry[], outcome: HopHeader['outcome'], model: HopHeader['model'] = 'data_channel') =>
      codeOf(header({ kind: 'decision', model, from: 'bank-hangzhou', to: 'platform-huixin', manifest, outcome }));
    const declined = [m('decision.status'), m('decision.reasonCode', 'C1')];
    assert.equal(decision(declined, { status: 'declined', reasonCode: 'SCORE_BELOW_CUTOFF' }), undefined);
    assert.equal(decision([m('decision.status')], { status: 'approved' }, 'direct_redirect'), undefined, 'the redirect model tells the platform the status only');
    assert.equal(decision([m('decision.status')], { status: 'approved' }), 'HOP_MANIFEST_MISMATCH', 'an approval without its terms');
    assert.equal(decision(APPROVAL.slice(0, 3), { status: 'approved' }), 'HOP_MANIFEST_MISMATCH', 'an approval without its term');
    assert.equal(decision(APPROVAL.slice(1), { status: 'approved' }), 'HOP_MANIFEST_MISMATCH', 'no decision.status');
    assert.equal(decision([...declined, m('decision.limit')], { status: 'declined', reasonCode: 'SCORE_BELOW_CUTOFF' }), 'HOP_MANIFEST_MISMATCH', 'a decline with a limit');
    assert.equal(decision([m('decision.status')], { status: 'declined', reasonCode: 'SCORE_BELOW_CUTOFF' }), 'HOP_MANIFEST_MISMATCH', 'a reason code the manifest does not declare');
    assert.equal(decision([...APPROVAL, m('decision.reasonCode', 'C1')], { status: 'approved' }), 'HOP_MANIFEST_MISMATCH', 'a declared reason code the outcome does not have');
  });

  it('refuses any platform → bank hop carrying personal data: DIRECT_CONNECTION_REFUSED', () => {
    assert.equal(codeOf(header({ to: 'bank-hangzhou' })), 'DIRECT_CONNECTION_REFUSED');
    assert.equal(codeOf(header({ kind: 'credit_report', to: 'bank-hangzhou' })), 'DIRECT_CONNECTION_REFUSED');
  });

  it('refuses platform risk fields on the channel → bank hop: FIELD_NOT_ALLOWED_FOR_RECIPIENT', () => {
    assert.equal(codeOf(header({ kind: 'credit_report', from: 'channel-baihang', to: 'bank-hangzhou', manifest: [m('risk.platformScore')] })), 'FIELD_NOT_ALLOWED_FOR_RECIPIENT');
  });

  it('refuses fields the minimisation policy does not give the bank: FIELD_EXCEEDS_MINIMISATION', () => {
    const credit = { kind: 'credit_report' as const, from: 'channel-baihang', to: 'bank-hangzhou' };
    assert.equal(codeOf(header({ ...credit, manifest: [m('customer.name'), m('customer.monthlyIncome'), m('product.score')] })), 'FIELD_EXCEEDS_MINIMISATION');
    assert.equal(codeOf(header({ ...credit, model: 'direct_redirect', manifest: [m('customer.name'), m('product.score')] })), 'FIELD_EXCEEDS_MINIMISATION');
    assert.equal(codeOf(header({ ...credit, model: 'direct_redirect', manifest: [m('product.name', 'C1'), m('product.score')] })), undefined);
  });

  it('refuses a field narrowed away for one bank, and only for that bank', () => {
    const narrowed = structuredClone(policyFile) as MinimisationPolicyFile;
    const dataChannel = narrowed.hops.credit_report!.data_channel;
    dataChannel.recipients = { 'bank-hangzhou': { why: 'the bank records the purpose itself', fields: dataChannel.default.fields.filter((f) => f !== 'loan.purpose') } };
    const restore = setMinimisationPolicy(narrowed);
    try {
      const credit = { kind: 'credit_report' as const, from: 'channel-baihang', manifest: [m('customer.name'), m('loan.purpose'), m('product.score')] };
      assert.equal(codeOf(header({ ...credit, to: 'bank-hangzhou' })), 'FIELD_EXCEEDS_MINIMISATION');
      assert.equal(codeOf(header({ ...credit, to: 'bank-hangzhou', manifest: [m('customer.name'), m('product.score')] })), undefined);
      assert.equal(codeOf(header({ ...credit, to: 'bank-suzhou' }), { ...consent, recipients: [...consent.recipients, 'bank-suzhou'] }), undefined);
    } finally {
      restore();
    }
  });

  it('holds a hop to the policy it is given, or to none (evidence from before the policy)', () => {
    const hop = header({ kind: 'credit_report', from: 'channel-baihang', to: 'bank-hangzhou', manifest: [m('customer.monthlyIncome'), m('product.score')] });
    const wider = structuredClone(policyFile) as MinimisationPolicyFile;
    wider.version = 'wider';
    wider.hops.credit_report!.data_channel.default.fields.push('customer.monthlyIncome');
    const at = new Date();
    assert.doesNotThrow(() => checkRoute(hop, { directory: p.directory, consent, at, minimisation: parseMinimisationPolicy(wider) }));
    assert.doesNotThrow(() => checkRoute(hop, { directory: p.directory, consent, at, minimisation: null }));
    assert.equal(codeOf(hop), 'FIELD_EXCEEDS_MINIMISATION', 'the policy in force still refuses it');
  });

  it('keeps the C3 and origin refusals ahead of minimisation', () => {
    const credit = { kind: 'credit_report' as const, from: 'channel-baihang', to: 'bank-hangzhou' };
    assert.equal(codeOf(header({ ...credit, manifest: [m('customer.monthlyIncome'), m('card.cvn2', 'C3')] })), 'FIELD_C3_REFUSED');
    assert.equal(codeOf(header({ ...credit, model: 'direct_redirect', manifest: [m('customer.name'), m('risk.platformScore')] })), 'FIELD_NOT_ALLOWED_FOR_RECIPIENT');
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
    assert.equal(codeOf(header({ kind: 'decision', from: 'bank-hangzhou', to: 'platform-huixin', platform: 'platform-x', manifest: APPROVAL, outcome: { status: 'approved' } })), 'ROUTE_NOT_ALLOWED');
  });

  it('refuses unknown parties: PARTY_UNKNOWN', () => {
    assert.equal(codeOf(header({ to: 'channel-nobody' })), 'PARTY_UNKNOWN');
  });
});
