import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { callerValues, redact, redactDetails, valueToken } from '../../services/common/redact';
import { vocabulary } from '../../services/ledger/redaction';

describe('redaction of caller values at the boundary (envelope.md §19.2)', () => {
  const vocab = vocabulary(['platform-huixin', 'bank-hangzhou']);

  it('turns every value the caller sent into its token, and keeps what dzl defines', () => {
    const input = { hop: { applicationId: 'platform-huixin:app_ZhangSan' }, consentRef: 'consent_LiSi', to: 'bank-hangzhou' };
    const said = redact('hop of platform-huixin:app_ZhangSan cites consent_LiSi, not for bank-hangzhou (credit_report)', callerValues(input), vocab);
    assert.equal(said, `hop of ${valueToken('platform-huixin:app_ZhangSan')} cites ${valueToken('consent_LiSi')}, not for bank-hangzhou (credit_report)`);
  });

  it('tokenises quoted text, non-ASCII runs and long digit runs whatever their source, but not its own punctuation', () => {
    const said = redact('name "Wang Wu" of 王五 at 13800138000 → bank-hangzhou ≤ 1024 bytes', [], vocab);
    assert.equal(said, `name ${valueToken('Wang Wu')} of ${valueToken('王五')} at ${valueToken('13800138000')} → bank-hangzhou ≤ 1024 bytes`);
  });

  it('reads the values inside base64url JSON and gRPC bytes (a hop header travels so)', () => {
    const header = Buffer.from(JSON.stringify({ hopId: 'platform-huixin:hop_110101199003071234' }));
    assert.ok(callerValues({ header: header.toString('base64url') }).includes('platform-huixin:hop_110101199003071234'));
    assert.ok(callerValues({ header }).includes('platform-huixin:hop_110101199003071234'));
  });

  it('redacts details as the message', () => {
    assert.deepEqual(redactDetails({ member: 'consent.id', field: 'ZhangSan', party: 'bank-hangzhou', n: 3 }, ['ZhangSan'], vocab), { member: 'consent.id', field: valueToken('ZhangSan'), party: 'bank-hangzhou', n: 3 });
  });

  it('never lets a caller value of four characters or more through, wherever the message puts it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4, maxLength: 40 }), fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (value, before, after) => {
        fc.pre(!vocab.has(value) && !/[‹›]/.test(value + before + after));
        const said = redact(`${before}${value}${after}`, callerValues({ v: value }), vocab);
        // outside the tokens (a short value may happen to be a run of some digest's hex digits)
        assert.ok(said.split(/‹[^›]*›/).every((part) => !part.includes(value)), `${JSON.stringify(value)} survived in ${JSON.stringify(said)}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redaction fails closed (findings of a hostile review)', () => {
  const vocab = vocabulary(['bank-hangzhou']);

  it('does not take a caller\'s text for a token because it is written between ‹ and ›', () => {
    const said = redact('recipients ‹张三, 110, 105, 194› are not recipients', callerValues({ recipients: ['‹张三', '110', '105', '194›'] }), vocab);
    assert.ok(!said.includes('张三') && !said.includes('110, 105'), said);
  });

  it('quotes nothing of an input too large to search', () => {
    const pad = Array.from({ length: 9000 }, (_, i) => `pad-${i}-value`);
    const values = callerValues({ pad, hop: { senderKeyId: 'ZHANG_SAN_passport_E12345678' } });
    assert.equal(values.overflow, true);
    const said = redact('no certificate with key id ZHANG_SAN_passport_E12345678 is registered', values, vocab);
    assert.ok(!said.includes('ZHANG_SAN'), said);
    assert.deepEqual(redactDetails({ field: 'ZHANG_SAN' }, values, vocab), {});
  });
});
