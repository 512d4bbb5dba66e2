import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ERROR_CODES } from '../../services/common/errors';
import { ROOT } from '../support/env';

/** The error codes a platform engineer reads in the contracts are the ones the code returns. */
describe('the published error codes', () => {
  const openapi = readFileSync(join(ROOT, 'contracts', 'openapi.yaml'), 'utf8');
  const envelope = readFileSync(join(ROOT, 'contracts', 'envelope.md'), 'utf8');

  it('openapi.yaml maps every code to the HTTP and gRPC status the code uses, and lists no other', () => {
    const block = openapi.slice(openapi.indexOf('x-dzl-status:'));
    const published = new Map<string, { http: number; grpc: string }>();
    for (const m of block.matchAll(/^\s+([A-Z][A-Z0-9_]+): \{ http: (\d+), grpc: ([A-Z_]+) \}$/gm)) published.set(m[1]!, { http: Number(m[2]), grpc: m[3]! });
    assert.deepEqual([...published.keys()].sort(), Object.keys(ERROR_CODES).sort());
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      assert.deepEqual(published.get(code), { http: spec.http, grpc: GrpcStatus[spec.grpc] }, code);
    }
  });

  it('envelope.md’s table of codes names every code', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !envelope.includes(`| \`${c}\` |`));
    assert.deepEqual(missing, []);
  });
});
