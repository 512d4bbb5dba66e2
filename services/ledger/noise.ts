/**
 * Refusals of callers that proved no identity (no valid request signature, a body that cannot be
 * read) are noise anyone can make, as much as they like: they must not grow the regulator's
 * ledger at their will. So they are counted, logged, and appended only as aggregates — one
 * `refusal` leaf per (stage, code) per window, saying how many — so the regulator still sees that
 * and when the router was probed, and the ledger grows by at most a few leaves a minute however
 * hard it is. Refusals of identified parties are evidence one by one (recordRefusal).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/logger';
import type { ErrorCode } from '../domain/errorCodes';
import type { Db } from '../store/db';
import { recordRefusal } from './ledger';

export class UnauthenticatedRefusals {
  private counts = new Map<string, { stage: string; code: ErrorCode; n: number }>();
  private windowStart = Date.now();
  private readonly timer: NodeJS.Timeout;
  /** Names this router's aggregates apart from other routers' on the same store. */
  private readonly instance = randomUUID();

  constructor(private readonly db: Db, private readonly log: Logger, readonly windowMs = 60_000) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), windowMs);
    this.timer.unref();
  }

  /** Counts one refusal; it reaches the ledger with its window's aggregate. */
  note(stage: string, code: ErrorCode): void {
    const key = `${stage}\n${code}`;
    const c = this.counts.get(key) ?? { stage, code, n: 0 };
    c.n++;
    this.counts.set(key, c);
    this.log.info({ stage, code }, 'unauthenticated request refused');
  }

  /** Appends one aggregate leaf per (stage, code) seen in the window now ending. */
  async flush(now = Date.now()): Promise<void> {
    const counts = this.counts;
    const from = this.windowStart;
    this.counts = new Map();
    this.windowStart = now;
    for (const c of counts.values()) {
      await recordRefusal(this.db, {
        code: c.code,
        message: `${c.n} unauthenticated request${c.n === 1 ? '' : 's'} refused between ${new Date(from).toISOString()} and ${new Date(now).toISOString()}`,
        stage: `unauthenticated ${c.stage}`,
        refusedBy: 'router',
        dedupKey: `refusal:unauthenticated:${this.instance}:${from}:${c.stage}:${c.code}`,
      });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
