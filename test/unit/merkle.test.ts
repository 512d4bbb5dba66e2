import { strict as assert } from 'node:assert';
import {
  EMPTY_ROOT,
  EmptyTreeError,
  HashSizeError,
  IndexOutOfRangeError,
  InvalidIntegerError,
  MerkleError,
  ProofLengthError,
  RootMismatchError,
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionProof,
  merkleRoot,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '../../services/evidence/merkle';

// Published RFC 6962 / RFC 9162 test vectors, as used by transparency-dev/merkle
// (testonly/constants.go, proof/verify_test.go, testonly/reference_test.go,
// rfc6962/rfc6962_test.go) and the Certificate Transparency implementations before it.

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function hexes(...texts: string[]): Uint8Array[] {
  return texts.map(hex);
}

const LEAF_INPUTS: Uint8Array[] = hexes(
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
);

const EMPTY_TREE_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Root hash of the tree of the first `size` LEAF_INPUTS, indexed by size (0..8). */
const ROOTS: Uint8Array[] = hexes(
  EMPTY_TREE_HASH,
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
);

/** Hashes of all complete subtrees of the 8-leaf tree: [level][index within level]. */
const NODE_HASHES: Uint8Array[][] = [
  hexes(
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ),
  hexes(
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ),
  hexes(
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ),
  hexes('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'),
];

interface InclusionVector {
  index: number;
  size: number;
  proof: Uint8Array[];
}

// proof/verify_test.go numbers leaves from 1; these are converted to 0-based indices. The
// (0,2), (1,2) and (0,1) cases come from testonly/reference_test.go TestRefInclusionProof.
const INCLUSION_VECTORS: InclusionVector[] = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 2,
    proof: hexes('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'),
  },
  {
    index: 1,
    size: 2,
    proof: hexes('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'),
  },
  {
    index: 0,
    size: 8,
    proof: hexes(
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ),
  },
  {
    index: 5,
    size: 8,
    proof: hexes(
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ),
  },
  {
    index: 2,
    size: 3,
    proof: hexes('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'),
  },
  {
    index: 1,
    size: 5,
    proof: hexes(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ),
  },
];

interface ConsistencyVector {
  size1: number;
  size2: number;
  proof: Uint8Array[];
}

// proof/verify_test.go consistencyProofs (the first four also in the CT C++/Go test suites).
const CONSISTENCY_VECTORS: ConsistencyVector[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: hexes(
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ),
  },
  {
    size1: 6,
    size2: 8,
    proof: hexes(
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ),
  },
  {
    size1: 2,
    size2: 5,
    proof: hexes(
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ),
  },
  {
    size1: 6,
    size2: 7,
    proof: hexes(
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ),
  },
];

// proof/verify_test.go sha256SomeHash: a well-formed hash that is no node of any test tree.
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

const LEAF_HASHES: Uint8Array[] = LEAF_INPUTS.map(hashLeaf);

function leavesOf(size: number): Uint8Array[] {
  return LEAF_HASHES.slice(0, size);
}

function flipBit(proof: Uint8Array[], element: number, byte: number, mask: number): Uint8Array[] {
  return proof.map((hash, i) => {
    if (i !== element) return hash;
    const copy = Uint8Array.from(hash);
    copy[byte]! ^= mask;
    return copy;
  });
}

function assertHexEqual(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(toHex(actual), toHex(expected), message);
}

function assertHexListEqual(actual: Uint8Array[], expected: Uint8Array[], message?: string): void {
  assert.deepEqual(actual.map(toHex), expected.map(toHex), message);
}

/** Asserts that fn throws exactly errorClass, which must carry the given stable code. */
function assertThrowsMerkle(
  fn: () => unknown,
  errorClass: new (...args: never[]) => MerkleError,
  code: string,
  message?: string,
): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof errorClass, `${message ?? ''}: got ${String(err)}, want ${errorClass.name}`);
      assert.ok(err instanceof MerkleError);
      assert.equal(err.code, code);
      return true;
    },
    message,
  );
}

function assertRejected(fn: () => unknown, message: string): void {
  assert.throws(fn, MerkleError, message);
}

