/**
 * A witness: before cosigning a checkpoint it checks the router's signature, the log's origin (when
 * it is configured with one, as a C2SP witness is), and that the new tree is an append-only
 * extension of the last one it cosigned (a consistency proof), so the router cannot show one
 * history to the regulator and another to anyone else.
 */
import { verifyConsistency } from './merkle';
import { cosignatureLine, openNote, parseCheckpoint, parseVkey, type NoteSigner } from './note';

export interface WitnessState {
  size: number;
  rootHash: Buffer;
}

export type WitnessErrorCode = 'WITNESS_ORIGIN_MISMATCH' | 'WITNESS_SIZE_REGRESSED';

export class WitnessError extends Error {
  override readonly name = 'WitnessError';
  constructor(
    readonly code: WitnessErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class Witness {
  private readonly router;

  constructor(
    private readonly signer: NoteSigner,
    routerVkey: string,
    private state?: WitnessState,
    private readonly origin?: string,
  ) {
    this.router = parseVkey(routerVkey);
  }

  get lastCosigned(): WitnessState | undefined {
    return this.state;
  }

  /** The cosignature line for `note`, given a consistency proof from the last size cosigned. */
  cosign(note: string, proofFromLast: Uint8Array[]): string {
    const { body } = openNote(note, [this.router]);
    const cp = parseCheckpoint(body);
    if (this.origin !== undefined && cp.origin !== this.origin) {
      throw new WitnessError('WITNESS_ORIGIN_MISMATCH', `checkpoint of ${JSON.stringify(cp.origin)}, not of the log ${JSON.stringify(this.origin)} this witness follows`);
    }
    if (this.state) {
      if (cp.size < this.state.size) throw new WitnessError('WITNESS_SIZE_REGRESSED', `checkpoint size ${cp.size} is smaller than ${this.state.size}, already cosigned`);
      verifyConsistency(this.state.size, cp.size, proofFromLast, this.state.rootHash, cp.rootHash);
    }
    this.state = { size: cp.size, rootHash: cp.rootHash };
    return cosignatureLine(body, this.signer);
  }
}
