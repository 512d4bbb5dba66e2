/**
 * A witness: before cosigning a checkpoint it checks the router's signature and that the new
 * tree is an append-only extension of the last one it cosigned (a consistency proof), so the
 * router cannot show one history to the regulator and another to anyone else.
 */
import { verifyConsistency } from './merkle';
import { cosignatureLine, openNote, parseCheckpoint, parseVkey, type NoteSigner } from './note';

export interface WitnessState {
  size: number;
  rootHash: Buffer;
}

export class Witness {
  private readonly router;

  constructor(private readonly signer: NoteSigner, routerVkey: string, private state?: WitnessState) {
    this.router = parseVkey(routerVkey);
  }

  get lastCosigned(): WitnessState | undefined {
    return this.state;
  }

  /** The cosignature line for `note`, given a consistency proof from the last size cosigned. */
  cosign(note: string, proofFromLast: Uint8Array[]): string {
    const { body } = openNote(note, [this.router]);
    const cp = parseCheckpoint(body);
    if (this.state) {
      if (cp.size < this.state.size) throw new Error(`checkpoint size ${cp.size} is smaller than ${this.state.size}, already cosigned`);
      verifyConsistency(this.state.size, cp.size, proofFromLast, this.state.rootHash, cp.rootHash);
    }
    this.state = { size: cp.size, rootHash: cp.rootHash };
    return cosignatureLine(body, this.signer);
  }
}
