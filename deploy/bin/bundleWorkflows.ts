/**
 * `make build`: bundles the workflow code once into dist/workflow-bundle.js (with a manifest of
 * what it was built from), so that `dzl worker` starts polling without bundling first (3–31 s
 * measured on this machine). A worker that finds the bundle stale bundles at start instead.
 */
import { writeWorkflowBundle } from '../../services/runtime/stack';

const started = Date.now();
writeWorkflowBundle()
  .then(({ path, bytes }) => process.stdout.write(`workflow bundle: ${path} (${(bytes / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`))
  .catch((err: unknown) => {
    process.stderr.write(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
