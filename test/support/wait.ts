/**
 * Waiting in tests for something another process does: polling with a deadline, never a fixed
 * sleep standing in for a check.
 */

/** Until `probe` gives a value (not undefined, not false), polled every 100 ms. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until `attempt` stops throwing, polled every 250 ms; the last error names why it did not. */
export async function eventually<T>(what: string, attempt: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} within ${ms} ms: ${last instanceof Error ? last.message : String(last)}`);
}
