/**
 * The RSA suite, as dzl has sealed hops from the start: RSA-PSS SHA-256 (MGF1-SHA-256, salt 32)
 * signatures, RSA-OAEP-256 key wrap (MGF1-SHA-256, empty label), AES-256-GCM, SHA-256 and
 * HMAC-SHA256. All node:crypto: it runs on every hop. Its bytes on the wire must never change.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  KeyObject,
  privateDecrypt,
  publicEncrypt,
  sign,
  verify,
} from 'node:crypto';
import type { CipherSuite, PartyPrivateKey, PartyPublicKey } from './suite';

const TAG_BYTES = 16;

function rsaKey(key: PartyPrivateKey | PartyPublicKey): KeyObject {
  if (!(key instanceof KeyObject)) throw new TypeError('the RSA suite was given a key of another suite');
  return key;
}

export const RSA_SUITE: CipherSuite = {
  name: 'RSA',
  alg: { sig: 'PS256', enc: 'A256GCM', wrap: 'RSA-OAEP-256', digest: 'HS256' },
  authScheme: 'DZL-PS256',
  contentKeyBytes: 32,

  owns(key) {
    return key instanceof KeyObject && (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss');
  },

  sign(key, message) {
    return sign('sha256', message, { key: rsaKey(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  },

  verify(key, message, signature) {
    if (!(key instanceof KeyObject)) return false;
    try {
      return verify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    } catch {
      return false;
    }
  },

  wrapKey(recipient, contentKey) {
    return publicEncrypt({ key: rsaKey(recipient), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
  },

  unwrapKey(key, wrapped) {
    if (!(key instanceof KeyObject)) return undefined;
    try {
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
    } catch {
      return undefined;
    }
  },

  sealBody(contentKey, iv, aad, plaintext) {
    const cipher = createCipheriv('aes-256-gcm', contentKey, iv);
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  },

  openBody(contentKey, iv, aad, sealed) {
    if (sealed.length < TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', contentKey, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      return undefined;
    }
  },

  hash(...parts) {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return h.digest();
  },

  hmac(key, ...parts) {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
};
