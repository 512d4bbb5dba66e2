import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { consistencyProof, hashLeaf, inclusionProof, merkleRoot, verifyConsistency, verifyInclusion } from '../../services/evidence/merkle';
import {
  TILE_WIDTH,
  TileError,
  consistencyProofFromNodes,
  edgeAfter,
  encodeTileIndex,
  inclusionProofFromNodes,
  integrate,
  nodeTileAddress,
  parseTilePath,
  rightEdgeTiles,
  rootFromNodes,
  tileKey,
  tileNodeReader,
  tilePath,
  tileWidthAt,
  tilesRead,
  type TileSet,
} from '../../services/evidence/tiles';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function leafHashes(n: number, salt = 'tiles'): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => hashLeaf(createHash('sha256').update(`${salt}:${i}`).digest()));
}

/** Integrates `hashes` in steps of the given sizes, as the sequencer does; every tile ever written, latest contents. */
function build(hashes: Uint8Array[], steps: number[]): { tiles: TileSet; root: Uint8Array; edge: TileSet } {
  const tiles: TileSet = new Map();
  let edge: TileSet = new Map();
  let size = 0;
  let root = merkleRoot([]);
  let s = 0;
  while (size < hashes.length) {
    const step = Math.min(steps[s++ % steps.length]!, hashes.length - size);
    const r = integrate(size, edge, hashes.slice(size, size + step));
    for (const t of r.tiles) {
      const before = tiles.get(tileKey(t.level, t.index));
      // tiles only grow: what was written stays a prefix
      if (before) assert.equal(hex(t.hashes.subarray(0, before.length)), hex(before), `tile ${t.level}/${t.index} rewrote a hash`);
      tiles.set(tileKey(t.level, t.index), t.hashes);
    }
    edge = edgeAfter(edge, r);
    size = r.treeSize;
    root = r.rootHash;
  }
  return { tiles, root, edge };
}

