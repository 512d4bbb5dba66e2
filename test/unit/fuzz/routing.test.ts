/**
 * The 断直连 routing check (services/routing/rules.ts checkRoute) on headers as decodeHeader
 * hands them over: generated from the route table's vocabulary (every kind, model, registered
 * and unregistered party, catalogue and unknown field, class), and real headers edited. Besides
 * refusing only with stable codes, whatever it lets through obeys the route table: above all,
 * nothing personal ever goes from a platform to a bank.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import fieldsFile from '../../../contracts/fields.json';
import type { Consent } from '../../../services/consent/consent';
import { FIELD_CLASSES, HOP_KINDS, MODELS } from '../../../services/domain/hops';
import { checkRoute, ROUTES } from '../../../services/routing/rules';
import { canonicalJson } from '../../../services/seal/canonical';
import { ALGORITHMS, decodeHeader, type HopHeader } from '../../../services/seal/hop';
import { parties, sealApplication, type Parties } from '../../support/fixtures';
import { editedJson, jsonEdit, spelling } from './mutations';
import { attempt, checkProperty } from './properties';

const CATALOGUE = fieldsFile.fields as Record<string, { class: string; origin: string }>;
const PARTY_IDS = ['platform-huixin', 'platform-jinhe', 'channel-baihang', 'channel-pudao', 'bank-hangzhou', 'bank-suzhou', 'router', 'regulator-pboc', 'party-unknown', '__proto__', 'constructor', 'toString'];
const NOW = Date.now();

const consent = (recipients: string[], over: Partial<Consent> = {}): Consent => ({
  id: 'platform-huixin:consent_fuzz_r1',
  platformId: 'platform-huixin',
  textVersion: 'v1',
  textSha256: '0'.repeat(64),
  purposes: ['credit_assessment'],
  recipients,
  grantedAt: new Date(NOW - 86_400_000).toISOString(),
  expiresAt: new Date(NOW + 86_400_000).toISOString(),
  ...over,
});

const ROLE_IDS: Record<string, string[]> = {
  platform: ['platform-huixin', 'platform-jinhe'],
  channel: ['channel-baihang', 'channel-pudao'],
  bank: ['bank-hangzhou', 'bank-suzhou'],
  router: ['router'],
  regulator: ['regulator-pboc'],
};
const anyParty = fc.constantFrom(...PARTY_IDS);
const anyField = fc.constantFrom(...Object.keys(CATALOGUE), 'constructor', 'toString', 'hasOwnProperty', 'customer.unknown');
/** Mostly what the route table allows, so that the pass path is reached; sometimes anything. */
const lawfulOr = <T>(lawful: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ arbitrary: lawful, weight: 4 }, { arbitrary: other, weight: 1 });

const header = fc.constantFrom(...HOP_KINDS).chain((kind) => {
  const route = ROUTES[kind];
  const lawfulFields = Object.keys(CATALOGUE).filter((f) => (route.origins as readonly string[]).includes(CATALOGUE[f]!.origin));
  return fc
    .record({
      model: fc.constantFrom(...MODELS),
      from: lawfulOr(fc.constantFrom(...ROLE_IDS[route.from]!), anyParty),
      to: lawfulOr(fc.constantFrom(...ROLE_IDS[route.to]!), anyParty),
      platform: lawfulOr(fc.constant('platform-huixin'), fc.constantFrom('platform-jinhe', 'platform-other', '__proto__', 'bank-hangzhou')),
      channel: lawfulOr(fc.constant(undefined), fc.constantFrom('channel-baihang', 'channel-pudao', 'bank-hangzhou', '__proto__')),
      consentRef: lawfulOr(fc.constant('platform-huixin:consent_fuzz_r1'), fc.constantFrom('consent_fuzz_r1', 'platform-jinhe:consent_fuzz_r1', 'constructor')),
      // ids in their owners' namespaces (the sender's hop id, the platform's application id), unless the generator chose another
      hopId: lawfulOr(fc.constant(undefined), fc.constantFrom('hop_fuzz_r1', 'platform-huixin:hop_fuzz_r1', 'platform-huixin:', '__proto__')),
      applicationId: lawfulOr(fc.constant(undefined), fc.constantFrom('app_fuzz_r1', 'platform-jinhe:app_fuzz_r1', 'platform-huixin', 'constructor')),
      manifest: fc.uniqueArray(fc.record({ field: lawfulOr(fc.constantFrom(...lawfulFields), anyField), cls: fc.option(fc.constantFrom(...FIELD_CLASSES), { nil: undefined }) }), {
        selector: (m) => m.field,
        maxLength: 5,
      }),
      outcome: fc.option(fc.record({ status: fc.constantFrom('approved', 'declined') }), { nil: undefined }),
      provenance: fc.option(fc.constant({ name: 'BAIHANG-SCORE', version: '3.1' }), { nil: undefined }),
      ageMs: fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }),
    })
    .map(({ ageMs, manifest, outcome, provenance, channel, hopId, applicationId, ...h }) => ({
      v: 1,
      hopId: hopId ?? `${h.from}:hop_fuzz_r1`,
      applicationId: applicationId ?? `${h.platform}:app_fuzz_r1`,
      kind,
      ...h,
      // the channel the hop goes through, unless the generator chose another
      channel: channel ?? [h.from, h.to].find((id) => ROLE_IDS.channel!.includes(id)) ?? 'channel-baihang',
      issuedAt: new Date(NOW - ageMs).toISOString(),
      nonce: 'nonce-nonce-1234',
      senderKeyId: 'kkkkkkkk',
      recipientKeyId: 'kkkkkkkk',
      alg: ALGORITHMS,
      manifest: manifest.map((m) => ({ field: m.field, class: m.cls ?? CATALOGUE[m.field]?.class ?? 'C2', digest: 'A'.repeat(43) })),
      ...(kind === 'decision' ? { outcome: outcome ?? { status: 'approved' } } : {}),
      ...(provenance && (kind === 'credit_report' || kind === 'decision') ? { provenance } : {}),
      ciphertextDigest: 'cccccccc',
    }));
});

