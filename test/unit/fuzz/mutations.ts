/**
 * Hostile input for the parsers' property tests: JSON that is almost right (a member deleted,
 * repeated, re-typed or added; a prototype key; deep nesting; a huge array; a number JSON can
 * write but JavaScript cannot hold; odd unicode; a non-canonical spelling), and byte and text
 * edits of valid wire forms. Every edit is a plain value, so fast-check prints and shrinks it.
 */
import fc from 'fast-check';

/** JSON text written as is: what JSON.parse accepts but no JavaScript value says (1e400, 10 000 levels). */
export class RawJson {
  constructor(readonly text: string) {}

  /** How fast-check prints a counterexample: 10 000 brackets say less than their count. */
  [fc.toStringMethod](): string {
    const t = this.text;
    return t.length <= 80 ? `RawJson(${JSON.stringify(t)})` : `RawJson(${JSON.stringify(t.slice(0, 24))} … ${JSON.stringify(t.slice(-8))}, ${t.length} characters)`;
  }
}

/** Members written after an object's own, so that a key appears twice in the text. */
export const REPEATED = Symbol('repeated members');
type Repeated = { [REPEATED]?: [string, unknown][] };

/** Sets an own member, `__proto__` included (assignment would set the prototype instead). */
export function setMember(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * RFC 8785 text of a value that may hold RawJson and repeated members: keys in UTF-16 order
 * (reversed when asked, to spell the same object non-canonically), numbers and strings as
 * JSON.stringify writes them, which for finite numbers is what RFC 8785 asks.
 */
export function jsonText(v: unknown, reverse = false): string {
  if (v instanceof RawJson) return v.text;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => jsonText(x, reverse)).join(',')}]`;
  const o = v as Record<string, unknown> & Repeated;
  const keys = Object.keys(o).sort();
  if (reverse) keys.reverse();
  const members = keys.map((k) => `${JSON.stringify(k)}:${jsonText(o[k], reverse)}`);
  for (const [k, x] of o[REPEATED] ?? []) members.push(`${JSON.stringify(k)}:${jsonText(x, reverse)}`);
  return `{${members.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Values a member may be re-typed to

const raw = (text: string) => new RawJson(text);

/** Strings a parser may not expect: control and format characters, lone surrogates, combining marks, prototype names. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', ' ', '\u0000', '\n', '\t', '"', '\\', '\ud800', '\udfff', '\ud83d', '\ufeff', '\u2028', '\u202e', '\u200b',
    'e\u0301', '\u00e9', '\uff21', '\u{1f642}', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
    'null', 'true', '0', '-1', '1e400', 'NaN', '.', ':', '-', 'A'.repeat(65), 'A'.repeat(129),
    '2024-02-30T00:00:00Z', '2024-01-01T00:00:00', '+275760-09-13T00:00:00.001Z',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** Numbers as JSON text: out of double range, beyond 2^53, negative zero, non-shortest spellings. */
export const oddNumber: fc.Arbitrary<RawJson> = fc
  .constantFrom(
    '1e400', '-1e400', '1e-400', '-0', '0.0', '1.0', '1E2', '1e21', '9007199254740993', '-9007199254740993',
    '4294967296', '18446744073709551616', '123456789012345678901234567890', '1.7976931348623157e308', '5e-324', '-1', '0.5',
  )
  .map(raw);

/** Objects whose members shadow what JavaScript looks up on every object. */
export const prototypeObject: fc.Arbitrary<RawJson> = fc
  .constantFrom(
    '{"__proto__":{"polluted":1}}', '{"__proto__":null}', '{"constructor":{"prototype":{"polluted":1}}}', '{"toString":1}',
    '{"toString":1,"valueOf":1}', '{"valueOf":{}}', '{"toJSON":1}', '{"hasOwnProperty":1}', '{"length":3}', '[{"toString":1}]',
    '{"then":1}', '{"toISOString":1}',
  )
  .map(raw);

/** A value nested `depth` levels deep: deeper than any recursive walk of it can go. */
export const deepNesting: fc.Arbitrary<RawJson> = fc
  .record({ depth: fc.integer({ min: 64, max: 12_000 }), open: fc.constantFrom('[', '{"a":') })
  .map(({ depth, open }) => raw(open.repeat(depth) + (open === '[' ? '0' : '1') + (open === '[' ? ']' : '}').repeat(depth)));

export const hugeArray: fc.Arbitrary<RawJson> = fc.integer({ min: 1_000, max: 100_000 }).map((n) => raw(`[${'0,'.repeat(n - 1)}0]`));
export const hugeString: fc.Arbitrary<string> = fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'x'.repeat(n));

/** Anything a member may be re-typed to. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: oddString, weight: 3 },
  { arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)), weight: 2 },
  { arbitrary: oddNumber, weight: 2 },
  { arbitrary: prototypeObject, weight: 3 },
  { arbitrary: deepNesting, weight: 1 },
  { arbitrary: hugeArray, weight: 1 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: fc.constantFrom([], {}, [[]], [{}]), weight: 1 },
);

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON', 'then', '', ' ', 'x', 'v2'),
  oddString,
);

// ---------------------------------------------------------------------------------------------
// Edits of a JSON tree

/** Where an edit lands: each step picks a member (sorted keys) or element of the node reached so far. */
export type Path = number[];

export type JsonEdit =
  | { op: 'delete'; path: Path }
  | { op: 'retype'; path: Path; value: unknown }
  | { op: 'add'; path: Path; key: string; value: unknown }
  | { op: 'repeat'; path: Path; value?: unknown }
  | { op: 'nest'; path: Path; depth: number };

const path = fc.array(fc.nat(), { minLength: 1, maxLength: 5 });

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), path }),
  { arbitrary: fc.record({ op: fc.constant('retype' as const), path, value: hostileValue }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('add' as const), path, key: hostileKey, value: hostileValue }), weight: 2 },
  fc.record({ op: fc.constant('repeat' as const), path, value: fc.option(hostileValue, { nil: undefined }) }, { requiredKeys: ['op', 'path'] }),
  fc.record({ op: fc.constant('nest' as const), path, depth: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1_000, max: 12_000 })) }),
);

