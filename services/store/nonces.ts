import type { NonceStore } from '../seal/replay';
import { insertIgnore, type Conn, type Db } from './db';

/**
 * The router's replay guard: an atomic insert on (sender, nonce), never read-then-insert,
 * so two concurrent deliveries of the same nonce cannot both pass.
 */
export class DbNonceStore implements NonceStore {
  constructor(private readonly db: Db, private readonly windowMs: number) {}

  async remember(sender: string, nonce: string, issuedAt: Date, within?: unknown): Promise<boolean> {
    return insertIgnore((within as Conn | undefined) ?? this.db, 'seen_nonces', { sender_id: sender, nonce, issued_at: issuedAt.getTime() }, ['sender_id', 'nonce']);
  }

  /** Nonces older than twice the window can never be replayed past the issued-at check. */
  async prune(now = Date.now()): Promise<number> {
    return this.db('seen_nonces').where('issued_at', '<', now - 2 * this.windowMs).delete();
  }
}

