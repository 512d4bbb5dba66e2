/**
 * The contracts generate cleanly in other languages (issue 11 item 5): protoc, from
 * contracts/proto alone, makes Go (protoc-gen-go, built from the module proxy into .tools/bin by
 * `make proto-tools`) and Java (Debian's protoc and protobuf-java) that compile.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, tempDir } from '../support/env';

const run = promisify(execFile);
const PROTO_DIR = join(ROOT, 'contracts', 'proto');
const PROTOS = readdirSync(join(PROTO_DIR, 'dzl', 'v1')).filter((f) => f.endsWith('.proto')).map((f) => `dzl/v1/${f}`);
const PROTOC_GEN_GO = join(ROOT, '.tools', 'bin', 'protoc-gen-go');
const PROTOBUF_JAR = '/usr/share/java/protobuf.jar';

const filesUnder = (dir: string, ext: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => join(dir, f));

describe('contracts/proto generate and compile in Go and Java', function () {
  this.timeout(300_000);

  it('Go: protoc-gen-go output builds and vets as the module its go_package names', async () => {
    const out = tempDir('proto-go');
    for (const f of ['go.mod', 'go.sum', 'doc.go']) copyFileSync(join(ROOT, 'test', 'interop', 'proto-go', f), join(out, f));
    await run('protoc', ['-I', PROTO_DIR, `--plugin=protoc-gen-go=${PROTOC_GEN_GO}`, `--go_out=${out}`, '--go_opt=module=dzl.dev/contracts/gen/go', ...PROTOS], { cwd: ROOT });
    const generated = filesUnder(join(out, 'dzl', 'v1'), '.pb.go');
    assert.equal(generated.length, PROTOS.length, generated.join(', '));
    await run('go', ['vet', './...'], { cwd: out, env: { ...process.env, GOFLAGS: '-buildvcs=false' } });
    await run('go', ['build', './...'], { cwd: out, env: { ...process.env, GOFLAGS: '-buildvcs=false' } });
  });

  it('Java: protoc --java_out compiles with protobuf-java into the java_package', async () => {
    const out = tempDir('proto-java');
    await run('protoc', ['-I', PROTO_DIR, `--java_out=${out}`, ...PROTOS], { cwd: ROOT });
    const sources = filesUnder(out, '.java');
    assert.ok(sources.length > PROTOS.length && sources.every((f) => f.includes(join('dev', 'dzl', 'contracts', 'v1'))), `${sources.length} sources`);
    await run('javac', ['-nowarn', '-cp', PROTOBUF_JAR, '-d', join(out, 'classes'), ...sources], { cwd: out, maxBuffer: 16 * 1024 * 1024 });
    assert.ok(filesUnder(join(out, 'classes'), '.class').some((f) => f.endsWith('SealedHop.class')));
  });
});