describe('evidence/merkle', () => {
  describe('hashing (rfc6962/rfc6962_test.go)', () => {
    it('EMPTY_ROOT is SHA-256 of the empty string', () => {
      assert.equal(toHex(EMPTY_ROOT), EMPTY_TREE_HASH);
    });

    it('hashes the empty leaf as SHA-256(0x00), not as the empty tree', () => {
      assert.equal(
        toHex(hashLeaf(new Uint8Array(0))),
        '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      );
    });

    it('hashes leaf "L123456" as SHA-256(0x00 ‖ data)', () => {
      assert.equal(
        toHex(hashLeaf(Buffer.from('L123456'))),
        '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
      );
    });

    it('hashes node ("N123", "N456") as SHA-256(0x01 ‖ left ‖ right)', () => {
      assert.equal(
        toHex(hashChildren(Buffer.from('N123'), Buffer.from('N456'))),
        'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
      );
    });

    it('hashes the eight test leaves to the published level-0 node hashes', () => {
      assertHexListEqual(LEAF_HASHES, NODE_HASHES[0]!);
    });

    it('separates leaves from nodes and depends on child order', () => {
      const a = hashLeaf(Buffer.from('Hello'));
      const b = hashLeaf(Buffer.from('World'));
      assert.notEqual(toHex(a), toHex(b));
      const node = hashChildren(a, b);
      assert.notEqual(toHex(node), toHex(hashLeaf(Buffer.concat([a, b]))));
      assert.notEqual(toHex(node), toHex(hashChildren(b, a)));
    });

    it('returns plain 32-byte Uint8Arrays', () => {
      const h = hashLeaf(new Uint8Array([1, 2, 3]));
      assert.equal(Object.getPrototypeOf(h), Uint8Array.prototype);
      assert.equal(h.length, 32);
    });
  });

  describe('merkleRoot (testonly/constants.go RootHashes, NodeHashes)', () => {
    it('is EMPTY_ROOT for no leaves', () => {
      assertHexEqual(merkleRoot([]), ROOTS[0]!);
    });

    for (let size = 1; size <= 8; size++) {
      it(`matches the published root for tree size ${size}`, () => {
        assertHexEqual(merkleRoot(leavesOf(size)), ROOTS[size]!);
      });
    }

    it('reproduces every published complete-subtree hash of the 8-leaf tree', () => {
      NODE_HASHES.forEach((level, height) => {
        const width = 1 << height;
        level.forEach((expected, i) => {
          const got = merkleRoot(LEAF_HASHES.slice(i * width, (i + 1) * width));
          assertHexEqual(got, expected, `node at level ${height}, index ${i}`);
        });
      });
    });

    it('rejects a leaf hash that is not 32 bytes', () => {
      const leaves = leavesOf(4);
      leaves[2] = new Uint8Array(31);
      assertThrowsMerkle(() => merkleRoot(leaves), HashSizeError, 'MERKLE_HASH_SIZE');
    });

    it('keeps verifying the empty tree when a caller mutates the exported EMPTY_ROOT', () => {
      EMPTY_ROOT[0]! ^= 0xff;
      try {
        assertHexEqual(merkleRoot([]), ROOTS[0]!);
        verifyConsistency(0, 0, [], ROOTS[0]!, ROOTS[0]!);
        assertThrowsMerkle(
          () => verifyConsistency(0, 3, [], EMPTY_ROOT, ROOTS[3]!),
          RootMismatchError,
          'MERKLE_ROOT_MISMATCH',
        );
      } finally {
        EMPTY_ROOT[0]! ^= 0xff;
      }
      assert.equal(toHex(EMPTY_ROOT), EMPTY_TREE_HASH);
    });
  });

  describe('inclusion proofs', () => {
    for (const v of INCLUSION_VECTORS) {
      it(`produces and verifies the published proof for leaf ${v.index} of ${v.size}`, () => {
        const leaves = leavesOf(v.size);
        assertHexListEqual(inclusionProof(v.index, leaves), v.proof);
        assertHexEqual(
          rootFromInclusionProof(v.index, v.size, LEAF_HASHES[v.index]!, v.proof),
          ROOTS[v.size]!,
        );
        verifyInclusion(v.index, v.size, LEAF_HASHES[v.index]!, v.proof, ROOTS[v.size]!);
      });
    }

    it('produces, for every leaf of the 8-leaf tree, the siblings from the published node table', () => {
      for (let i = 0; i < 8; i++) {
        const expected = [NODE_HASHES[0]![i ^ 1]!, NODE_HASHES[1]![(i >> 1) ^ 1]!, NODE_HASHES[2]![(i >> 2) ^ 1]!];
        assertHexListEqual(inclusionProof(i, LEAF_HASHES), expected, `leaf ${i}`);
      }
    });

    it('verifies a produced proof for every (index, size) up to 8 against the published roots', () => {
      let checked = 0;
      for (let size = 1; size <= 8; size++) {
        for (let index = 0; index < size; index++) {
          const proof = inclusionProof(index, leavesOf(size));
          verifyInclusion(index, size, LEAF_HASHES[index]!, proof, ROOTS[size]!);
          assertHexEqual(rootFromInclusionProof(index, size, LEAF_HASHES[index]!, proof), ROOTS[size]!);
          checked++;
        }
      }
      assert.equal(checked, 36);
    });

    it('rejects every corruption of every proof up to size 8 (proof/verify_test.go probes)', () => {
      for (let size = 1; size <= 8; size++) {
        for (let index = 0; index < size; index++) {
          const leaf = LEAF_HASHES[index]!;
          const root = ROOTS[size]!;
          const proof = inclusionProof(index, leavesOf(size));
          const at = `leaf ${index} of ${size}`;
          for (const wrongIndex of [index - 1, index + 1, index ^ 2]) {
            if (wrongIndex < 0 || wrongIndex === index) continue;
            assertRejected(() => verifyInclusion(wrongIndex, size, leaf, proof, root), `${at}: index ${wrongIndex}`);
          }
          for (const wrongSize of [size * 2, Math.floor(size / 2)]) {
            assertRejected(() => verifyInclusion(index, wrongSize, leaf, proof, root), `${at}: size ${wrongSize}`);
          }
          for (const wrongRoot of [ROOTS[0]!, SOME_HASH, ...ROOTS.filter((_, s) => s !== size && s > 0)]) {
            assertThrowsMerkle(
              () => verifyInclusion(index, size, leaf, proof, wrongRoot),
              RootMismatchError,
              'MERKLE_ROOT_MISMATCH',
              `${at}: wrong root`,
            );
          }
          assertThrowsMerkle(
            () => verifyInclusion(index, size, SOME_HASH, proof, root),
            RootMismatchError,
            'MERKLE_ROOT_MISMATCH',
            `${at}: wrong leaf`,
          );
          assertThrowsMerkle(
            () => verifyInclusion(index, size, leaf, [...proof, root], root),
            ProofLengthError,
            'MERKLE_PROOF_LENGTH',
            `${at}: trailing root`,
          );
          assertThrowsMerkle(
            () => verifyInclusion(index, size, leaf, [root, ...proof], root),
            ProofLengthError,
            'MERKLE_PROOF_LENGTH',
            `${at}: preceding root`,
          );
          if (proof.length > 0) {
            assertThrowsMerkle(
              () => verifyInclusion(index, size, leaf, proof.slice(0, -1), root),
              ProofLengthError,
              'MERKLE_PROOF_LENGTH',
              `${at}: removed component`,
            );
          }
          for (let e = 0; e < proof.length; e++) {
            for (let bit = 0; bit < 8; bit++) {
              assertThrowsMerkle(
                () => verifyInclusion(index, size, leaf, flipBit(proof, e, 0, 1 << bit), root),
                RootMismatchError,
                'MERKLE_ROOT_MISMATCH',
                `${at}: proof[${e}] bit ${bit}`,
              );
            }
          }
        }
      }
    });

    describe('malformed input', () => {
      const proof = INCLUSION_VECTORS[4]!.proof; // leaf 5 of 8
      const leaf = LEAF_HASHES[5]!;
      const root = ROOTS[8]!;

      it('rejects a proof one hash too long', () => {
        assertThrowsMerkle(
          () => verifyInclusion(5, 8, leaf, [...proof, SOME_HASH], root),
          ProofLengthError,
          'MERKLE_PROOF_LENGTH',
        );
      });

      it('rejects a proof one hash too short, and an empty proof', () => {
        assertThrowsMerkle(() => verifyInclusion(5, 8, leaf, proof.slice(1), root), ProofLengthError, 'MERKLE_PROOF_LENGTH');
        assertThrowsMerkle(() => verifyInclusion(5, 8, leaf, [], root), ProofLengthError, 'MERKLE_PROOF_LENGTH');
      });

      it('rejects a non-empty proof for a one-leaf tree', () => {
        assertThrowsMerkle(
          () => verifyInclusion(0, 1, LEAF_HASHES[0]!, [SOME_HASH], ROOTS[1]!),
          ProofLengthError,
          'MERKLE_PROOF_LENGTH',
        );
      });

      it('reports the expected and actual proof lengths', () => {
        assert.throws(
          () => rootFromInclusionProof(5, 8, leaf, proof.slice(1)),
          (err: unknown) => err instanceof ProofLengthError && err.actualLength === 2 && err.expectedLength === 3,
        );
      });

      it('rejects proof hashes of the wrong size', () => {
        for (const size of [0, 31, 33, 64]) {
          const bad = [proof[0]!, new Uint8Array(size), proof[2]!];
          assertThrowsMerkle(() => verifyInclusion(5, 8, leaf, bad, root), HashSizeError, 'MERKLE_HASH_SIZE', `size ${size}`);
        }
      });

      it('rejects a hex string passed where hash bytes belong', () => {
        const asText = toHex(proof[0]!).slice(0, 32) as unknown as Uint8Array;
        assertThrowsMerkle(
          () => verifyInclusion(5, 8, leaf, [asText, proof[1]!, proof[2]!], root),
          HashSizeError,
          'MERKLE_HASH_SIZE',
        );
      });

      it('rejects a leaf hash or root of the wrong size (TestVerifyInclusionSingleEntry)', () => {
        const hash = hashLeaf(Buffer.from('data'));
        verifyInclusion(0, 1, hash, [], hash);
        const empty = new Uint8Array(0);
        assertThrowsMerkle(() => verifyInclusion(0, 1, empty, [], hash), HashSizeError, 'MERKLE_HASH_SIZE');
        assertThrowsMerkle(() => verifyInclusion(0, 1, hash, [], empty), HashSizeError, 'MERKLE_HASH_SIZE');
        assertThrowsMerkle(() => verifyInclusion(0, 1, empty, [], empty), HashSizeError, 'MERKLE_HASH_SIZE');
        assertThrowsMerkle(
          () => verifyInclusion(5, 8, leaf.subarray(0, 31), proof, root),
          HashSizeError,
          'MERKLE_HASH_SIZE',
        );
      });

      it('rejects index >= size', () => {
        for (const [index, size] of [
          [8, 8],
          [9, 8],
          [1, 1],
          [2, 1],
        ] as const) {
          assertThrowsMerkle(
            () => verifyInclusion(index, size, leaf, proof, root),
            IndexOutOfRangeError,
            'MERKLE_INDEX_OUT_OF_RANGE',
            `${index}/${size}`,
          );
        }
      });

      it('rejects size 0 as an empty tree', () => {
        assertThrowsMerkle(() => verifyInclusion(0, 0, SOME_HASH, [], EMPTY_ROOT), EmptyTreeError, 'MERKLE_EMPTY_TREE');
        assertThrowsMerkle(() => rootFromInclusionProof(1, 0, SOME_HASH, []), EmptyTreeError, 'MERKLE_EMPTY_TREE');
      });

      it('rejects negative, fractional, non-finite and beyond-uint64 indices and sizes', () => {
        for (const [index, size] of [
          [-1, 8],
          [5, -8],
          [1.5, 8],
          [5, 8.25],
          [Number.NaN, 8],
          [5, Number.POSITIVE_INFINITY],
          [2 ** 53, 2 ** 60],
          [-1n, 8n],
          [5n, 1n << 64n],
        ] as const) {
          assertThrowsMerkle(
            () => verifyInclusion(index, size, leaf, proof, root),
            InvalidIntegerError,
            'MERKLE_INVALID_INTEGER',
            `${String(index)}/${String(size)}`,
          );
        }
      });

      it('accepts bigint index and size', () => {
        verifyInclusion(5n, 8n, leaf, proof, root);
        assertHexEqual(rootFromInclusionProof(5n, 8n, leaf, proof), root);
      });

      it('handles the largest uint64 tree size without losing precision', () => {
        const size = (1n << 64n) - 1n;
        const index = size - 1n;
        // The last leaf of a 2^64-1 leaf tree has 63 left-subtree siblings above it.
        const fake = Array.from({ length: 63 }, () => SOME_HASH);
        const calculated = rootFromInclusionProof(index, size, leaf, fake);
        assert.equal(calculated.length, 32);
        assertThrowsMerkle(
          () => rootFromInclusionProof(index, size, leaf, fake.slice(1)),
          ProofLengthError,
          'MERKLE_PROOF_LENGTH',
        );
      });

      it('carries both roots on RootMismatchError', () => {
        assert.throws(
          () => verifyInclusion(5, 8, leaf, proof, ROOTS[7]!),
          (err: unknown) =>
            err instanceof RootMismatchError &&
            err instanceof Error &&
            toHex(err.expectedRoot) === toHex(ROOTS[7]!) &&
            toHex(err.calculatedRoot) === toHex(root),
        );
      });

      it('returns a root that is not the caller’s leaf array for a one-leaf tree', () => {
        const single = Uint8Array.from(LEAF_HASHES[0]!);
        const got = rootFromInclusionProof(0, 1, single, []);
        assertHexEqual(got, single);
        got[0]! ^= 1;
        assertHexEqual(single, LEAF_HASHES[0]!);
      });
    });

    describe('producer input checks', () => {
      it('refuses an inclusion proof in an empty tree', () => {
        assertThrowsMerkle(() => inclusionProof(0, []), EmptyTreeError, 'MERKLE_EMPTY_TREE');
      });

      it('refuses an index at or past the tree size', () => {
        assertThrowsMerkle(() => inclusionProof(8, LEAF_HASHES), IndexOutOfRangeError, 'MERKLE_INDEX_OUT_OF_RANGE');
        assertThrowsMerkle(() => inclusionProof(1n << 70n, LEAF_HASHES), InvalidIntegerError, 'MERKLE_INVALID_INTEGER');
        assertThrowsMerkle(() => inclusionProof(-1, LEAF_HASHES), InvalidIntegerError, 'MERKLE_INVALID_INTEGER');
      });

      it('refuses leaf hashes of the wrong size', () => {
        const leaves = [...LEAF_HASHES];
        leaves[7] = new Uint8Array(16);
        assertThrowsMerkle(() => inclusionProof(0, leaves), HashSizeError, 'MERKLE_HASH_SIZE');
      });

      it('returns copies, so that mutating a proof does not alter the tree', () => {
        const leaves = LEAF_HASHES.map((h) => Uint8Array.from(h));
        const proof = inclusionProof(0, leaves);
        proof[0]![0]! ^= 0xff;
        assertHexEqual(merkleRoot(leaves), ROOTS[8]!);
      });
    });
  });

  describe('consistency proofs', () => {
    for (const v of CONSISTENCY_VECTORS) {
      it(`produces and verifies the published proof from size ${v.size1} to ${v.size2}`, () => {
        assertHexListEqual(consistencyProof(v.size1, leavesOf(v.size2)), v.proof);
        assertHexEqual(rootFromConsistencyProof(v.size1, v.size2, v.proof, ROOTS[v.size1]!), ROOTS[v.size2]!);
        verifyConsistency(v.size1, v.size2, v.proof, ROOTS[v.size1]!, ROOTS[v.size2]!);
      });
    }

    it('verifies a produced proof for every 0 <= size1 <= size2 <= 8 against the published roots', () => {
      let checked = 0;
      for (let size2 = 0; size2 <= 8; size2++) {
        for (let size1 = 0; size1 <= size2; size1++) {
          const proof = consistencyProof(size1, leavesOf(size2));
          verifyConsistency(size1, size2, proof, ROOTS[size1]!, ROOTS[size2]!);
          if (size1 > 0) {
            assertHexEqual(rootFromConsistencyProof(size1, size2, proof, ROOTS[size1]!), ROOTS[size2]!);
          }
          if (size1 === 0 || size1 === size2) assert.equal(proof.length, 0);
          checked++;
        }
      }
      assert.equal(checked, 45);
    });

    it('rejects every corruption of every non-trivial proof up to size 8 (proof/verify_test.go probes)', () => {
      for (let size2 = 2; size2 <= 8; size2++) {
        for (let size1 = 1; size1 < size2; size1++) {
          const proof = consistencyProof(size1, leavesOf(size2));
          const root1 = ROOTS[size1]!;
          const root2 = ROOTS[size2]!;
          const at = `${size1} -> ${size2}`;
          const probes: Array<[string, () => void]> = [
            ['size1 - 1', () => verifyConsistency(size1 - 1, size2, proof, root1, root2)],
            ['size1 + 1', () => verifyConsistency(size1 + 1, size2, proof, root1, root2)],
            ['size1 ^ 2', () => verifyConsistency(size1 ^ 2, size2, proof, root1, root2)],
            ['size2 * 2', () => verifyConsistency(size1, size2 * 2, proof, root1, root2)],
            ['size2 / 2', () => verifyConsistency(size1, Math.floor(size2 / 2), proof, root1, root2)],
            ['wrong root1', () => verifyConsistency(size1, size2, proof, SOME_HASH, root2)],
            ['wrong root2', () => verifyConsistency(size1, size2, proof, root1, SOME_HASH)],
            ['swapped roots', () => verifyConsistency(size1, size2, proof, root2, root1)],
            ['empty proof', () => verifyConsistency(size1, size2, [], root1, root2)],
            ['trailing root1', () => verifyConsistency(size1, size2, [...proof, root1], root1, root2)],
            ['trailing root2', () => verifyConsistency(size1, size2, [...proof, root2], root1, root2)],
            ['preceding root1', () => verifyConsistency(size1, size2, [root1, ...proof], root1, root2)],
            ['preceding root2', () => verifyConsistency(size1, size2, [root2, ...proof], root1, root2)],
            ['preceding proof[0]', () => verifyConsistency(size1, size2, [proof[0]!, ...proof], root1, root2)],
            ['truncated proof', () => verifyConsistency(size1, size2, proof.slice(0, -1), root1, root2)],
          ];
          for (const [desc, probe] of probes) {
            if (desc === 'size1 ^ 2' && (size1 ^ 2) === size1) continue;
            assertRejected(probe, `${at}: ${desc}`);
          }
          for (let e = 0; e < proof.length; e++) {
            for (let bit = 0; bit < 8; bit++) {
              assertThrowsMerkle(
                () => verifyConsistency(size1, size2, flipBit(proof, e, 0, 1 << bit), root1, root2),
                RootMismatchError,
                'MERKLE_ROOT_MISMATCH',
                `${at}: proof[${e}] bit ${bit}`,
              );
            }
          }
        }
      }
    });

    describe('trivial and malformed cases (TestVerifyConsistency)', () => {
      const proof = CONSISTENCY_VECTORS[2]!.proof; // 6 -> 8

      it('accepts equal sizes with equal roots and an empty proof', () => {
        verifyConsistency(1, 1, [], ROOTS[1]!, ROOTS[1]!);
        verifyConsistency(8, 8, [], ROOTS[8]!, ROOTS[8]!);
        verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT);
        assertHexEqual(rootFromConsistencyProof(5, 5, [], ROOTS[5]!), ROOTS[5]!);
      });

      it('rejects equal sizes with different roots', () => {
        assertThrowsMerkle(() => verifyConsistency(1, 1, [], ROOTS[1]!, ROOTS[2]!), RootMismatchError, 'MERKLE_ROOT_MISMATCH');
        assertThrowsMerkle(() => verifyConsistency(0, 0, [], EMPTY_ROOT, ROOTS[1]!), RootMismatchError, 'MERKLE_ROOT_MISMATCH');
      });

      it('rejects equal sizes with a non-empty proof', () => {
        for (const size of [0, 1, 8]) {
          assertThrowsMerkle(
            () => verifyConsistency(size, size, [EMPTY_ROOT], ROOTS[size]!, ROOTS[size]!),
            ProofLengthError,
            'MERKLE_PROOF_LENGTH',
            `size ${size}`,
          );
        }
      });

      it('treats the empty tree as consistent with any tree, given an empty proof', () => {
        for (let size2 = 0; size2 <= 8; size2++) verifyConsistency(0, size2, [], EMPTY_ROOT, ROOTS[size2]!);
        verifyConsistency(0n, 1n << 40n, [], EMPTY_ROOT, SOME_HASH);
      });

      it('rejects a non-empty proof from the empty tree', () => {
        assertThrowsMerkle(
          () => verifyConsistency(0, 1, [EMPTY_ROOT], EMPTY_ROOT, ROOTS[1]!),
          ProofLengthError,
          'MERKLE_PROOF_LENGTH',
        );
      });

      it('rejects a size-0 root1 other than the empty-tree hash', () => {
        assertThrowsMerkle(() => verifyConsistency(0, 3, [], ROOTS[1]!, ROOTS[3]!), RootMismatchError, 'MERKLE_ROOT_MISMATCH');
      });

      it('cannot derive root2 from the empty tree', () => {
        assertThrowsMerkle(() => rootFromConsistencyProof(0, 5, [], EMPTY_ROOT), EmptyTreeError, 'MERKLE_EMPTY_TREE');
      });

      it('rejects size1 > size2 (time travel to the past)', () => {
        for (const [size1, size2] of [
          [1, 0],
          [2, 1],
          [8, 6],
        ] as const) {
          assertThrowsMerkle(
            () => verifyConsistency(size1, size2, [], ROOTS[size1]!, ROOTS[size2]!),
            IndexOutOfRangeError,
            'MERKLE_INDEX_OUT_OF_RANGE',
            `${size1} -> ${size2}`,
          );
          assertThrowsMerkle(
            () => rootFromConsistencyProof(size1, size2, [], ROOTS[size1]!),
            IndexOutOfRangeError,
            'MERKLE_INDEX_OUT_OF_RANGE',
          );
        }
      });

      it('rejects an empty proof between different non-zero sizes', () => {
        assertThrowsMerkle(() => verifyConsistency(1, 2, [], ROOTS[1]!, ROOTS[2]!), ProofLengthError, 'MERKLE_PROOF_LENGTH');
      });

      it('rejects a proof one hash too long or too short', () => {
        assertThrowsMerkle(
          () => verifyConsistency(6, 8, [...proof, SOME_HASH], ROOTS[6]!, ROOTS[8]!),
          ProofLengthError,
          'MERKLE_PROOF_LENGTH',
        );
        assertThrowsMerkle(
          () => verifyConsistency(6, 8, proof.slice(0, 2), ROOTS[6]!, ROOTS[8]!),
          ProofLengthError,
          'MERKLE_PROOF_LENGTH',
        );
      });

      it('rejects hashes of the wrong size in the proof and in either root', () => {
        assertThrowsMerkle(
          () => verifyConsistency(6, 8, [proof[0]!, new Uint8Array(31), proof[2]!], ROOTS[6]!, ROOTS[8]!),
          HashSizeError,
          'MERKLE_HASH_SIZE',
        );
        assertThrowsMerkle(
          () => verifyConsistency(6, 8, proof, ROOTS[6]!.subarray(1), ROOTS[8]!),
          HashSizeError,
          'MERKLE_HASH_SIZE',
        );
        assertThrowsMerkle(
          () => verifyConsistency(6, 8, proof, ROOTS[6]!, new Uint8Array(33)),
          HashSizeError,
          'MERKLE_HASH_SIZE',
        );
        assertThrowsMerkle(
          () => verifyConsistency(3, 3, [], new Uint8Array(0), new Uint8Array(0)),
          HashSizeError,
          'MERKLE_HASH_SIZE',
        );
      });

      it('rejects negative and fractional sizes', () => {
        assertThrowsMerkle(() => verifyConsistency(-1, 8, proof, ROOTS[6]!, ROOTS[8]!), InvalidIntegerError, 'MERKLE_INVALID_INTEGER');
        assertThrowsMerkle(() => verifyConsistency(6, 8.5, proof, ROOTS[6]!, ROOTS[8]!), InvalidIntegerError, 'MERKLE_INVALID_INTEGER');
        assertThrowsMerkle(() => consistencyProof(-1, LEAF_HASHES), InvalidIntegerError, 'MERKLE_INVALID_INTEGER');
      });

      it('reports which root failed', () => {
        assert.throws(
          () => verifyConsistency(6, 8, proof, SOME_HASH, ROOTS[8]!),
          (err: unknown) => err instanceof RootMismatchError && err.what === 'root1',
        );
        assert.throws(
          () => verifyConsistency(6, 8, proof, ROOTS[6]!, SOME_HASH),
          (err: unknown) =>
            err instanceof RootMismatchError && err.what === 'root2' && toHex(err.calculatedRoot) === toHex(ROOTS[8]!),
        );
      });

      it('accepts bigint sizes', () => {
        verifyConsistency(6n, 8n, proof, ROOTS[6]!, ROOTS[8]!);
      });

      it('producer refuses size1 beyond the tree and returns empty proofs at the ends', () => {
        assertThrowsMerkle(() => consistencyProof(9, LEAF_HASHES), IndexOutOfRangeError, 'MERKLE_INDEX_OUT_OF_RANGE');
        assert.deepEqual(consistencyProof(0, LEAF_HASHES), []);
        assert.deepEqual(consistencyProof(8, LEAF_HASHES), []);
        assert.deepEqual(consistencyProof(0, []), []);
      });
    });
  });

  describe('error classes', () => {
    it('all extend MerkleError and Error with stable codes and names', () => {
      const cases: Array<[MerkleError, string, string]> = [
        [new HashSizeError('x', 1), 'MERKLE_HASH_SIZE', 'HashSizeError'],
        [new ProofLengthError(1, 2), 'MERKLE_PROOF_LENGTH', 'ProofLengthError'],
        [new IndexOutOfRangeError('x'), 'MERKLE_INDEX_OUT_OF_RANGE', 'IndexOutOfRangeError'],
        [new RootMismatchError('root', SOME_HASH, EMPTY_ROOT), 'MERKLE_ROOT_MISMATCH', 'RootMismatchError'],
        [new EmptyTreeError('x'), 'MERKLE_EMPTY_TREE', 'EmptyTreeError'],
        [new InvalidIntegerError('x'), 'MERKLE_INVALID_INTEGER', 'InvalidIntegerError'],
      ];
      for (const [err, code, name] of cases) {
        assert.ok(err instanceof MerkleError);
        assert.ok(err instanceof Error);
        assert.equal(err.code, code);
        assert.equal(err.name, name);
      }
    });
  });

  describe('property: random trees up to 300 leaves', () => {
    // Seeded so that a failure reproduces; the seed is in the test title.
    const SEED = 0x9162;

    function prng(seed: number): () => number {
      let state = seed >>> 0;
      return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }

    const random = prng(SEED);
    const randomInt = (bound: number): number => Math.floor(random() * bound);
    const randomBytes = (length: number): Uint8Array => Uint8Array.from({ length }, () => randomInt(256));
    const randomMask = (): number => 1 << randomInt(8);

    const sizes = [1, 2, 3, 5, 127, 128, 129, 255, 256, 257, 300];
    for (let i = 0; i < 5; i++) sizes.push(1 + randomInt(300));

    for (const size of sizes) {
      it(`tree of ${size} leaves (seed ${SEED}): every proof verifies and every byte flip fails`, () => {
        const leaves = Array.from({ length: size }, () => hashLeaf(randomBytes(randomInt(40))));
        const prefixRoots = Array.from({ length: size + 1 }, (_, s) => merkleRoot(leaves.slice(0, s)));
        const root = prefixRoots[size]!;
        const fullByteIndices = new Set(Array.from({ length: 3 }, () => randomInt(size)));

        for (let index = 0; index < size; index++) {
          const proof = inclusionProof(index, leaves);
          verifyInclusion(index, size, leaves[index]!, proof, root);
          assertHexEqual(rootFromInclusionProof(BigInt(index), BigInt(size), leaves[index]!, proof), root);
          for (let e = 0; e < proof.length; e++) {
            // One random byte of every element for every proof; every byte for a few proofs.
            const bytes = fullByteIndices.has(index) ? Array.from({ length: 32 }, (_, b) => b) : [randomInt(32)];
            for (const b of bytes) {
              assertThrowsMerkle(
                () => verifyInclusion(index, size, leaves[index]!, flipBit(proof, e, b, randomMask()), root),
                RootMismatchError,
                'MERKLE_ROOT_MISMATCH',
                `inclusion ${index}/${size} proof[${e}] byte ${b}`,
              );
            }
          }
          assertThrowsMerkle(
            () => verifyInclusion(index, size, leaves[index]!, [...proof, SOME_HASH], root),
            ProofLengthError,
            'MERKLE_PROOF_LENGTH',
          );
        }

        const fullByteSizes = new Set(Array.from({ length: 3 }, () => 1 + randomInt(size)));
        for (let size1 = 0; size1 <= size; size1++) {
          const proof = consistencyProof(size1, leaves);
          verifyConsistency(size1, size, proof, prefixRoots[size1]!, root);
          if (size1 > 0) assertHexEqual(rootFromConsistencyProof(size1, size, proof, prefixRoots[size1]!), root);
          for (let e = 0; e < proof.length; e++) {
            const bytes = fullByteSizes.has(size1) ? Array.from({ length: 32 }, (_, b) => b) : [randomInt(32)];
            for (const b of bytes) {
              assertThrowsMerkle(
                () => verifyConsistency(size1, size, flipBit(proof, e, b, randomMask()), prefixRoots[size1]!, root),
                RootMismatchError,
                'MERKLE_ROOT_MISMATCH',
                `consistency ${size1}->${size} proof[${e}] byte ${b}`,
              );
            }
          }
          if (size1 > 0 && size1 < size) {
            assertThrowsMerkle(
              () => verifyConsistency(size1, size, proof.slice(1), prefixRoots[size1]!, root),
              ProofLengthError,
              'MERKLE_PROOF_LENGTH',
            );
          }
        }
      }).timeout(60_000);
    }
  });
});
