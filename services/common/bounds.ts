/**
 * Bounds on untrusted JSON, checked before anything walks it recursively (canonicalisation,
 * schema checks, copies): nesting depth, members per object or array, and values in all. The
 * walk itself is iterative, so no input — however deep — can overflow the stack.
 */
import { DzlError } from './errors';

export interface JsonBounds {
  depth: number;
  /** Members of one object or elements of one array. */
  width: number;
  /** Values in the whole document. */
  nodes: number;
}

/** An API request body: a sealed hop and its routing are a few dozen values, a consent a few more. */
export const REQUEST_BOUNDS: JsonBounds = { depth: 12, width: 512, nodes: 4096 };

/** Whether `value` stays within the bounds (without recursion). */
export function withinBounds(value: unknown, b: JsonBounds): { ok: true } | { ok: false; limit: 'depth' | 'width' | 'nodes' } {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > b.nodes) return { ok: false, limit: 'nodes' };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= b.depth) return { ok: false, limit: 'depth' };
    const children = Array.isArray(v) ? v : Object.values(v);
    if (children.length > b.width) return { ok: false, limit: 'width' };
    for (const c of children) stack.push([c, depth + 1]);
  }
  return { ok: true };
}

export function requireWithinBounds(value: unknown, b: JsonBounds = REQUEST_BOUNDS, what = 'request body'): void {
  const r = withinBounds(value, b);
  if (!r.ok) {
    const limit = r.limit === 'depth' ? `nested at most ${b.depth} levels` : r.limit === 'width' ? `at most ${b.width} members per object or array` : `at most ${b.nodes} values`;
    throw new DzlError('REQUEST_TOO_LARGE', `the ${what} must be JSON ${limit}`, { limit: r.limit });
  }
}
