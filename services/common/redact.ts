/**
 * What a boundary says about a caller's input: codes, lengths and digests, never the caller's own
 * text. A refusal's message is written by dzl, but it names what it refused — a hop id, a field, a
 * party's reason — and any of those may be personal data a careless or hostile caller put there.
 * Before a refusal reaches the ledger, a response, a gRPC status or a log, every caller value in
 * it becomes a token `‹len:digest›` (its length in UTF-16 units and the first 12 hex digits of
 * its SHA-256): whoever holds the value can recognise it, no one else learns it.
 *
 * What is redacted (envelope.md §19.2):
 *  1. every string (and member name, and number) of the caller's input, 4 characters or longer;
 *  2. anything the message quotes in double quotes;
 *  3. every run of non-ASCII text (names, addresses) and every run of 9 or more digits (identity,
 *     card and phone numbers), wherever it came from;
 * except the vocabulary the router itself defines or holds: error codes, hop kinds, roles, models,
 * field names of the catalogue, registered party ids, and the ids of what the caller may see.
 */
import { createHash } from 'node:crypto';

export const MIN_REDACTED_LENGTH = 4;
/** How much of an input is searched for values: beyond this the rules of 2 and 3 still hold. */
const MAX_NODES = 16_384;
const MAX_DEPTH = 16;
const MAX_VALUES = 8192;
const MAX_EMBEDDED = 64 * 1024;

export function valueToken(value: string): string {
  return `‹${value.length}:${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 12)}›`;
}

/**
 * The values a message may not quote. `overflow` when the input was larger than could be searched:
 * then redact() fails closed and tokenises every word it does not know.
 */
export type CallerValues = string[] & { overflow?: true };

/** The strings, member names and numbers of a caller's input that are long enough to matter. */
export function callerValues(...inputs: unknown[]): CallerValues {
  const out = new Set<string>();
  let nodes = 0;
  let overflow = false;
  const add = (s: string) => {
    if (s.length < MIN_REDACTED_LENGTH) return;
    if (out.size < MAX_VALUES) out.add(s);
    else overflow = true;
  };
  const walk = (v: unknown, depth: number): void => {
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) {
      overflow = true;
      return;
    }
    if (typeof v === 'string') {
      add(v);
      // a hop's header or a receipt travels as base64url of JSON: its members are values too
      if (v.length >= 16 && v.length <= MAX_EMBEDDED && /^[A-Za-z0-9_-]+$/.test(v)) walkJson(Buffer.from(v, 'base64url'), depth);
    } else if (v instanceof Uint8Array) walkJson(v, depth); // gRPC: header and receipt bytes
    else if (typeof v === 'number' || typeof v === 'bigint') add(String(v));
    else if (Array.isArray(v)) {
      // a message may join short members into one string: the joined forms are values too
      if (v.length > 1 && v.every((x) => typeof x === 'string' || typeof x === 'number')) for (const sep of [',', ', ', ' ', '']) add(v.join(sep));
      for (const x of v) walk(x, depth + 1);
    }
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        add(k);
        walk(x, depth + 1);
      }
    }
  };
  const walkJson = (bytes: Uint8Array, depth: number) => {
    if (bytes.length > MAX_EMBEDDED || (bytes[0] !== 0x7b && bytes[0] !== 0x5b)) return;
    try {
      walk(JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown, depth + 1);
    } catch {
      // not JSON: ciphertext, a signature — nothing a message could quote
    }
  };
  for (const input of inputs) walk(input, 0);
  const values: CallerValues = [...out];
  if (overflow) values.overflow = true;
  return values;
}

/** Quoted text, non-ASCII runs (but dzl's own punctuation) and long digit runs; exact tokens are left alone. */
const SHAPES = /‹\d{1,6}:[0-9a-f]{12}›|"(?:[^"\\]|\\.)*"|[^\x00-\x7f→←↔≤≥…—–·§×]+|\d{9,}/gu;
const TOKEN = /^‹\d{1,6}:[0-9a-f]{12}›$/;
export const OVERFLOW_MESSAGE = 'refused; the input was too large for its values to be told apart, so the message quotes none of it';

export function redact(text: string, values: CallerValues | readonly string[], vocabulary: ReadonlySet<string>): string {
  let out = text;
  // fail closed: an input too large to search is not quoted at all
  if ((values as CallerValues).overflow) return OVERFLOW_MESSAGE;
  // longest first, so that a value inside another is not tokenised half-way
  for (const v of [...values].sort((a, b) => b.length - a.length)) {
    if (!vocabulary.has(v) && out.includes(v)) out = out.split(v).join(valueToken(v));
  }
  return out.replace(SHAPES, (m) => {
    if (TOKEN.test(m)) return m;
    const inner = m.startsWith('"') ? m.slice(1, -1) : m;
    return vocabulary.has(inner) ? m : valueToken(inner);
  });
}

/** A refusal's details with every string value redacted as its message is. */
export function redactDetails<T extends Record<string, string | number | boolean | string[]>>(details: T, values: CallerValues | readonly string[], vocabulary: ReadonlySet<string>): T {
  if ((values as CallerValues).overflow) return {} as T;
  const one = (s: string) => (vocabulary.has(s) ? s : values.includes(s) || s !== redact(s, [], vocabulary) ? valueToken(s) : s);
  return Object.fromEntries(Object.entries(details).map(([k, v]) => [k, typeof v === 'string' ? one(v) : Array.isArray(v) ? v.map(one) : v])) as T;
}
