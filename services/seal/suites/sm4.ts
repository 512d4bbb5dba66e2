/**
 * SM4-GCM (GB/T 32907-2016 as the block cipher of NIST SP 800-38D; RFC 8998's AEAD_SM4_GCM):
 * 16-byte key, 12-byte IV, 16-byte tag appended to the ciphertext.
 *
 * From sm-crypto-v2, because Node 20's OpenSSL has SM4-ECB/CBC/CTR but no SM4-GCM; its output
 * matches RFC 8998's test vector (test/unit/smSuite.test.ts). Its decrypt verifies a tag only
 * when one is passed and does not check lengths, so every length is checked here first.
 */
import { sm4 } from 'sm-crypto-v2';

export const SM4_KEY_BYTES = 16;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

function checkLengths(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== SM4_KEY_BYTES) throw new RangeError(`SM4 key must be ${SM4_KEY_BYTES} bytes`);
  if (iv.length !== GCM_IV_BYTES) throw new RangeError(`SM4-GCM IV must be ${GCM_IV_BYTES} bytes`);
}

/** ciphertext ‖ tag. */
export function sm4GcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  checkLengths(key, iv);
  const { output, tag } = sm4.encrypt(plaintext, key, { mode: 'gcm', iv, associatedData: aad, output: 'array', outputTag: true });
  if (!tag || tag.length !== GCM_TAG_BYTES) throw new Error('SM4-GCM produced no tag');
  return Buffer.concat([output, tag]);
}

/** The plaintext, or undefined when the tag does not authenticate key, IV, AAD and ciphertext. */
export function sm4GcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (key.length !== SM4_KEY_BYTES || iv.length !== GCM_IV_BYTES || sealed.length < GCM_TAG_BYTES) return undefined;
  const tag = sealed.subarray(sealed.length - GCM_TAG_BYTES);
  try {
    const out = sm4.decrypt(sealed.subarray(0, sealed.length - GCM_TAG_BYTES), key, { mode: 'gcm', iv, associatedData: aad, tag, output: 'array' });
    return Buffer.from(out);
  } catch {
    return undefined;
  }
}
