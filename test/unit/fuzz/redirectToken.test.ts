/**
 * The direct-redirect token (services/seal/redirectToken.ts), as a bank reads it from a customer's
 * browser: from anyone, edited, or with claims edited and signed with the router's key; and the
 * redirect hop that carries it, as a hostile platform can seal it (issue 10 item 3: the router's
 * check, without decrypting, and the bank's, once opened, let through the token and nothing else).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { b64url } from '../../../services/seal/bytes';
import { canonicalJson } from '../../../services/seal/canonical';
import { newSalt, openHop, sealHop, signBytes, verifyHop, type Fields, type FieldValue, type SealedHop, type SealedResult } from '../../../services/seal/hop';
import { checkOpenedRedirect, checkRedirectHop, issueRedirectToken, readRedirectToken, REDIRECT_FIELD, redirectBody, redirectSalt } from '../../../services/seal/redirectToken';
import { parties, type Parties } from '../../support/fixtures';
import { sealHostile } from './hostileSender';
import { anyInput, b64Edit, editB64, editBytes, byteEdit, editedJson, editText, jsonEdit, oddString, spelling, textEdit } from './mutations';
import { attempt, checkProperty, mustRefuse } from './properties';

const APPLICATION = 'platform-huixin:app_fuzz_t1';

describe('fuzz: redirect tokens', function () {
  this.timeout(120_000);
  let p: Parties;
  let token: string;
  let now: number;

  const read = (t: unknown) => readRedirectToken(t, p.directory.signerOf, now);
  const signedByRouter = (claims: Buffer) => `${b64url(claims)}.${b64url(signBytes(p.router.signing, claims))}`;

  before(() => {
    p = parties();
    now = Date.now();
    token = issueRedirectToken(p.router.signing, APPLICATION, 'bank-hangzhou', now).token;
    read(token);
  });

  it('refuses random input with a stable code', () => {
    const tokenish = fc.oneof(anyInput, oddString, fc.tuple(fc.base64String(), fc.base64String()).map(([a, b]) => `${a}.${b}`), fc.string({ unit: fc.constantFrom('A', 'b', '-', '_', '.', '=') }));
    checkProperty('readRedirectToken(random)', 400, fc.property(tokenish, (t) => void attempt('readRedirectToken', () => read(t))));
  });

  it('refuses every edited token', () => {
    const edit = fc.oneof(
      fc.record({ part: fc.constantFrom(0, 1), b64: b64Edit }),
      fc.record({ text: fc.array(textEdit, { minLength: 1, maxLength: 3 }) }),
    );
    checkProperty(
      'readRedirectToken(edited)',
      400,
      fc.property(edit, (e) => {
        let changed: string;
        if ('text' in e) changed = e.text.reduce(editText, token);
        else {
          const parts = token.split('.');
          parts[e.part] = editB64(parts[e.part]!, e.b64);
          changed = parts.join('.');
        }
        fc.pre(changed !== token);
        mustRefuse('readRedirectToken(edited token)', () => read(changed));
      }),
    );
  });

  it('refuses, with a stable code, claims edited and signed with the router key; accepts only an unexpired numeric exp', () => {
    const claimsText = Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8');
    checkProperty(
      'readRedirectToken(edited claims, signed by the router)',
      100,
      fc.property(fc.oneof(fc.record({ edit: jsonEdit, how: spelling }), fc.record({ bytes: byteEdit })), (change) => {
        const claims = 'bytes' in change ? editBytes(Buffer.from(claimsText), change.bytes) : Buffer.from(editedJson(claimsText, change.edit, change.how), 'utf8');
        const outcome = attempt('readRedirectToken', () => read(signedByRouter(claims)));
        if (outcome.accepted) {
          assert.ok(canonicalJson(outcome.value).equals(claims), 'accepted claims that are not canonical');
          assert.ok(typeof outcome.value.exp === 'number' && outcome.value.exp >= now, 'accepted a token without a future numeric exp');
        }
      }),
    );
  });
  describe('the redirect hop that carries the token', () => {
    let honest: SealedResult;
    let passedBoth = 0;

    const sealRedirect = (fields: Fields, salt: Buffer) =>
      sealHop(p.platform.signing, {
        applicationId: APPLICATION,
        kind: 'redirect',
        model: 'direct_redirect',
        to: p.directory.encryptionCertificate('bank-hangzhou'),
        platform: 'platform-huixin',
        channel: 'channel-baihang',
        consentRef: 'platform-huixin:consent_fuzz_t1',
        fields,
        salt,
        classOf: (f) => (f.startsWith('customer.') ? 'C2' : 'C1'),
      });

    /** The router's check and the bank's: whatever passes both is exactly the token the router issued. */
    function carries(sealed: SealedHop): void {
      const verified = attempt('verifyHop', () => verifyHop(sealed, { signerOf: p.directory.signerOf }));
      if (!verified.accepted) return;
      if (!attempt('checkRedirectHop', () => checkRedirectHop(verified.value, token)).accepted) return;
      const opened = attempt('openHop', () => openHop(verified.value, p.bank.recipient));
      if (!opened.accepted) return;
      const bank = attempt('checkOpenedRedirect', () => checkOpenedRedirect(opened.value));
      assert.ok(bank.accepted, 'the router let through a redirect hop the bank refuses');
      assert.equal(bank.value, token, 'the bank got another token than the router issued');
      assert.deepEqual(Object.keys(opened.value.fields), [REDIRECT_FIELD], 'something rode beside the token');
      passedBoth++;
    }

    before(() => {
      honest = sealRedirect({ [REDIRECT_FIELD]: token }, redirectSalt(token));
      carries(honest.sealed);
      assert.equal(passedBoth, 1);
    });

    it('whatever fields and salt a platform seals, what passes the router and the bank is the token alone', () => {
      const sameLength = fc.nat().map((i) => {
        const at = i % token.length;
        return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
      });
      const value = fc.oneof({ arbitrary: fc.constant<FieldValue>(token), weight: 3 }, sameLength, fc.constant(`${token}x`), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<FieldValue>);
      const extras = fc.dictionary(fc.constantFrom('customer.idNumber', 'customer.name', 'redirect.token2', 'x'), fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<FieldValue>, { maxKeys: 2 });
      const salt = fc.oneof(fc.constant(redirectSalt(token)), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)), sameLength.map(redirectSalt), fc.constant(newSalt()));
      checkProperty(
        'checkRedirectHop + checkOpenedRedirect(sealed by a hostile platform)',
        100,
        fc.property(value, extras, salt, fc.boolean(), (v, more, s, withToken) => {
          carries(sealRedirect({ ...more, ...(withToken ? { [REDIRECT_FIELD]: v } : {}) }, s).sealed);
        }),
      );
    });

    it('whatever body a platform encrypts under the honest header, what passes the router and the bank is the token alone', () => {
      const honestBody = redirectBody(token).toString('utf8');
      const body = fc.oneof(
        fc.nat().map((i) => {
          // same length, another token: the router cannot tell without decrypting, the bank must
          const at = honestBody.indexOf(token) + (i % token.length);
          return Buffer.from(honestBody.slice(0, at) + (honestBody[at] === 'A' ? 'B' : 'A') + honestBody.slice(at + 1));
        }),
        fc.tuple(jsonEdit, spelling).map(([e, how]) => Buffer.from(editedJson(honestBody, e, how), 'utf8')),
        byteEdit.map((e) => editBytes(Buffer.from(honestBody), e)),
      );
      const headerText = honest.headerBytes.toString('utf8');
      checkProperty(
        'checkRedirectHop + checkOpenedRedirect(hostile body)',
        100,
        fc.property(body, fc.option(jsonEdit, { nil: undefined, freq: 4 }), (b, headerEdit) => {
          carries(sealHostile(p.platform.signing, p.directory.encryptionCertificate('bank-hangzhou'), headerText, headerEdit, 'canonical', b));
        }),
      );
    });
  });
});