describe('fuzz: the routing check on decoded headers', function () {
  this.timeout(120_000);
  let p: Parties;
  let realHeaders: string[];

  const roleOf = (id: string) => p.directory.party(id)?.role;

  /** Decodes as the router does, then routes; on a pass, checks the route table holds. */
  let passed = 0;
  function route(bytes: Buffer, c: Consent): void {
    const decoded = attempt('decodeHeader', () => decodeHeader(bytes));
    if (!decoded.accepted) return;
    const h: HopHeader = decoded.value;
    const outcome = attempt('checkRoute', () => checkRoute(h, { directory: p.directory, consent: c, at: new Date(h.issuedAt) }));
    if (!outcome.accepted) return;
    passed++;
    const route = ROUTES[h.kind];
    assert.equal(roleOf(h.from), route.from, `a ${h.kind} hop passed from a ${roleOf(h.from)}`);
    assert.equal(roleOf(h.to), route.to, `a ${h.kind} hop passed to a ${roleOf(h.to)}`);
    if (roleOf(h.from) === 'platform' && roleOf(h.to) === 'bank') {
      assert.ok(h.kind === 'redirect' && h.manifest.every((m) => m.class === 'C1' && CATALOGUE[m.field]?.origin === 'redirect'), 'a platform → bank hop carrying personal data passed');
    }
    for (const m of h.manifest) {
      assert.notEqual(m.class, 'C3', 'a C3 field passed');
      assert.equal(m.class, CATALOGUE[m.field]?.class, `field ${m.field} passed under a class the catalogue does not give it`);
      assert.ok(route.origins.includes(CATALOGUE[m.field]!.origin as never), `field ${m.field} passed on a ${h.kind} hop`);
    }
    assert.equal(h.consentRef, c.id);
    if (route.consented) assert.ok(c.recipients.includes(h.to), 'a hop passed to a recipient the consent does not name');
  }

  before(() => {
    p = parties();
    realHeaders = [sealApplication(p).headerBytes.toString('utf8')];
    checkRoute(decodeHeader(Buffer.from(realHeaders[0]!)), { directory: p.directory, consent: consent(['channel-baihang', 'bank-hangzhou'], { id: 'consent_unit_1' }), at: new Date() });
  });

  it('refuses generated headers only with stable codes, and what it passes obeys the route table', () => {
    const recipients = fc.subarray(['channel-baihang', 'channel-pudao', 'bank-hangzhou', 'bank-suzhou', 'platform-huixin']);
    passed = 0;
    checkProperty(
      'checkRoute(generated headers)',
      400,
      fc.property(header, recipients, fc.boolean(), (h, r, namesRecipient) => route(canonicalJson(h), consent(namesRecipient ? [...new Set([...r, h.to])] : r))),
    );
    assert.ok(passed > 0, 'no generated header passed: the property never reached what checkRoute lets through');
  });

  it('refuses edited real headers only with stable codes, and what it passes obeys the route table', () => {
    checkProperty(
      'checkRoute(edited headers)',
      120,
      fc.property(jsonEdit, spelling, (edit, how) => route(Buffer.from(editedJson(realHeaders[0]!, edit, how), 'utf8'), consent(['channel-baihang', 'bank-hangzhou'], { id: 'consent_unit_1' }))),
    );
  });
});
