/** The system `openssl` (3.x), an implementation of SM2, SM3 and SM4 that dzl did not write. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DISTID = 'distid:1234567812345678';

export function openssl(args: string[], input?: Uint8Array): Buffer {
  try {
    return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; status?: number };
    throw new Error(`openssl ${args.join(' ')} exited ${String(e.status)}: ${e.stderr?.toString().trim() ?? ''}`);
  }
}

/** Whether the command succeeds (a verification), without its output. */
export function opensslSucceeds(args: string[], input?: Uint8Array): boolean {
  try {
    openssl(args, input);
    return true;
  } catch {
    return false;
  }
}

/** Writes `bytes` to `dir/name` and returns the path, for openssl's file arguments. */
export function put(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
