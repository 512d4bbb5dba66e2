/**
 * What every receiving party does with a hop, once: verify it, refuse replays, open it, and
 * sign a receipt — accepted, or rejected with the code. A redelivery of a hop already handled
 * (same hop id, same header digest) gets the stored answer back, so a retrying router never
 * makes a party act twice.
 */
import { DzlError, toDzlError } from '../common/errors';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { decodeHop, openHop, verifyHop, type HopKind, type OpenedHop, RELAYED_MAX_AGE_MS, type SealedHop } from '../seal/hop';
import { signReceipt, type SignedReceipt } from '../seal/receipt';
import { MemoryNonceStore, type NonceStore } from '../seal/replay';

export interface InboxAnswer<T> {
  receipt: SignedReceipt;
  result?: T;
}

export class PartyInbox<T> {
  private readonly answered = new Map<string, { headerDigest: string; answer: Promise<InboxAnswer<T>> }>();
  /** Hops whose nonce this inbox consumed: their redelivery after a failure of ours is no replay. */
  private readonly consumed = new Map<string, string>();

  constructor(
    private readonly me: PartyIdentity,
    private readonly directory: () => NetworkDirectory,
    private readonly kind: HopKind,
    private readonly maxAgeMs: number = RELAYED_MAX_AGE_MS,
    private readonly nonces: NonceStore = new MemoryNonceStore(maxAgeMs),
  ) {}

  /** Runs `act` on the opened hop at most once per hop id. */
  receive(input: SealedHop | undefined, act: (opened: OpenedHop) => Promise<T>): Promise<InboxAnswer<T>> {
    let hopId: string;
    let headerDigest: string;
    try {
      const d = decodeHop(input);
      hopId = d.header.hopId;
      headerDigest = d.headerDigest;
    } catch (err) {
      return Promise.reject(toDzlError(err));
    }
    const prior = this.answered.get(hopId);
    if (prior) {
      if (prior.headerDigest === headerDigest) return prior.answer;
      return Promise.resolve({ receipt: signReceipt(this.me.signing, { hopId, headerDigest }, 'rejected', 'HOP_REPLAYED') });
    }
    const answer = this.handle(input, hopId, headerDigest, act);
    this.answered.set(hopId, { headerDigest, answer });
    // A failure of our own (not a refusal of the hop) must not be remembered as the answer.
    answer.catch(() => this.answered.delete(hopId));
    return answer;
  }

  /** Drops what this inbox remembers of these hops (their answers), when told to delete them. */
  forget(hopIds: readonly string[]): void {
    for (const id of hopIds) {
      this.answered.delete(id);
      this.consumed.delete(id);
    }
  }

  private async handle(input: unknown, hopId: string, headerDigest: string, act: (o: OpenedHop) => Promise<T>): Promise<InboxAnswer<T>> {
    let opened: OpenedHop;
    try {
      const hop = verifyHop(input, { signerOf: this.directory().signerOf, maxAgeMs: this.maxAgeMs });
      if (hop.header.kind !== this.kind) {
        throw new DzlError('ROUTE_NOT_ALLOWED', `${this.me.partyId} accepts ${this.kind} hops here, not ${hop.header.kind}`);
      }
      const fresh = await this.nonces.remember(hop.header.from, hop.header.nonce, new Date(hop.header.issuedAt));
      if (!fresh && this.consumed.get(hopId) !== headerDigest) {
        throw new DzlError('HOP_REPLAYED', `nonce of hop ${hopId} was already used`);
      }
      this.consumed.set(hopId, headerDigest);
      opened = openHop(hop, this.me.recipient);
    } catch (err) {
      if (!(err instanceof DzlError)) throw err;
      return { receipt: signReceipt(this.me.signing, { hopId, headerDigest }, 'rejected', err.code) };
    }
    let result: T;
    try {
      result = await act(opened);
    } catch (err) {
      // A refusal of the content (a DzlError) is answered with a signed rejection; anything else
      // is our own failure and propagates, so the sender retries — PARTY_UNAVAILABLE too (our own
      // system, a plug-in, did not answer: contracts/parties.md §2).
      if (!(err instanceof DzlError) || err.code === 'PARTY_UNAVAILABLE') throw err;
      return { receipt: signReceipt(this.me.signing, { hopId, headerDigest }, 'rejected', err.code) };
    }
    return { receipt: signReceipt(this.me.signing, { hopId, headerDigest }, 'accepted'), result };
  }
}
