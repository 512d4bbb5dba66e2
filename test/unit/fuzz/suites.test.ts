/**
 * The cipher suites' readers of untrusted bytes (services/seal/suites): a signature to verify, a
 * wrapped content key to unwrap, a sealed body to open, an SM2 point or scalar, a DER sequence.
 * Each answers false or undefined for anything that is not what it expects — never throws — and
 * an edit of valid bytes never passes.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { readDerSequence } from '../../../services/seal/suites/der';
import { RSA_SUITE, SM_SUITE, type CipherSuite, type PartyPrivateKey, type PartyPublicKey } from '../../../services/seal/suites/registry';
import { Sm2PrivateKey, Sm2PublicKey } from '../../../services/seal/suites/sm2';
import { parties } from '../../support/fixtures';
import { byteEdit, editBytes, type ByteEdit } from './mutations';
import { CALL_BUDGET_MS, checkProperty, describeThrow } from './properties';

interface SuiteKeys {
  suite: CipherSuite;
  signing: PartyPrivateKey;
  verifying: PartyPublicKey;
  decrypting: PartyPrivateKey;
  encrypting: PartyPublicKey;
}

/** The call's answer; it may not throw, nor take long. */
function answer<T>(what: string, call: () => T): T {
  const started = Date.now();
  let value: T;
  try {
    value = call();
  } catch (err) {
    assert.fail(`${what} threw ${describeThrow(err)}; it must answer false or undefined`);
  }
  assert.ok(Date.now() - started <= CALL_BUDGET_MS, `${what} took ${Date.now() - started} ms`);
  return value;
}

const MESSAGE = Buffer.from('POST\n/v1/applications\n2026-12-02T00:00:00.000Z\nhash');
const AAD = Buffer.from('{"v":1}');
const IV = Buffer.alloc(12, 7);

describe('fuzz: the cipher suites\' readers of untrusted bytes', function () {
  this.timeout(120_000);
  let keys: SuiteKeys[];
  let valid: { signature: Buffer; wrapped: Buffer; contentKey: Buffer; sealed: Buffer }[];
  const which = fc.integer({ min: 0, max: 1 });
  const changed = (bytes: Buffer, e: ByteEdit) => {
    const out = editBytes(bytes, e);
    fc.pre(!out.equals(bytes));
    return out;
  };

  before(() => {
    const p = parties();
    const signing = Sm2PrivateKey.generate();
    const decrypting = Sm2PrivateKey.generate();
    keys = [
      { suite: RSA_SUITE, signing: p.platform.signing.privateKey, verifying: p.directory.signerOf(p.platform.signing.keyId)!.publicKey, decrypting: [...p.channel.recipient.decryptionKeys.values()][0]!, encrypting: p.directory.encryptionCertificate('channel-baihang').publicKey },
      { suite: SM_SUITE, signing, verifying: signing.publicKey, decrypting, encrypting: decrypting.publicKey },
    ];
    valid = keys.map((k) => {
      const contentKey = randomBytes(k.suite.contentKeyBytes);
      return { signature: k.suite.sign(k.signing, MESSAGE), wrapped: k.suite.wrapKey(k.encrypting, contentKey), contentKey, sealed: k.suite.sealBody(contentKey, IV, AAD, Buffer.from('{"fields":{},"salt":"x"}')) };
    });
    keys.forEach((k, i) => assert.ok(k.suite.verify(k.verifying, MESSAGE, valid[i]!.signature)));
  });

  it('verify answers false, never throws, for random signatures and for any edit of a valid one or of the message', () => {
    checkProperty(
      'suite.verify(random and edited)',
      120,
      fc.property(which, fc.oneof(fc.record({ random: fc.uint8Array({ maxLength: 300 }) }), fc.record({ signature: byteEdit }), fc.record({ message: byteEdit })), (i, c) => {
        const k = keys[i]!;
        const v = valid[i]!;
        const [message, signature] = 'random' in c ? [MESSAGE, Buffer.from(c.random)] : 'signature' in c ? [MESSAGE, changed(v.signature, c.signature)] : [changed(MESSAGE, c.message), v.signature];
        assert.equal(answer(`${k.suite.name} verify`, () => k.suite.verify(k.verifying, message, signature)), false);
      }),
    );
  });

  it('unwrapKey answers undefined, never throws, for random and edited wrapped keys', () => {
    checkProperty(
      'suite.unwrapKey(random and edited)',
      100,
      fc.property(which, fc.oneof(fc.record({ random: fc.uint8Array({ maxLength: 300 }) }), fc.record({ wrapped: byteEdit })), (i, c) => {
        const k = keys[i]!;
        const wrapped = 'random' in c ? Buffer.from(c.random) : changed(valid[i]!.wrapped, c.wrapped);
        assert.equal(answer(`${k.suite.name} unwrapKey`, () => k.suite.unwrapKey(k.decrypting, wrapped)), undefined);
      }),
    );
  });

  it('openBody answers undefined, never throws, for an edited body, IV or AAD, or a key of any length', () => {
    const change = fc.oneof(fc.record({ sealed: byteEdit }), fc.record({ iv: byteEdit }), fc.record({ aad: byteEdit }), fc.record({ key: fc.uint8Array({ maxLength: 40 }) }));
    checkProperty(
      'suite.openBody(edited)',
      150,
      fc.property(which, change, (i, c) => {
        const k = keys[i]!;
        const v = valid[i]!;
        const key = 'key' in c ? Buffer.from(c.key) : v.contentKey;
        if ('key' in c) fc.pre(!key.equals(v.contentKey));
        const iv = 'iv' in c ? changed(IV, c.iv) : IV;
        const aad = 'aad' in c ? changed(AAD, c.aad) : AAD;
        const sealed = 'sealed' in c ? changed(v.sealed, c.sealed) : v.sealed;
        assert.equal(answer(`${k.suite.name} openBody`, () => k.suite.openBody(key, iv, aad, sealed)), undefined);
      }),
    );
  });

  it('SM2 points, scalars and DER sequences: random bytes give a key or undefined, never a throw', () => {
    checkProperty(
      'Sm2PublicKey.fromUncompressed, Sm2PrivateKey.fromScalar, readDerSequence(random)',
      150,
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 65, maxLength: 65 }).map((b) => Buffer.concat([Buffer.from([4]), Buffer.from(b).subarray(1)])), fc.constant(Buffer.alloc(32, 0xff))),
        fc.constantFrom<('integer' | 'octets')[]>(['integer', 'integer'], ['integer', 'integer', 'octets', 'octets']),
        (bytes, members) => {
          const b = Buffer.from(bytes);
          const point = answer('Sm2PublicKey.fromUncompressed', () => Sm2PublicKey.fromUncompressed(b));
          if (point) assert.ok(point.uncompressed().equals(b));
          answer('Sm2PrivateKey.fromScalar', () => Sm2PrivateKey.fromScalar(b));
          answer('readDerSequence', () => readDerSequence(b, members));
        },
      ),
    );
  });
});
