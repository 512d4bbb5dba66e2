/**
 * Replay protection: a nonce may be used once per sender inside the freshness window; outside
 * it the issued-at check refuses the hop anyway, so nothing older than the window is kept.
 */
export interface NonceStore {
  /**
   * True when (sender, nonce) is new and is now remembered; false when it was already used.
   * `within`: the store's transaction to remember it in, so it commits with the hop or not at all.
   */
  remember(sender: string, nonce: string, issuedAt: Date, within?: unknown): Promise<boolean>;
}

export class MemoryNonceStore implements NonceStore {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number) {}

  async remember(sender: string, nonce: string, issuedAt: Date): Promise<boolean> {
    const now = Date.now();
    if (this.seen.size > 10_000) {
      for (const [k, at] of this.seen) if (now - at > this.windowMs * 2) this.seen.delete(k);
    }
    const key = `${sender}\n${nonce}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, issuedAt.getTime());
    return true;
  }
}