describe('evidence/tiles (C2SP tlog-tiles)', () => {
  describe('paths', () => {
    it('encodes N in 3-digit groups, all but the last x-prefixed (the spec’s example 1234067)', () => {
      assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
      assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
      assert.equal(tilePath(1, 1234067, 8), 'tile/1/x001/x234/067.p/8');
      assert.equal(tilePath(2, 0), 'tile/2/000');
      assert.equal(tilePath(0, 999, 255), 'tile/0/999.p/255');
      assert.equal(tilePath(0, 1000), 'tile/0/x001/000');
    });

    it('parses exactly the spelling it writes, and nothing else', () => {
      for (const [level, index, width] of [
        [0, 0, 256],
        [0, 1234067, 8],
        [3, 1000, 1],
        [1, 999999, 255],
      ] as const) {
        assert.deepEqual(parseTilePath(tilePath(level, index, width)), { level, index, width });
      }
      for (const bad of [
        'tile/0/1',
        'tile/00/000',
        'tile/0/x000/001',
        'tile/0/001.p/256',
        'tile/0/001.p/0',
        'tile/0/001.p/08',
        'tile/0/x1/001',
        'tile/entries/000',
        'tile/0/001/',
        'tiles/0/001',
        'tile/0/0001',
        'tile/-1/000',
      ]) {
        assert.throws(() => parseTilePath(bad), (e: unknown) => e instanceof TileError && e.code === 'TILE_PATH_MALFORMED', bad);
      }
    });
  });

  describe('shapes', () => {
    it('widths and right edges of a tree', () => {
      assert.equal(tileWidthAt(0, 0, 300), 256);
      assert.equal(tileWidthAt(0, 1, 300), 44);
      assert.equal(tileWidthAt(0, 2, 300), 0);
      assert.equal(tileWidthAt(1, 0, 300), 1);
      assert.deepEqual(rightEdgeTiles(0), []);
      assert.deepEqual(rightEdgeTiles(256), [{ level: 1, index: 0, width: 1 }]);
      assert.deepEqual(rightEdgeTiles(65536 + 257), [
        { level: 0, index: 257, width: 1 },
        { level: 1, index: 1, width: 1 },
        { level: 2, index: 0, width: 1 },
      ]);
    });

    it('a node of height 8L+r is 2^r adjacent entries of one level-L tile', () => {
      assert.deepEqual(nodeTileAddress(0, 300), { level: 0, tile: 1, offset: 44, span: 1 });
      assert.deepEqual(nodeTileAddress(3, 33), { level: 0, tile: 1, offset: 8, span: 8 });
      assert.deepEqual(nodeTileAddress(8, 5), { level: 1, tile: 0, offset: 5, span: 1 });
      assert.deepEqual(nodeTileAddress(15, 1), { level: 1, tile: 0, offset: 128, span: 128 });
    });
  });

  describe('the RFC 9162 root of the published 8-leaf vectors, from tiles', () => {
    // testonly/constants.go RootHashes of transparency-dev/merkle, over its LeafInputs
    const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => hashLeaf(Buffer.from(h, 'hex')));
    const roots = [
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    it('integrating one leaf at a time gives every published root', () => {
      let edge: TileSet = new Map();
      assert.equal(hex(rootFromNodes(0, tileNodeReader(edge))), roots[0]);
      for (let n = 0; n < 8; n++) {
        const r = integrate(n, edge, [inputs[n]!]);
        assert.equal(hex(r.rootHash), roots[n + 1], `size ${n + 1}`);
        edge = edgeAfter(edge, r);
      }
    });
  });

  describe('against the in-memory RFC 9162 producer (merkle.ts)', () => {
    const sizes = [1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 65535, 65536, 65537, 70000];
    const hashes = leafHashes(70000);
    const built = new Map<number, ReturnType<typeof build>>();
    const tree = (n: number) => {
      if (!built.has(n)) built.set(n, build(hashes.slice(0, n), [1, 7, 256, 300, 5000]));
      return built.get(n)!;
    };

    it('roots agree at every size, whatever the integration steps', () => {
      for (const n of sizes) assert.equal(hex(tree(n).root), hex(merkleRoot(hashes.slice(0, n))), `size ${n}`);
    });

    it('the right-edge tiles alone give the root (the compact range)', () => {
      for (const n of sizes) assert.equal(hex(rootFromNodes(n, tileNodeReader(tree(n).edge))), hex(tree(n).root), `size ${n}`);
    });

    it('inclusion proofs agree and verify, including for earlier tree sizes served by today’s tiles', () => {
      const { tiles } = tree(70000);
      const node = tileNodeReader(tiles);
      for (const n of sizes) {
        const leaves = hashes.slice(0, n);
        const root = merkleRoot(leaves);
        for (const i of [0, 1, Math.floor(n / 2), n - 2, n - 1].filter((i) => i >= 0 && i < n)) {
          const fromTiles = inclusionProofFromNodes(i, n, node);
          if (n <= 1000) assert.deepEqual(fromTiles.map(hex), inclusionProof(i, leaves).map(hex), `leaf ${i} of ${n}`);
          verifyInclusion(i, n, hashes[i]!, fromTiles, root);
        }
      }
    });

    it('consistency proofs agree and verify', () => {
      const node = tileNodeReader(tree(70000).tiles);
      const pairs = [
        [1, 2],
        [3, 257],
        [256, 512],
        [255, 1000],
        [1, 70000],
        [65536, 70000],
        [1000, 65537],
        [70000, 70000],
        [0, 300],
      ] as const;
      for (const [a, b] of pairs) {
        const proof = consistencyProofFromNodes(a, b, node);
        if (b <= 1000) assert.deepEqual(proof.map(hex), consistencyProof(a, hashes.slice(0, b)).map(hex), `${a} → ${b}`);
        verifyConsistency(a, b, proof, merkleRoot(hashes.slice(0, a)), merkleRoot(hashes.slice(0, b)));
      }
    });

    it('a proof reads O(log n) tiles: at most two a level', () => {
      const reads = tilesRead((node) => inclusionProofFromNodes(12345, 70000, node));
      assert.ok(reads.length <= 2 * 3, `${reads.length} tiles`);
      const bundle = tilesRead((node) => [5, 900, 40000, 69999].map((i) => inclusionProofFromNodes(i, 70000, node)));
      assert.ok(bundle.length <= 4 * 2 * 3, `${bundle.length} tiles`);
    });
  });

  describe('fails closed', () => {
    it('a missing or short tile is a store fault, not a wrong hash', () => {
      const { tiles } = build(leafHashes(600), [600]);
      const short: TileSet = new Map(tiles);
      short.set(tileKey(0, 2), tiles.get(tileKey(0, 2))!.subarray(0, 32 * 10));
      assert.throws(() => rootFromNodes(600, tileNodeReader(short)), (e: unknown) => e instanceof TileError && e.code === 'TILE_SHORT');
      const missing: TileSet = new Map(tiles);
      missing.delete(tileKey(1, 0));
      assert.throws(() => inclusionProofFromNodes(3, 600, tileNodeReader(missing)), (e: unknown) => e instanceof TileError && e.code === 'TILE_MISSING');
    });

    it('integration refuses a right edge it was not given', () => {
      const { edge } = build(leafHashes(300), [300]);
      assert.throws(() => integrate(301, edge, leafHashes(1)), (e: unknown) => e instanceof TileError);
      assert.throws(() => integrate(300, new Map(), leafHashes(1)), (e: unknown) => e instanceof TileError && e.code === 'TILE_MISSING');
    });

    it('only full tiles pass their root up', () => {
      const { tiles } = build(leafHashes(TILE_WIDTH - 1), [10]);
      assert.equal([...tiles.keys()].filter((k) => k.startsWith('1/')).length, 0);
    });
  });
});
