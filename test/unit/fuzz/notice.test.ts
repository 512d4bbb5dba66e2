/**
 * The router's signed notices (services/evidence/lifecycle.ts verifyNotice), as a party reads
 * them off the network: from anyone, tampered in transit, or edited and signed with the router's
 * own key (what a compromised router could send; a party must still not crash on it).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { signNotice, verifyNotice, type SignedNotice } from '../../../services/evidence/lifecycle';
import { b64url } from '../../../services/seal/bytes';
import { canonicalJson } from '../../../services/seal/canonical';
import { signBytes } from '../../../services/seal/hop';
import { parties, type Parties } from '../../support/fixtures';
import { anyInput, b64Edit, editB64, editBytes, byteEdit, editedJson, hostileValue, jsonEdit, RawJson, setMember, spell, spelling } from './mutations';
import { attempt, checkProperty, mustRefuse } from './properties';

const TO = 'bank-hangzhou';

describe('fuzz: notices', function () {
  this.timeout(120_000);
  let p: Parties;
  let notices: SignedNotice[];
  const which = fc.integer({ min: 0, max: 1 });

  const verify = (input: unknown) => verifyNotice(input, { by: 'router', to: TO }, p.directory.signerOf);
  const bodyText = (n: SignedNotice) => Buffer.from(n.notice, 'base64url').toString('utf8');
  const signedByRouter = (body: Buffer): SignedNotice => ({ notice: b64url(body), signature: b64url(signBytes(p.router.signing, body)) });

  before(() => {
    p = parties();
    const common = { applicationId: 'app_fuzz_n1', consentId: 'consent_fuzz_n1', to: TO, hops: ['hop_a', 'hop_b'] };
    notices = [
      signNotice(p.router.signing, { ...common, kind: 'consent_withdrawn', reason: 'CONSENT_WITHDRAWN' }).signed,
      signNotice(p.router.signing, { ...common, kind: 'delete_data', reason: 'RETENTION_ELAPSED' }).signed,
    ];
    for (const n of notices) verify(n);
  });

  it('refuses random input with a stable code', () => {
    checkProperty('verifyNotice(random)', 300, fc.property(anyInput, (input) => void attempt('verifyNotice', () => verify(input))));
  });

  it('refuses a notice whose members are deleted, re-typed or added, with a stable code', () => {
    checkProperty(
      'verifyNotice(edited members)',
      300,
      fc.property(which, fc.constantFrom('notice', 'signature', 'extra', '__proto__'), fc.oneof(anyInput, hostileValue), fc.boolean(), (i, member, value, drop) => {
        const n: Record<string, unknown> = { ...notices[i]! };
        if (drop) delete n[member];
        else setMember(n, member, value);
        attempt('verifyNotice', () => verify(n));
      }),
    );
  });

  it('refuses every notice changed in transit', () => {
    checkProperty(
      'verifyNotice(edited in transit)',
      300,
      fc.property(which, fc.constantFrom('notice' as const, 'signature' as const), b64Edit, (i, member, edit) => {
        const n = notices[i]!;
        const changed = editB64(n[member], edit);
        fc.pre(changed !== n[member]);
        mustRefuse(`verifyNotice(${member} edited)`, () => verify({ ...n, [member]: changed }));
      }),
    );
  });

  it('refuses, with a stable code, a notice body edited and signed with the router key; accepts only a well-typed notice to this party', () => {
    checkProperty(
      'verifyNotice(edited, signed by the router)',
      100,
      fc.property(which, fc.oneof(fc.record({ edit: jsonEdit, how: spelling }), fc.record({ bytes: byteEdit })), (i, change) => {
        const text = bodyText(notices[i]!);
        const body = 'bytes' in change ? editBytes(Buffer.from(text), change.bytes) : Buffer.from(editedJson(text, change.edit, change.how), 'utf8');
        const outcome = attempt('verifyNotice', () => verify(signedByRouter(body)));
        if (outcome.accepted) {
          const b = outcome.value.body;
          assert.ok(canonicalJson(b).equals(body), 'accepted a notice that is not canonical');
          assert.ok(b.to === TO && b.by === 'router', 'accepted a notice to someone else or by someone else');
          assert.ok(Array.isArray(b.hops) && typeof b.applicationId === 'string' && typeof b.noticeId === 'string');
        }
      }),
    );
  });

  describe('regression cases found by the properties above', () => {
    /** Edited but NOT re-signed: what anyone on the network can send. */
    const unsigned = (edit: (b: Record<string, unknown>) => void) => {
      const b = JSON.parse(bodyText(notices[0]!)) as Record<string, unknown>;
      edit(b);
      return { notice: b64url(Buffer.from(spell(b, 'canonical'), 'utf8')), signature: notices[0]!.signature };
    };
    const code = (input: unknown) => {
      const r = attempt('verifyNotice', () => verify(input));
      assert.ok(!r.accepted, 'accepted');
      return r.refusal.code;
    };

    // Found while fuzzing: kind, to or by re-typed to an object whose toString is not a function made
    // the refusal's message (String(body.kind), String(body.to), String(body.by)) throw a TypeError;
    // it needs no signature, so anyone who can reach a party's notice endpoint can cause it.
    for (const member of ['kind', 'to', 'by']) {
      it(`a notice whose ${member} is an object with its own toString is NOTICE_INVALID`, () => {
        assert.equal(code(unsigned((b) => setMember(b, member, new RawJson('{"toString":1}')))), 'NOTICE_INVALID');
      });
    }

    // Found while fuzzing: issuedAt re-typed to such an object made new Date(issuedAt) throw a TypeError.
    it('a notice whose issuedAt is an object with its own toString is NOTICE_INVALID', () => {
      assert.equal(code(unsigned((b) => setMember(b, 'issuedAt', new RawJson('{"toString":1}')))), 'NOTICE_INVALID');
    });
  });
});
