/**
 * RFC 8785 (JCS) canonical JSON. Everything signed or hashed in dzl goes through here, so the
 * signer and the verifier can never serialise differently (the classic payment-switch bug).
 * `canonicalize` is the reference implementation by one of the RFC's authors.
 */
import canonicalize from 'canonicalize';
import { withinBounds } from '../common/bounds';

/**
 * How deep canonical JSON may nest: far deeper than any dzl format (a header nests 3 levels) and
 * far below where canonicalize's recursion overflows, checked without recursion first, so that
 * whether bytes parse never depends on how much stack the caller has left.
 */
const MAX_DEPTH = { depth: 64, width: Infinity, nodes: Infinity };

export function canonicalJson(value: unknown): Buffer {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return Buffer.from(text, 'utf8');
}

/** Parses bytes that must already be canonical; undefined when they are not JSON or not canonical. */
export function parseCanonical(bytes: Uint8Array): unknown {
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (!withinBounds(value, MAX_DEPTH).ok) return undefined;
    return canonicalJson(value).equals(Buffer.from(bytes)) ? value : undefined;
  } catch {
    // Not JSON; or JSON with no canonical form: a number beyond double range (JSON.parse gives
    // Infinity, which canonicalize refuses).
    return undefined;
  }
}