interface Spot {
  parent: Record<string, unknown> | unknown[] | undefined;
  key: string | number | undefined;
  node: unknown;
}

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => typeof v === 'object' && v !== null && !(v instanceof RawJson);
const childKeys = (v: Record<string, unknown> | unknown[]): (string | number)[] => (Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v).sort());

function walk(root: unknown, steps: Path): Spot {
  let spot: Spot = { parent: undefined, key: undefined, node: root };
  for (const step of steps) {
    if (!isContainer(spot.node)) break;
    const keys = childKeys(spot.node);
    if (keys.length === 0) break;
    const key = keys[step % keys.length]!;
    spot = { parent: spot.node, key, node: (spot.node as Record<string | number, unknown>)[key] };
  }
  return spot;
}

/** The new root: `value` when the spot is the root, else the root with `value` put in the spot's place. */
function replace(root: unknown, spot: Spot, value: unknown): unknown {
  if (spot.parent === undefined) return value;
  if (Array.isArray(spot.parent)) spot.parent[spot.key as number] = value;
  else setMember(spot.parent, spot.key as string, value);
  return root;
}

/**
 * Applies an edit to a fresh tree (JSON.parse of valid canonical text) and returns the new root.
 * The tree is changed in place; the root changes only when the edit lands on it.
 */
export function applyJsonEdit(root: unknown, edit: JsonEdit): unknown {
  const spot = walk(root, edit.path);
  switch (edit.op) {
    case 'retype':
      return replace(root, spot, edit.value);
    case 'nest':
      return replace(root, spot, raw('['.repeat(edit.depth) + jsonText(spot.node) + ']'.repeat(edit.depth)));
    case 'delete':
      if (spot.parent === undefined) return raw('');
      if (Array.isArray(spot.parent)) spot.parent.splice(spot.key as number, 1);
      else delete spot.parent[spot.key as string];
      return root;
    case 'repeat':
      if (spot.parent === undefined) return raw(`${jsonText(root)}${jsonText(root)}`);
      if (Array.isArray(spot.parent)) spot.parent.splice(spot.key as number, 0, edit.value ?? spot.node);
      else {
        const o = spot.parent as Repeated;
        (o[REPEATED] ??= []).push([spot.key as string, edit.value ?? spot.node]);
      }
      return root;
    case 'add': {
      const target = [spot.node, spot.parent, root].find((v) => isContainer(v) && !Array.isArray(v));
      if (target) setMember(target, edit.key, edit.value);
      else if (Array.isArray(spot.node)) spot.node.push(edit.value);
      return root;
    }
  }
}

/** Ways to spell the same JSON other than canonically. */
export type Spelling = 'canonical' | 'spaced' | 'newline' | 'bom' | 'escaped' | 'reversed' | 'crlf';
export const spelling: fc.Arbitrary<Spelling> = fc.oneof(
  { arbitrary: fc.constant('canonical' as const), weight: 6 },
  fc.constantFrom('spaced' as const, 'newline' as const, 'bom' as const, 'escaped' as const, 'reversed' as const, 'crlf' as const),
);

