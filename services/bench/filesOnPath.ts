/**
 * How many source files one application passes through, from the platform's POST to the decision
 * callback: V8's precise coverage (function call counts) is reset once the network is up, one
 * application is carried, and every file of services/ whose functions ran is listed — router,
 * worker (its activities) and the reference parties run in this one process. Workflow code runs in
 * Temporal's sandbox, as one bundle; its files are counted from workflows/ as the bundle's
 * sources. `node dist/services/bench/filesOnPath.js` prints the count by folder and the list.
 */
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { join, relative, resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startDevServer } from '../temporal/devServer';
import { SAMPLE_CUSTOMERS } from '../parties/samples';
import { startLocalNetwork, waitForState } from '../runtime/localNetwork';

const ROOT = resolve(__dirname, '..', '..', '..');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dzl-path-'));
  const temporal = await startDevServer(dir);
  const net = await startLocalNetwork({ dbUrl: `sqlite://${join(dir, 'dzl.db')}`, networkDir: join(dir, 'network'), temporalAddress: temporal.address, logFile: join(dir, 'dzl.log') });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  // a first application warms every path; the second is the one counted
  for (const round of ['warm', 'count'] as const) {
    await session.post('Profiler.takePreciseCoverage');
    const app = net.platform.prepare(SAMPLE_CUSTOMERS[0]!.fields, 'bank-hangzhou');
    await net.platform.submit(app);
    await waitForState(net.platform, app.applicationId, ['platform_notified'], 60_000);
    if (round === 'warm') continue;
    const { result } = await session.post('Profiler.takePreciseCoverage');
    const files = new Set<string>();
    for (const script of result) {
      if (!script.url.startsWith('file://')) continue;
      const path = relative(ROOT, fileURLToPath(script.url));
      if (!path.startsWith('dist/services/') || path.startsWith('dist/services/bench/')) continue;
      if (script.functions.some((f) => (f.ranges[0]?.count ?? 0) > 0)) files.add(path.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
    }
    const byFolder = new Map<string, number>();
    for (const f of files) byFolder.set(f.split('/').slice(0, 2).join('/'), (byFolder.get(f.split('/').slice(0, 2).join('/')) ?? 0) + 1);
    process.stdout.write(`${files.size} files in ${byFolder.size} folders of services/ ran for one application (POST /v1/applications to the decision callback)\n`);
    for (const [folder, n] of [...byFolder].sort()) process.stdout.write(`  ${folder}: ${n}\n`);
    for (const f of [...files].sort()) process.stdout.write(`    ${f}\n`);
  }
  await session.post('Profiler.stopPreciseCoverage');
  session.disconnect();
  await net.close();
  await temporal.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
