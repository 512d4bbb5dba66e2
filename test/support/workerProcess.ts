/**
 * A worker in its own process, so a test can kill it with SIGKILL mid-flow as a crash would.
 * argv[2]: JSON {dbUrl, networkDir, temporalAddress, logFile, bundlePath}
 */
import { startWorker } from '../../services/runtime/stack';

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]!) as { dbUrl: string; networkDir: string; temporalAddress: string; logFile: string; bundlePath: string };
  // the test network's parties and callbacks are on loopback, as in startLocalNetwork
  const w = await startWorker({ ...cfg, outbound: { allowPrivateNetworks: true } }, { bundle: { codePath: cfg.bundlePath } });
  process.send?.('ready');
  await w.done;
}

main().catch((err) => {
  process.stderr.write(`worker process failed: ${String(err)}\n`);
  process.exit(1);
});
