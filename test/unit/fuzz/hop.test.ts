/**
 * The sealed hop and its header (services/seal/hop.ts) against random input, edits of real hops
 * in transit (which must be refused), and a hostile sender: a registered party that signs and
 * encrypts, with its real keys, a header or body edited into something almost right. Hops of
 * both suites: the dev network's RSA parties, and SM2 keys made here for a platform and a channel
 * (the network folder has no SM parties yet), in the pairs RSA → RSA, SM → SM, SM → RSA, RSA → SM.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { classOf } from '../../../services/fields/catalogue';
import { b64url } from '../../../services/seal/bytes';
import { canonicalJson } from '../../../services/seal/canonical';
import {
  decodeHeader,
  decodeHop,
  newSalt,
  openHop,
  sealHop,
  verifyHop,
  type Fields,
  type RecipientCertificate,
  type RecipientIdentity,
  type SealedResult,
  type SignerCertificate,
  type SigningIdentity,
} from '../../../services/seal/hop';
import { Sm2PrivateKey } from '../../../services/seal/suites/sm2';
import { parties, SAMPLE_FIELDS, type Parties } from '../../support/fixtures';
import { CREDIT_REPORT_FIELDS } from '../../support/bundles';
import {
  anyInput,
  b64Edit,
  editB64,
  editBytes,
  byteEdit,
  editedJson,
  hostileValue,
  jsonEdit,
  oddString,
  prototypeObject,
  setMember,
  spell,
  spelling,
  RawJson,
} from './mutations';
import { attempt, checkProperty, mustRefuse } from './properties';
import { sealHostile } from './hostileSender';

const PARTS = ['header', 'signature', 'wrappedKey', 'iv', 'ciphertext'] as const;

/** A real hop of each kind that carries something of its own: plain, a credit product, a decision outcome. */
interface Base {
  name: string;
  sealed: SealResultWith;
}
interface SealResultWith {
  result: SealedResult;
  sender: SigningIdentity;
  to: RecipientCertificate;
  recipient: RecipientIdentity;
  fields: Fields;
  salt: Buffer;
}

interface Party {
  signing: SigningIdentity;
  encryption: RecipientCertificate;
  recipient: RecipientIdentity;
}

function bodyText(b: SealResultWith): string {
  return canonicalJson({ salt: b64url(b.salt), fields: b.fields }).toString('utf8');
}

function headerText(b: SealResultWith): string {
  return b.result.headerBytes.toString('utf8');
}

