import { createHash } from 'node:crypto';

const B64URL = /^[A-Za-z0-9_-]*$/;

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict base64url: no padding, no other alphabet, and the canonical encoding only (unused
 * bits zero), so one byte string has exactly one text form. Undefined when the text is not one.
 */
export function fromB64url(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || !B64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** u32 big-endian length before each part, so that no two part lists hash alike. */
export function lengthPrefixed(...parts: Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.byteLength);
    out.push(len, Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  }
  return Buffer.concat(out);
}
