/**
 * Receipts (services/seal/receipt.ts): the recipient's signed word that it got exactly one hop.
 * The router reads them from parties' answers, and the verifier from evidence.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { b64url } from '../../../services/seal/bytes';
import { canonicalJson } from '../../../services/seal/canonical';
import { signBytes } from '../../../services/seal/hop';
import { signReceipt, verifyReceipt, type SignedReceipt } from '../../../services/seal/receipt';
import { parties, sealApplication, type Parties } from '../../support/fixtures';
import { anyInput, b64Edit, editB64, editBytes, byteEdit, editedJson, hostileValue, jsonEdit, RawJson, setMember, spell, spelling } from './mutations';
import { attempt, checkProperty, mustRefuse } from './properties';

describe('fuzz: receipts', function () {
  this.timeout(120_000);
  let p: Parties;
  let expected: { hopId: string; headerDigest: string; by: string };
  let receipts: SignedReceipt[];
  const which = fc.integer({ min: 0, max: 1 });

  const verify = (input: unknown) => verifyReceipt(input, expected, p.directory.signerOf);
  const bodyText = (r: SignedReceipt) => Buffer.from(r.receipt, 'base64url').toString('utf8');
  /** What a hostile recipient can send: any receipt body, signed with its real key. */
  const signedByChannel = (body: Buffer): SignedReceipt => ({ receipt: b64url(body), signature: b64url(signBytes(p.channel.signing, body)) });

  before(() => {
    p = parties();
    const hop = sealApplication(p);
    expected = { hopId: hop.header.hopId, headerDigest: hop.headerDigest, by: 'channel-baihang' };
    receipts = [signReceipt(p.channel.signing, expected, 'accepted'), signReceipt(p.channel.signing, expected, 'rejected', 'HOP_EXPIRED')];
    for (const r of receipts) verify(r);
  });

  it('refuses random input with a stable code', () => {
    checkProperty('verifyReceipt(random)', 300, fc.property(anyInput, (input) => void attempt('verifyReceipt', () => verify(input))));
  });

  it('refuses a receipt whose members are deleted, re-typed or added, with a stable code', () => {
    checkProperty(
      'verifyReceipt(edited members)',
      300,
      fc.property(which, fc.constantFrom('receipt', 'signature', 'extra', '__proto__'), fc.oneof(anyInput, hostileValue), fc.boolean(), (i, member, value, drop) => {
        const r: Record<string, unknown> = { ...receipts[i]! };
        if (drop) delete r[member];
        else setMember(r, member, value);
        attempt('verifyReceipt', () => verify(r));
      }),
    );
  });

  it('refuses every receipt changed in transit', () => {
    checkProperty(
      'verifyReceipt(edited in transit)',
      300,
      fc.property(which, fc.constantFrom('receipt', 'signature') satisfies fc.Arbitrary<keyof SignedReceipt>, b64Edit, (i, member, edit) => {
        const r = receipts[i]!;
        const changed = editB64(r[member], edit);
        fc.pre(changed !== r[member]);
        mustRefuse(`verifyReceipt(${member} edited)`, () => verify({ ...r, [member]: changed }));
      }),
    );
  });

  it('refuses, with a stable code, a body the recipient edited and signed; accepts only a well-typed receipt for this hop', () => {
    checkProperty(
      'verifyReceipt(hostile recipient)',
      100,
      fc.property(which, fc.oneof(fc.record({ edit: jsonEdit, how: spelling }), fc.record({ bytes: byteEdit })), (i, change) => {
        const text = bodyText(receipts[i]!);
        const body = 'bytes' in change ? editBytes(Buffer.from(text), change.bytes) : Buffer.from(editedJson(text, change.edit, change.how), 'utf8');
        const outcome = attempt('verifyReceipt', () => verify(signedByChannel(body)));
        if (outcome.accepted) {
          const b = outcome.value.body;
          assert.ok(canonicalJson(b).equals(body), 'accepted a receipt that is not canonical');
          assert.ok(b.hopId === expected.hopId && b.headerDigest === expected.headerDigest && b.by === expected.by, 'accepted a receipt for another hop or signer');
          assert.ok(b.status === 'accepted' || b.status === 'rejected');
          assert.equal(typeof b.receivedAt, 'string', 'accepted a receipt whose receivedAt is not a string');
        }
      }),
    );
  });

  describe('regression cases found by the properties above', () => {
    const resigned = (edit: (b: Record<string, unknown>) => void) => {
      const b = JSON.parse(bodyText(receipts[0]!)) as Record<string, unknown>;
      edit(b);
      return signedByChannel(Buffer.from(spell(b, 'canonical'), 'utf8'));
    };
    const code = (input: unknown) => {
      const r = attempt('verifyReceipt', () => verify(input));
      assert.ok(!r.accepted, 'accepted');
      return r.refusal.code;
    };

    // Found while fuzzing: `by` re-typed to an object whose toString is not a function made the
    // message String(body.by) throw a TypeError, before the signature is checked.
    it('a receipt whose by is an object with its own toString is RECEIPT_INVALID', () => {
      assert.equal(code(resigned((b) => setMember(b, 'by', new RawJson('{"toString":1}')))), 'RECEIPT_INVALID');
    });

    // Found while fuzzing: receivedAt re-typed to such an object made new Date(receivedAt) throw a TypeError.
    it('a receipt whose receivedAt is an object with its own toString is RECEIPT_INVALID', () => {
      assert.equal(code(resigned((b) => setMember(b, 'receivedAt', new RawJson('{"toString":1}')))), 'RECEIPT_INVALID');
      assert.equal(code(resigned((b) => setMember(b, 'receivedAt', new RawJson('[{"valueOf":1,"toString":1}]')))), 'RECEIPT_INVALID');
    });

    // Found while fuzzing: 1e400 or deep nesting in the receipt made parseCanonical throw (Error, RangeError).
    it('a receipt with 1e400 or 12 000 levels of nesting is RECEIPT_INVALID', () => {
      assert.equal(code(resigned((b) => setMember(b, 'v', new RawJson('1e400')))), 'RECEIPT_INVALID');
      assert.equal(code({ receipt: b64url(Buffer.from('['.repeat(12_000) + ']'.repeat(12_000))), signature: receipts[0]!.signature }), 'RECEIPT_INVALID');
    });
  });
});
