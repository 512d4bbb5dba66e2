/**
 * RFC 8785 (JCS) canonical JSON. Everything signed or hashed in dzl goes through here, so the
 * signer and the verifier can never serialise differently (the classic payment-switch bug).
 * `canonicalize` is the reference implementation by one of the RFC's authors.
 */
import canonicalize from 'canonicalize';

export function canonicalJson(value: unknown): Buffer {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return Buffer.from(text, 'utf8');
}

/** Parses bytes that must already be canonical; undefined when they are not JSON or not canonical. */
export function parseCanonical(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  return canonicalJson(value).equals(Buffer.from(bytes)) ? value : undefined;
}
