import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ScanResult {
  files: number;
  bytes: number;
  hits: { file: string; value: string }[];
}

/**
 * Looks for plaintext values in files (databases, their WAL, logs), as UTF-8 and as the UTF-16
 * some engines use, so that "no personal data at rest" is checked, not assumed.
 */
export function scanForPlaintext(paths: string[], values: string[]): ScanResult {
  const files: string[] = [];
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else files.push(p);
  };
  paths.forEach(walk);
  const needles = values.flatMap((v) => [{ v, b: Buffer.from(v, 'utf8') }, { v, b: Buffer.from(v, 'utf16le') }]);
  const result: ScanResult = { files: files.length, bytes: 0, hits: [] };
  for (const f of files) {
    const data = readFileSync(f);
    result.bytes += data.length;
    for (const n of needles) if (data.includes(n.b)) result.hits.push({ file: f, value: n.v });
  }
  return result;
}
