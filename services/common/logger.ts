/**
 * Structured logs (pino). Log ids, codes and counts — never a field value: hops are sealed and
 * the logger never sees a plaintext value, and `redact` is the second wall should one slip in.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(name: string, destination?: string): Logger {
  return pino(
    {
      name,
      level: process.env.DZL_LOG_LEVEL ?? 'info',
      redact: { paths: ['*.fields', '*.ciphertext', 'fields', 'ciphertext', 'body', '*.body'], censor: '[sealed]' },
    },
    destination ? pino.destination({ dest: destination, sync: false, mkdir: true }) : pino.destination(2),
  );
}
