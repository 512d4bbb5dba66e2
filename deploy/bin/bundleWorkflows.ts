/**
 * `make build`: bundles the workflow code once into dist/workflow-bundle.js (with a manifest of
 * what it was built from), so that `dzl worker` starts polling without bundling first (3–31 s
 * measured on this machine). A worker that finds the bundle stale bundles at start instead.
 */
import { TRACED_WORKFLOW_BUNDLE_PATH, WORKFLOW_BUNDLE_PATH, writeWorkflowBundle } from '../../services/runtime/stack';

const started = Date.now();
// two bundles: without and with the OpenTelemetry workflow interceptors (a worker with tracing on loads the second)
Promise.all([writeWorkflowBundle(WORKFLOW_BUNDLE_PATH, false), writeWorkflowBundle(TRACED_WORKFLOW_BUNDLE_PATH, true)])
  .then((written) => {
    for (const { path, bytes } of written) process.stdout.write(`workflow bundle: ${path} (${(bytes / 1024).toFixed(0)} KiB)\n`);
    process.stdout.write(`bundled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  })
  .catch((err: unknown) => {
    process.stderr.write(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
