/**
 * Structured logs (pino). Log ids, codes and counts — never a field value: hops are sealed and
 * the logger never sees a plaintext value, and `redact` is the second wall should one slip in.
 * A line written within an application's flow carries its id and the trace's (common/tracing.ts),
 * so one application's lines are found across the router, the workers and the parties.
 */
import pino from 'pino';
import { logCorrelation } from './tracing';

export type Logger = pino.Logger;

export function createLogger(name: string, destination?: string): Logger {
  return pino(
    {
      name,
      level: process.env.DZL_LOG_LEVEL ?? 'info',
      // trace_id, span_id and the application's id on every line written within its flow
      mixin: logCorrelation,
      redact: { paths: ['*.fields', '*.ciphertext', 'fields', 'ciphertext', 'body', '*.body'], censor: '[sealed]' },
    },
    destination ? pino.destination({ dest: destination, sync: false, mkdir: true }) : pino.destination(2),
  );
}
