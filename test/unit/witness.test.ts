import { strict as assert } from 'node:assert';
import { consistencyProof, hashLeaf, merkleRoot } from '../../services/evidence/merkle';
import { SIG_COSIGNATURE_V1, acceptCosignature, checkpointBody, generateNoteKey, openNote, signNote } from '../../services/evidence/note';
import { Witness, WitnessError } from '../../services/evidence/witness';

describe('evidence/witness', () => {
  const router = generateNoteKey('dzl.test/router').signer;
  const witnessKey = generateNoteKey('dzl.test/witness', SIG_COSIGNATURE_V1).signer;
  const leaves = Array.from({ length: 20 }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
  const note = (origin: string, size: number) => signNote(checkpointBody({ origin, size, rootHash: Buffer.from(merkleRoot(leaves.slice(0, size))) }), router);

  it('cosigns append-only growth of the log it follows, with a line the log accepts', () => {
    const w = new Witness(witnessKey, router.vkey, undefined, 'dzl.test/evidence');
    const first = w.cosign(note('dzl.test/evidence', 5), []);
    const body = checkpointBody({ origin: 'dzl.test/evidence', size: 5, rootHash: Buffer.from(merkleRoot(leaves.slice(0, 5))) });
    assert.equal(acceptCosignature(body, first, witnessKey).line, first);
    const second = w.cosign(note('dzl.test/evidence', 20), consistencyProof(5, leaves));
    assert.deepEqual(openNote(note('dzl.test/evidence', 20) + second, [router, witnessKey]).verifiedBy.length, 2);
  });

  it('pins the origin: a checkpoint of another log under the same key is not cosigned', () => {
    const w = new Witness(witnessKey, router.vkey, undefined, 'dzl.test/evidence');
    assert.throws(() => w.cosign(note('dzl.test/another-log', 5), []), (e: unknown) => e instanceof WitnessError && e.code === 'WITNESS_ORIGIN_MISMATCH');
    assert.equal(w.lastCosigned, undefined);
  });

  it('refuses a smaller tree than one it cosigned', () => {
    const w = new Witness(witnessKey, router.vkey);
    w.cosign(note('dzl.test/evidence', 10), []);
    assert.throws(() => w.cosign(note('dzl.test/evidence', 9), []), (e: unknown) => e instanceof WitnessError && e.code === 'WITNESS_SIZE_REGRESSED');
  });
});