describe('fuzz: sealed hops and headers', function () {
  this.timeout(120_000);
  let p: Parties;
  let bases: Base[];
  let smSigners: Map<string, SignerCertificate>;
  /** Sender and recipient in each pair of suites. */
  let pairs: [Party, Party][];
  const base = fc.integer({ min: 0, max: 5 });

  const sealAs = (sender: Party, recipient: Party, over: Partial<Parameters<typeof sealHop>[1]>): SealResultWith => {
    const salt = newSalt();
    const fields = over.fields!;
    const result = sealHop(sender.signing, {
      applicationId: 'platform-huixin:app_fuzz_1',
      kind: 'application',
      model: 'data_channel',
      to: recipient.encryption,
      platform: 'platform-huixin',
      channel: 'channel-baihang',
      consentRef: 'platform-huixin:consent_fuzz_1',
      salt,
      classOf,
      ...over,
    } as Parameters<typeof sealHop>[1]);
    return { result, sender: sender.signing, to: recipient.encryption, recipient: recipient.recipient, fields, salt };
  };

  const signerOf = (keyId: string) => smSigners.get(keyId) ?? p.directory.signerOf(keyId);
  const verify = (b: SealResultWith, hop: unknown) => verifyHop(hop, { signerOf, now: new Date(b.result.header.issuedAt) });
  const recipientOf = (b: SealResultWith): RecipientIdentity => b.recipient;

  /** A party of the dev network (RSA), or the same party id with SM2 keys of its own. */
  const rsaParty = (id: 'platform' | 'channel' | 'bank'): Party => ({ signing: p[id].signing, encryption: p.directory.encryptionCertificate(p[id].partyId), recipient: p[id].recipient });
  const smParty = (partyId: string): Party => {
    const sig = Sm2PrivateKey.generate();
    const enc = Sm2PrivateKey.generate();
    const keyId = (usage: string) => `sm2-${partyId}-${usage}`;
    smSigners.set(keyId('sig'), { partyId, keyId: keyId('sig'), suite: 'SM', publicKey: sig.publicKey, notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) });
    return {
      signing: { partyId, keyId: keyId('sig'), privateKey: sig },
      encryption: { partyId, keyId: keyId('enc'), suite: 'SM', publicKey: enc.publicKey },
      recipient: { partyId, decryptionKeys: new Map([[keyId('enc'), enc]]) },
    };
  };

  before(() => {
    p = parties();
    smSigners = new Map();
    const [platform, channel, bank, smPlatform, smChannel] = [rsaParty('platform'), rsaParty('channel'), rsaParty('bank'), smParty('platform-huixin'), smParty('channel-baihang')];
    pairs = [[platform, channel], [smPlatform, smChannel], [smPlatform, channel], [platform, smChannel]];
    const application = sealAs(platform, channel, { kind: 'application', fields: SAMPLE_FIELDS });
    const creditReport = sealAs(channel, bank, {
      kind: 'credit_report',
      parentHopId: application.result.header.hopId,
      fields: CREDIT_REPORT_FIELDS,
      provenance: { name: 'BAIHANG-SCORE', version: '3.1' },
    });
    const decision = sealAs(bank, platform, {
      kind: 'decision',
      parentHopId: creditReport.result.header.hopId,
      fields: { 'decision.status': 'approved', 'decision.limit': 5_000_000 },
      outcome: { status: 'approved', reasonCode: 'WITHIN_POLICY' },
      provenance: { name: 'HZ-RETAIL-PD', version: '2026.11' },
    });
    bases = [
      { name: 'application', sealed: application },
      { name: 'credit_report', sealed: creditReport },
      { name: 'decision', sealed: decision },
      { name: 'application SM → SM', sealed: sealAs(smPlatform, smChannel, { kind: 'application', fields: SAMPLE_FIELDS }) },
      { name: 'application SM → RSA', sealed: sealAs(smPlatform, channel, { kind: 'application', fields: SAMPLE_FIELDS }) },
      { name: 'application RSA → SM', sealed: sealAs(platform, smChannel, { kind: 'application', fields: SAMPLE_FIELDS }) },
    ];
    for (const b of bases) openHop(verify(b.sealed, b.sealed.result.sealed), recipientOf(b.sealed));
  });

  describe('decodeHop and decodeHeader', () => {
    it('refuse random input with a stable code', () => {
      checkProperty('decodeHop(random)', 300, fc.property(anyInput, (input) => void attempt('decodeHop', () => decodeHop(input))));
      checkProperty('decodeHeader(random bytes)', 300, fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void attempt('decodeHeader', () => decodeHeader(Buffer.from(bytes)))));
    });

    it('refuse a hop whose members are deleted, re-typed or added, with a stable code', () => {
      checkProperty(
        'decodeHop(edited members)',
        300,
        fc.property(base, fc.constantFrom(...PARTS), fc.oneof(anyInput, hostileValue, oddString), fc.boolean(), (i, part, value, drop) => {
          const hop: Record<string, unknown> = { ...bases[i]!.sealed.result.sealed };
          if (drop) delete hop[part];
          else setMember(hop, part, value);
          attempt('decodeHop', () => decodeHop(hop));
        }),
      );
    });

    it('refuse an edited header with a stable code, and accept only canonical, well-typed headers', () => {
      checkProperty(
        'decodeHeader(edited header)',
        150,
        fc.property(base, jsonEdit, spelling, (i, edit, how) => {
          const bytes = Buffer.from(editedJson(headerText(bases[i]!.sealed), edit, how), 'utf8');
          const outcome = attempt('decodeHeader', () => decodeHeader(bytes));
          if (outcome.accepted) {
            assert.ok(canonicalJson(outcome.value).equals(bytes), 'decodeHeader accepted a header that is not canonical');
            for (const k of ['hopId', 'applicationId', 'from', 'to', 'platform', 'channel', 'consentRef', 'issuedAt', 'nonce', 'senderKeyId', 'recipientKeyId', 'ciphertextDigest'] as const) {
              assert.equal(typeof outcome.value[k], 'string', `decodeHeader accepted a header whose ${k} is not a string`);
            }
            assert.ok(Array.isArray(outcome.value.manifest));
          }
        }),
      );
    });

    it('refuse byte edits of the header with a stable code', () => {
      checkProperty(
        'decodeHeader(edited bytes)',
        300,
        fc.property(base, byteEdit, (i, edit) => void attempt('decodeHeader', () => decodeHeader(editBytes(bases[i]!.sealed.result.headerBytes, edit)))),
      );
    });
  });

  describe('verifyHop', () => {
    it('refuses every hop changed in transit: any part, any byte or text edit', () => {
      checkProperty(
        'verifyHop(edited in transit)',
        200,
        fc.property(base, fc.constantFrom(...PARTS), b64Edit, (i, part, edit) => {
          const b = bases[i]!.sealed;
          const changed = editB64(b.result.sealed[part], edit);
          fc.pre(changed !== b.result.sealed[part]);
          mustRefuse(`verifyHop(${part} edited)`, () => verify(b, { ...b.result.sealed, [part]: changed }));
        }),
      );
    });

    it('refuses a header a registered sender edited and signed, with a stable code', () => {
      checkProperty(
        'verifyHop(hostile sender, edited header)',
        80,
        fc.property(base, jsonEdit, spelling, (i, edit, how) => {
          const b = bases[i]!.sealed;
          const hop = sealHostile(b.sender, b.to, headerText(b), edit, how, Buffer.from(bodyText(b)));
          const outcome = attempt('verifyHop', () => verify(b, hop));
          if (outcome.accepted) attempt('openHop', () => openHop(outcome.value, recipientOf(b)));
        }),
      );
    });
  });

  describe('openHop', () => {
    it('refuses, with a stable code, a body a registered sender edited, encrypted and signed', () => {
      checkProperty(
        'openHop(hostile sender, edited body)',
        80,
        fc.property(base, jsonEdit, spelling, (i, edit, how) => {
          const b = bases[i]!.sealed;
          const body = Buffer.from(editedJson(bodyText(b), edit, how), 'utf8');
          const hop = sealHostile(b.sender, b.to, headerText(b), undefined, 'canonical', body);
          const verified = verify(b, hop);
          attempt('openHop', () => openHop(verified, recipientOf(b)));
        }),
      );
    });

    it('refuses, with a stable code, byte edits of a body a registered sender encrypted and signed', () => {
      checkProperty(
        'openHop(hostile sender, body bytes)',
        50,
        fc.property(base, byteEdit, (i, edit) => {
          const b = bases[i]!.sealed;
          const body = editBytes(Buffer.from(bodyText(b)), edit);
          const hop = sealHostile(b.sender, b.to, headerText(b), undefined, 'canonical', body);
          attempt('openHop', () => openHop(verify(b, hop), recipientOf(b)));
        }),
      );
    });

    it('refuses, with a stable code, a content key of any length a registered sender wrapped, over any ciphertext', () => {
      checkProperty(
        'openHop(hostile sender, odd content key)',
        60,
        fc.property(base, fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.uint8Array({ minLength: 16, maxLength: 200 }), (i, contentKey, ciphertext) => {
          const b = bases[i]!.sealed;
          const hop = sealHostile(b.sender, b.to, headerText(b), undefined, 'canonical', Buffer.alloc(0), { contentKey, ciphertext });
          const verified = verify(b, hop);
          const r = attempt('openHop', () => openHop(verified, recipientOf(b)));
          assert.ok(!r.accepted, 'opened a body no one sealed');
        }),
      );
    });

    it('refuses, with a stable code, a hop edited in transit and opened without verifying it first', () => {
      checkProperty(
        'openHop(decodeHop(edited in transit))',
        120,
        fc.property(base, fc.constantFrom(...PARTS), b64Edit, (i, part, edit) => {
          const b = bases[i]!.sealed;
          const hop = { ...b.result.sealed, [part]: editB64(b.result.sealed[part], edit) };
          const decoded = attempt('decodeHop', () => decodeHop(hop));
          if (decoded.accepted) attempt('openHop', () => openHop(decoded.value, recipientOf(b)));
        }),
      );
    });

    it('opens exactly what was sealed, for any JSON field values (prototype keys and odd unicode included)', () => {
      const names = fc.constantFrom('customer.name', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'a', 'Z.z.9');
      const value = fc.oneof(fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), prototypeObject.map((r) => JSON.parse(r.text) as unknown));
      checkProperty(
        'openHop(sealHop(odd fields))',
        60,
        fc.property(fc.integer({ min: 0, max: 3 }), fc.dictionary(names, value, { minKeys: 1, maxKeys: 4 }), (pair, fields) => {
          const [from, to] = pairs[pair]!;
          const sealed = sealAs(from, to, { kind: 'application', fields: fields as Fields, classOf: () => 'C2' });
          const opened = attempt('openHop', () => openHop(verify(sealed, sealed.result.sealed), sealed.recipient));
          assert.ok(opened.accepted, `an honest hop was refused: ${opened.accepted ? '' : opened.refusal.code}`);
          assert.ok(canonicalJson(opened.value.fields).equals(canonicalJson(fields)), 'openHop returned other fields than were sealed');
        }),
      );
    });
  });

  describe('regression cases found by the properties above', () => {
    const header = (edit: (h: Record<string, unknown>) => void): Buffer => {
      const h = JSON.parse(headerText(bases[0]!.sealed)) as Record<string, unknown>;
      edit(h);
      return Buffer.from(spell(h, 'canonical'), 'utf8');
    };
    const code = (fn: () => unknown): string => {
      const r = attempt('the parser', fn);
      assert.ok(!r.accepted, 'accepted');
      return r.refusal.code;
    };

    // Found while fuzzing: header.v re-typed to an object whose toString is not a function made the
    // version check's message, String(h.v), throw a TypeError ("Cannot convert object to primitive
    // value"): a 500 for anyone who can post a hop, before any signature is checked.
    it('a header whose version is an object with its own toString is HOP_VERSION_UNSUPPORTED', () => {
      for (const v of ['{"toString":1}', '{"toString":1,"valueOf":1}', '[{"toString":1}]']) {
        assert.equal(code(() => decodeHeader(header((h) => setMember(h, 'v', new RawJson(v))))), 'HOP_VERSION_UNSUPPORTED');
      }
    });

    // Found while fuzzing: a header member holding a number beyond double range (1e400) or nesting
    // deeper than the stack threw from parseCanonical (Error, RangeError) instead of HOP_MALFORMED.
    it('a header with 1e400 or 12 000 levels of nesting is HOP_MALFORMED', () => {
      assert.equal(code(() => decodeHeader(header((h) => setMember(h, 'v', new RawJson('1e400'))))), 'HOP_MALFORMED');
      assert.equal(code(() => decodeHeader(header((h) => setMember(h, 'manifest', new RawJson('['.repeat(12_000) + ']'.repeat(12_000)))))), 'HOP_MALFORMED');
      const deepHop = { ...bases[0]!.sealed.result.sealed, header: b64url(Buffer.from('['.repeat(12_000) + ']'.repeat(12_000))) };
      assert.equal(code(() => decodeHop(deepHop)), 'HOP_MALFORMED');
    });

    it('a body a registered sender encrypted with 1e400 or deep nesting in it is HOP_MALFORMED', () => {
      const b = bases[0]!.sealed;
      for (const body of [`{"fields":{"a":1e400},"salt":"${b64url(b.salt)}"}`, '['.repeat(12_000) + ']'.repeat(12_000)]) {
        const hop = sealHostile(b.sender, b.to, headerText(b), undefined, 'canonical', Buffer.from(body));
        assert.equal(code(() => openHop(verify(b, hop), recipientOf(b))), 'HOP_MALFORMED');
      }
    });
  });

  it('the fixtures are what the properties assume: each base hop opens for its recipient', () => {
    for (const b of bases) {
      const r = attempt('openHop', () => openHop(verify(b.sealed, b.sealed.result.sealed), recipientOf(b.sealed)));
      assert.ok(r.accepted, `${b.name}: ${r.accepted ? '' : r.refusal.code}`);
    }
  });
});
