/** The report a verification builds: checks passed and failed, each failure with its code. */
import { DzlError } from '../../common/errors';
import type { ErrorCode } from '../../domain/errorCodes';
import type { CheckCode } from './codes';

export interface VerifyCheck {
  check: string;
  ok: boolean;
  /** Set on a failed check: what failed, stable. */
  code?: CheckCode;
  /** The domain error code behind a failure, where a shared check (hop, receipt, route, notice) gave one. */
  cause?: ErrorCode;
  reason?: string;
  leafIndex?: number;
}

export class Checks {
  readonly list: VerifyCheck[] = [];

  pass(check: string, reason?: string, leafIndex?: number): void {
    this.list.push({ check, ok: true, ...(reason !== undefined ? { reason } : {}), ...(leafIndex !== undefined ? { leafIndex } : {}) });
  }

  fail(code: CheckCode, check: string, reason: string, leafIndex?: number, cause?: unknown): void {
    const domain = cause instanceof DzlError ? cause.code : undefined;
    this.list.push({ check, ok: false, code, ...(domain ? { cause: domain } : {}), reason, ...(leafIndex !== undefined ? { leafIndex } : {}) });
  }

  failuresSince(mark: number): number {
    let n = 0;
    for (let i = mark; i < this.list.length; i++) if (!this.list[i]!.ok) n++;
    return n;
  }

  /** Runs one stage; an unexpected exception (a verifier bug, never bad input) fails closed. */
  guard<T>(stage: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.fail('VERIFIER_ERROR', stage, `${stage}: verifier error: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }
}

export class Progress {
  private done = 0;
  private lastReported = 0;
  constructor(
    private readonly total: number,
    private readonly onProgress?: (done: number, total: number) => void,
  ) {}

  advance(units = 1): void {
    this.done = Math.min(this.total, this.done + units);
    if (this.done - this.lastReported >= 50) this.report();
  }

  /** Marks the end of a pass that may have skipped some of its units. */
  reach(units: number): void {
    if (units > this.done) this.advance(units - this.done);
  }

  finish(): void {
    this.done = this.total;
    this.report();
  }

  private report(): void {
    this.lastReported = this.done;
    try {
      this.onProgress?.(this.done, this.total);
    } catch {
      // A progress display that fails must not change the verdict.
    }
  }
}

export function explain(err: unknown): string {
  if (err instanceof DzlError) return `${err.code} — ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
