/**
 * The national commercial suite (商用密码): SM2 signatures with SM3 and the default user id,
 * SM2 public-key encryption of the content key (C1C3C2, DER), SM4-GCM for the body, SM3 and
 * HMAC-SM3 for every digest. contracts/envelope.md §22 is its wire specification.
 */
import { Sm2PrivateKey, Sm2PublicKey } from './sm2';
import { hmacSm3, sm3 } from './sm3';
import { SM4_KEY_BYTES, sm4GcmOpen, sm4GcmSeal } from './sm4';
import type { CipherSuite, PartyPrivateKey, PartyPublicKey } from './suite';

function privateSm2(key: PartyPrivateKey): Sm2PrivateKey {
  if (!(key instanceof Sm2PrivateKey)) throw new TypeError('the SM suite was given a key of another suite');
  return key;
}

function publicSm2(key: PartyPublicKey): Sm2PublicKey {
  if (!(key instanceof Sm2PublicKey)) throw new TypeError('the SM suite was given a key of another suite');
  return key;
}

export const SM_SUITE: CipherSuite = {
  name: 'SM',
  alg: { sig: 'SM2-SM3', enc: 'SM4-GCM', wrap: 'SM2-ENC', digest: 'HMAC-SM3' },
  authScheme: 'DZL-SM2-SM3',
  contentKeyBytes: SM4_KEY_BYTES,

  owns(key) {
    return key instanceof Sm2PrivateKey || key instanceof Sm2PublicKey;
  },

  sign(key, message) {
    return privateSm2(key).sign(message);
  },

  verify(key, message, signature) {
    return key instanceof Sm2PublicKey && key.verify(message, signature);
  },

  wrapKey(recipient, contentKey) {
    return publicSm2(recipient).encrypt(contentKey);
  },

  unwrapKey(key, wrapped) {
    return key instanceof Sm2PrivateKey ? key.decrypt(wrapped) : undefined;
  },

  sealBody(contentKey, iv, aad, plaintext) {
    return sm4GcmSeal(contentKey, iv, aad, plaintext);
  },

  openBody(contentKey, iv, aad, sealed) {
    return sm4GcmOpen(contentKey, iv, aad, sealed);
  },

  hash: sm3,
  hmac: hmacSm3,
};