export function spell(value: unknown, how: Spelling): string {
  const text = jsonText(value, how === 'reversed');
  switch (how) {
    case 'spaced':
      return text.replace(/":/, '": ');
    case 'newline':
      return `${text}\n`;
    case 'crlf':
      return text.replace(/,/, ',\r\n');
    case 'bom':
      return `\ufeff${text}`;
    case 'escaped':
      return text.replace(/"([a-z])/, (_m, c: string) => `"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    default:
      return text;
  }
}

/** A valid JSON text, edited and spelled. */
export function editedJson(validText: string, edit: JsonEdit, how: Spelling): string {
  return spell(applyJsonEdit(JSON.parse(validText) as unknown, edit), how);
}

/** A valid value edited, as a JSON body parser hands it over (1e400 as Infinity, a repeated key's last value). */
export function editedValue(valid: unknown, edit: JsonEdit): unknown {
  return JSON.parse(editedJson(JSON.stringify(valid), edit, 'canonical')) as unknown;
}

// ---------------------------------------------------------------------------------------------
// Edits of bytes and of text

export type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; keep: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number };

const someBytes = fc.uint8Array({ minLength: 1, maxLength: 48 });

export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), weight: 4 },
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), bytes: someBytes }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: someBytes }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
);

/** The edited copy; positions wrap around the length, so every edit lands somewhere. */
export function editBytes(bytes: Uint8Array, e: ByteEdit): Buffer {
  const b = Buffer.from(bytes);
  const at = (n: number, len = b.length) => (len === 0 ? 0 : n % len);
  switch (e.op) {
    case 'flip':
      if (b.length > 0) b[at(e.at)] ^= 1 << e.bit;
      return b;
    case 'set':
      if (b.length > 0) b[at(e.at)] = e.value;
      return b;
    case 'truncate':
      return b.subarray(0, at(e.keep));
    case 'extend':
      return Buffer.concat([b, e.bytes]);
    case 'insert': {
      const i = at(e.at, b.length + 1);
      return Buffer.concat([b.subarray(0, i), e.bytes, b.subarray(i)]);
    }
    case 'delete': {
      const i = at(e.at);
      return Buffer.concat([b.subarray(0, i), b.subarray(i + e.count)]);
    }
  }
}

export type TextEdit =
  | { op: 'replace'; at: number; text: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; keep: number }
  | { op: 'extend'; text: string }
  | { op: 'case'; at: number };

/** Characters that mean something to one of the text formats, and odd ones. */
const textPiece = fc.oneof(
  fc.constantFrom(',', '=', '.', ' ', '\n', '\n\n', '\r', '\t', '—', '+', '/', '_', '-', ':', '"', ';', '\u0000', '\ud800', '\u00a0', 'A', 'z', '0', 'Z', 'T', '='.repeat(3)),
  oddString,
);

export const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: textPiece }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: textPiece }), weight: 2 },
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), text: textPiece }),
  fc.record({ op: fc.constant('case' as const), at: fc.nat() }),
);

export function editText(s: string, e: TextEdit): string {
  const at = (n: number, len = s.length) => (len === 0 ? 0 : n % len);
  switch (e.op) {
    case 'replace': {
      const i = at(e.at);
      return s.slice(0, i) + e.text + s.slice(i + 1);
    }
    case 'insert': {
      const i = at(e.at, s.length + 1);
      return s.slice(0, i) + e.text + s.slice(i);
    }
    case 'delete': {
      const i = at(e.at);
      return s.slice(0, i) + s.slice(i + e.count);
    }
    case 'truncate':
      return s.slice(0, at(e.keep));
    case 'extend':
      return s + e.text;
    case 'case': {
      const i = at(e.at);
      const c = s.charAt(i);
      const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return s.slice(0, i) + swapped + s.slice(i + 1);
    }
  }
}

/** Edits of a base64url text: of the bytes it encodes (re-encoded canonically), or of the text itself. */
export type B64Edit = { of: 'bytes'; edit: ByteEdit } | { of: 'text'; edit: TextEdit };
export const b64Edit: fc.Arbitrary<B64Edit> = fc.oneof(
  { arbitrary: fc.record({ of: fc.constant('bytes' as const), edit: byteEdit }), weight: 3 },
  fc.record({ of: fc.constant('text' as const), edit: textEdit }),
);

export function editB64(text: string, e: B64Edit): string {
  return e.of === 'bytes' ? editBytes(Buffer.from(text, 'base64url'), e.edit).toString('base64url') : editText(text, e.edit);
}

/** Any value at all where a parser expects its input: JSON values, other JavaScript types, odd strings. */
export const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3 }),
  oddString,
  fc.constantFrom(undefined, null, 0, -1, NaN, Infinity, true, [], {}, Buffer.alloc(4), new Date(NaN), Symbol('s'), () => 1, 10n),
);
