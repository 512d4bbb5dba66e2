/**
 * A platform's consent declaration (services/consent/consent.ts parseConsent), as it arrives in
 * a request body: JSON a platform wrote, parsed by the HTTP layer.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseConsent } from '../../../services/consent/consent';
import { anyInput, editedValue, hostileValue, jsonEdit, setMember } from './mutations';
import { attempt, checkProperty } from './properties';

const PLATFORM = 'platform-huixin';
const DECLARATION = {
  id: 'platform-huixin:consent_fuzz_c1',
  textVersion: 'v2026-11',
  textSha256: 'ab'.repeat(32),
  purposes: ['credit_assessment'],
  recipients: ['channel-baihang', 'bank-hangzhou'],
  grantedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-12-31T00:00:00+08:00',
  actedAt: '2026-01-01T00:00:00Z',
  deviceDigest: 'A'.repeat(43),
  applicationId: 'platform-huixin:app_fuzz_c1',
};
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('fuzz: consent declarations', function () {
  this.timeout(120_000);
  const parse = (input: unknown) => parseConsent(input, PLATFORM);

  before(() => {
    parse(DECLARATION);
  });

  it('refuses random input with a stable code', () => {
    checkProperty('parseConsent(random)', 300, fc.property(anyInput, (input) => void attempt('parseConsent', () => parse(input))));
  });

  it('refuses an edited declaration with a stable code, and what it accepts is well formed', () => {
    const edited = fc.oneof(
      jsonEdit.map((edit) => editedValue(DECLARATION, edit)),
      fc.tuple(fc.constantFrom(...Object.keys(DECLARATION), '__proto__', 'constructor', 'withdrawn'), hostileValue).map(([k, v]) => {
        const d: Record<string, unknown> = { ...DECLARATION };
        setMember(d, k, v);
        return d;
      }),
    );
    checkProperty(
      'parseConsent(edited)',
      400,
      fc.property(edited, (input) => {
        const outcome = attempt('parseConsent', () => parse(input));
        if (!outcome.accepted) return;
        const c = outcome.value;
        assert.equal(c.platformId, PLATFORM);
        for (const list of [c.purposes, c.recipients]) assert.ok(list.length >= 1 && list.length <= 32 && list.every((x) => typeof x === 'string'));
        for (const t of [c.grantedAt, c.expiresAt, ...(c.actedAt ? [c.actedAt] : [])]) assert.match(t, ISO);
        assert.ok(Date.parse(c.expiresAt) > Date.parse(c.grantedAt));
        assert.equal(c.withdrawn, undefined, 'a declaration set its own withdrawal state');
      }),
    );
  });
});
