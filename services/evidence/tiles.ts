/**
 * The evidence log stored and served as C2SP tlog-tiles (c2sp.org/tlog-tiles): pure functions of
 * level, index and tree size, and the Merkle arithmetic over tiles — no store, no I/O.
 *
 * A tile at level L, index N holds up to 256 consecutive hashes of tree nodes of height 8·L: the
 * leaf hashes at level 0, the roots of full level-0 tiles at level 1, and so on. A node of any
 * other height 8·L + r (0 < r < 8) is the root of 2^r adjacent entries of one level-L tile, so
 * every node hash a checkpoint or a proof needs is read from one tile and a few hashes. A tree of
 * 10⁶ leaves has tiles at levels 0–2: a proof reads at most two tiles a level.
 *
 * Tiles only grow: the first W hashes of a tile never change once written (the log is
 * append-only), so the tile stored now answers for every earlier tree size, and a partial tile
 * `.p/W` is the first W hashes of whatever the tile holds.
 */
import { EMPTY_ROOT, HASH_SIZE, hashChildren } from './merkle';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;

export type TileErrorCode = 'TILE_PATH_MALFORMED' | 'TILE_MISSING' | 'TILE_SHORT' | 'TILE_SIZE_INVALID';

export class TileError extends Error {
  override readonly name = 'TileError';
  constructor(
    readonly code: TileErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A tile's address; `width` is how many hashes of it a reader wants (256 for a full tile). */
export interface TileAddress {
  level: number;
  index: number;
  width: number;
}

/** The identity of a tile in storage, whatever its width. */
export function tileKey(level: number, index: number): string {
  return `${level}/${index}`;
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new TileError('TILE_SIZE_INVALID', `${what} must be a non-negative safe integer, got ${n}`);
}

// ---------------------------------------------------------------------------------------------
// Paths (c2sp.org/tlog-tiles: "tile/<L>/<N>[.p/<W>]", N in 3-digit groups, all but the last x-prefixed)

/** N as the spec writes it in a path: 1234067 → "x001/x234/067". */
export function encodeTileIndex(n: number): string {
  checkCount(n, 'tile index');
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The URL path of a hash tile; a partial one (width < 256) carries `.p/<width>`. */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  checkCount(level, 'tile level');
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new TileError('TILE_SIZE_INVALID', `tile width must be 1..${TILE_WIDTH}, got ${width}`);
  return `tile/${level}/${encodeTileIndex(index)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

const GROUP = /^x\d{3}$/;
const LAST = /^\d{3}$/;

/**
 * The tile a path names, read strictly: exactly the spelling tilePath produces (no leading
 * zeros in L, no empty or long groups, no `.p/256`), so one tile has one URL. Entry bundles
 * (`tile/entries/…`) are not a hash tile and are refused here.
 */
export function parseTilePath(path: string): TileAddress {
  const bad = () => new TileError('TILE_PATH_MALFORMED', `${JSON.stringify(path.slice(0, 80))} is not tile/<L>/<N>[.p/<W>]`);
  const parts = path.split('/');
  if (parts[0] !== 'tile' || parts.length < 3) throw bad();
  const level = parts[1]!;
  if (!/^(0|[1-9]\d?)$/.test(level)) throw bad();
  let groups = parts.slice(2);
  let width = TILE_WIDTH;
  const last = groups[groups.length - 1]!;
  if (groups.length >= 2 && groups[groups.length - 2]!.endsWith('.p')) {
    if (!/^([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])$/.test(last)) throw bad();
    width = Number(last);
    groups = [...groups.slice(0, -2), groups[groups.length - 2]!.slice(0, -2)];
  }
  if (groups.length === 0 || !LAST.test(groups[groups.length - 1]!) || !groups.slice(0, -1).every((g) => GROUP.test(g))) throw bad();
  const digits = groups.map((g) => g.replace(/^x/, '')).join('');
  // "x000/123" would be a second spelling of 123
  if (groups.length > 1 && groups[0] === 'x000') throw bad();
  const index = Number(digits);
  if (!Number.isSafeInteger(index)) throw bad();
  return { level: Number(level), index, width };
}

// ---------------------------------------------------------------------------------------------
// Shapes at a tree size

/** Nodes of height 8·level that are complete in a tree of `treeSize` leaves. */
export function nodesAtLevel(level: number, treeSize: number): number {
  return Math.floor(treeSize / TILE_WIDTH ** level);
}

/** How many hashes tile (level, index) holds in a tree of `treeSize` leaves: 0..256. */
export function tileWidthAt(level: number, index: number, treeSize: number): number {
  checkCount(treeSize, 'tree size');
  const nodes = nodesAtLevel(level, treeSize);
  return Math.max(0, Math.min(TILE_WIDTH, nodes - index * TILE_WIDTH));
}

/** The partial tiles at the right edge of a tree of `treeSize` (width 1..255), lowest level first. */
export function rightEdgeTiles(treeSize: number): TileAddress[] {
  checkCount(treeSize, 'tree size');
  const out: TileAddress[] = [];
  for (let level = 0; nodesAtLevel(level, treeSize) > 0; level++) {
    const nodes = nodesAtLevel(level, treeSize);
    const width = nodes % TILE_WIDTH;
    if (width > 0) out.push({ level, index: Math.floor(nodes / TILE_WIDTH), width });
  }
  return out;
}

/**
 * Where the hash of the node of `height` at `index` (the subtree over leaves
 * [index·2^height, (index+1)·2^height)) lives: `span` adjacent entries of one tile from `offset`.
 */
export function nodeTileAddress(height: number, index: number): { level: number; tile: number; offset: number; span: number } {
  checkCount(height, 'node height');
  checkCount(index, 'node index');
  const level = Math.floor(height / TILE_HEIGHT);
  const span = 2 ** (height % TILE_HEIGHT);
  const first = index * span;
  return { level, tile: Math.floor(first / TILE_WIDTH), offset: first % TILE_WIDTH, span };
}

// ---------------------------------------------------------------------------------------------
// Merkle arithmetic over a node reader

/** The hash of the complete subtree of `height` at `index`; throws when the store cannot give it. */
export type NodeReader = (height: number, index: number) => Uint8Array;

/** The root of `span` (a power of two) adjacent hashes: the complete subtree above them. */
export function perfectRoot(hashes: readonly Uint8Array[]): Uint8Array {
  let level = [...hashes];
  while (level.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(hashChildren(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}

function largestPowerOfTwoAtMost(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return k;
}

/** The largest power of two strictly below n (n ≥ 2): RFC 9162's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[start:end]) for a range whose start is a multiple of the largest power of two not above
 * its length — every range RFC 9162's recursions visit. It is the right fold of the complete
 * subtrees the range splits into, largest first, each one node of the tree.
 */
export function rangeHash(start: number, end: number, node: NodeReader): Uint8Array {
  if (end <= start) throw new TileError('TILE_SIZE_INVALID', `empty range [${start}, ${end})`);
  const parts: Uint8Array[] = [];
  let at = start;
  while (at < end) {
    const span = largestPowerOfTwoAtMost(end - at);
    if (at % span !== 0) throw new TileError('TILE_SIZE_INVALID', `range [${start}, ${end}) is not one RFC 9162 visits`);
    parts.push(node(Math.log2(span), at / span));
    at += span;
  }
  let hash = parts.pop()!;
  while (parts.length > 0) hash = hashChildren(parts.pop()!, hash);
  return hash;
}

/** The root of the tree of `treeSize` leaves (EMPTY_ROOT for none). */
export function rootFromNodes(treeSize: number, node: NodeReader): Uint8Array {
  checkCount(treeSize, 'tree size');
  return treeSize === 0 ? Uint8Array.from(EMPTY_ROOT) : Uint8Array.from(rangeHash(0, treeSize, node));
}

/** PATH(index, D[treeSize]) of RFC 9162 §2.1.3.1, from the leaf's sibling up. */
export function inclusionProofFromNodes(index: number, treeSize: number, node: NodeReader): Uint8Array[] {
  checkCount(index, 'leaf index');
  checkCount(treeSize, 'tree size');
  if (index >= treeSize) throw new TileError('TILE_SIZE_INVALID', `leaf index ${index} is not below tree size ${treeSize}`);
  const path: Uint8Array[] = [];
  let start = 0;
  let end = treeSize;
  const siblings: Uint8Array[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      siblings.push(rangeHash(start + k, end, node));
      end = start + k;
    } else {
      siblings.push(rangeHash(start, start + k, node));
      start += k;
    }
  }
  // found top-down; the proof lists them bottom-up
  for (let i = siblings.length - 1; i >= 0; i--) path.push(Uint8Array.from(siblings[i]!));
  return path;
}

/** PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1; empty for size1 = 0 and size1 = size2. */
export function consistencyProofFromNodes(size1: number, size2: number, node: NodeReader): Uint8Array[] {
  checkCount(size1, 'size1');
  checkCount(size2, 'size2');
  if (size1 > size2) throw new TileError('TILE_SIZE_INVALID', `size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const topDown: Uint8Array[] = [];
  let m = size1;
  let start = 0;
  let end = size2;
  let haveRoot = true;
  for (;;) {
    if (m === end - start) {
      if (!haveRoot) topDown.push(rangeHash(start, end, node));
      break;
    }
    const k = splitPoint(end - start);
    if (m <= k) {
      topDown.push(rangeHash(start + k, end, node));
      end = start + k;
    } else {
      topDown.push(rangeHash(start, start + k, node));
      m -= k;
      start += k;
      haveRoot = false;
    }
  }
  // SUBPROOF appends each sibling after the deeper part: the deepest hash comes first
  const proof: Uint8Array[] = [];
  for (let i = topDown.length - 1; i >= 0; i--) proof.push(Uint8Array.from(topDown[i]!));
  return proof;
}

// ---------------------------------------------------------------------------------------------
// Tiles in hand

/** Tile contents by tileKey: `width × 32` bytes. */
export type TileSet = Map<string, Uint8Array>;

/** Reads node hashes from tiles in hand; a tile absent or too short to hold the node is a store fault. */
export function tileNodeReader(tiles: TileSet): NodeReader {
  return (height, index) => {
    const { level, tile, offset, span } = nodeTileAddress(height, index);
    const bytes = tiles.get(tileKey(level, tile));
    if (!bytes) throw new TileError('TILE_MISSING', `tile ${tilePath(level, tile)} is not in hand`);
    if (bytes.length % HASH_SIZE !== 0) throw new TileError('TILE_SHORT', `tile ${tilePath(level, tile)} holds ${bytes.length} bytes, not a whole number of hashes`);
    if (bytes.length < (offset + span) * HASH_SIZE) {
      throw new TileError('TILE_SHORT', `tile ${tilePath(level, tile)} holds ${bytes.length / HASH_SIZE} hashes; node ${height}/${index} needs ${offset + span}`);
    }
    const hashes: Uint8Array[] = [];
    for (let i = offset; i < offset + span; i++) hashes.push(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    return perfectRoot(hashes);
  };
}

/**
 * The tiles a computation over nodes will read: runs it once with a reader that only notes where
 * each node lives, so a caller fetches them all in one query before computing for real.
 */
export function tilesRead(compute: (node: NodeReader) => unknown): { level: number; index: number }[] {
  const seen = new Map<string, { level: number; index: number }>();
  const dummy = new Uint8Array(HASH_SIZE);
  compute((height, index) => {
    const { level, tile } = nodeTileAddress(height, index);
    seen.set(tileKey(level, tile), { level, index: tile });
    return dummy;
  });
  return [...seen.values()];
}

// ---------------------------------------------------------------------------------------------
// Integration: appending leaf hashes to the right edge

export interface IntegrationResult {
  treeSize: number;
  rootHash: Uint8Array;
  /** Every tile the new leaves changed or created, with its new contents (full or partial). */
  tiles: { level: number; index: number; hashes: Uint8Array }[];
}

/**
 * Appends `leafHashes` to a tree of `treeSize` whose right-edge partial tiles are `edge`
 * (rightEdgeTiles(treeSize), by tileKey). A tile that fills passes its root up a level. Touches
 * O(new leaves + log n) hashes and never reads a complete tile: the compact range of the tree
 * (the complete subtrees its size decomposes into) is the right-edge tiles themselves.
 */
export function integrate(treeSize: number, edge: TileSet, leafHashes: readonly Uint8Array[]): IntegrationResult {
  checkCount(treeSize, 'tree size');
  const rows: Uint8Array[][] = [];
  const indices: number[] = [];
  for (let level = 0; nodesAtLevel(level, treeSize) > 0 || level === 0; level++) {
    const nodes = nodesAtLevel(level, treeSize);
    indices[level] = Math.floor(nodes / TILE_WIDTH);
    const width = nodes % TILE_WIDTH;
    const bytes = width > 0 ? edge.get(tileKey(level, indices[level])) : undefined;
    if (width > 0 && (!bytes || bytes.length < width * HASH_SIZE)) {
      throw new TileError(bytes ? 'TILE_SHORT' : 'TILE_MISSING', `right-edge tile ${tilePath(level, indices[level], width)} of tree size ${treeSize} is not in hand`);
    }
    rows[level] = [];
    for (let i = 0; i < width; i++) rows[level]!.push(bytes!.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    if (nodes === 0) break;
  }
  const changed = new Map<string, { level: number; index: number; hashes: Uint8Array }>();
  const note = (level: number) => {
    const list = rows[level]!;
    const bytes = new Uint8Array(list.length * HASH_SIZE);
    list.forEach((h, i) => bytes.set(h, i * HASH_SIZE));
    changed.set(tileKey(level, indices[level]!), { level, index: indices[level]!, hashes: bytes });
  };
  const push = (level: number, hash: Uint8Array): void => {
    if (rows[level] === undefined) {
      rows[level] = [];
      indices[level] = 0;
    }
    rows[level]!.push(hash);
    if (rows[level]!.length < TILE_WIDTH) return;
    note(level);
    const full = perfectRoot(rows[level]!);
    rows[level] = [];
    indices[level]!++;
    push(level + 1, full);
  };
  for (const h of leafHashes) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new TileError('TILE_SIZE_INVALID', `a leaf hash is ${h?.length} bytes, want ${HASH_SIZE}`);
    push(0, Uint8Array.from(h));
  }
  const size = treeSize + leafHashes.length;
  // the partial tiles now at the right edge, unless untouched
  for (let level = 0; level < rows.length; level++) {
    if (rows[level]!.length > 0 && leafHashes.length > 0) {
      const key = tileKey(level, indices[level]!);
      const before = edge.get(key);
      if (!before || before.length !== rows[level]!.length * HASH_SIZE) note(level);
    }
  }
  const inHand: TileSet = new Map(edge);
  for (const t of changed.values()) inHand.set(tileKey(t.level, t.index), t.hashes);
  return { treeSize: size, rootHash: rootFromNodes(size, tileNodeReader(inHand)), tiles: [...changed.values()] };
}

/** The right-edge tiles after an integration, from those before it and what it wrote. */
export function edgeAfter(edge: TileSet, result: IntegrationResult): TileSet {
  const inHand: TileSet = new Map(edge);
  for (const t of result.tiles) inHand.set(tileKey(t.level, t.index), t.hashes);
  const next: TileSet = new Map();
  for (const t of rightEdgeTiles(result.treeSize)) {
    const key = tileKey(t.level, t.index);
    const bytes = inHand.get(key);
    if (bytes) next.set(key, bytes);
  }
  return next;
}
