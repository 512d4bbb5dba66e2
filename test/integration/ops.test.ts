/**
 * The operations endpoints of a router and a worker (issue 14 item 3, in part): health,
 * readiness and Prometheus metrics on their own port, on the real stack (Temporal, gRPC, HTTP,
 * SQLite). Metrics are per process and the test suite runs many networks in one process: every
 * assertion is on a difference before and after.
 */
import { strict as assert } from 'node:assert';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { startOpsServer } from '../../services/runtime/ops';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

/** The value of one series in Prometheus text (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('operations endpoints: health, readiness, Prometheus metrics — real Temporal, HTTP, SQLite', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  before(async () => {
    const store = await freshStore('sqlite', 'ops');
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle() });
  });
  after(async () => net?.close());

  const get = async (base: string, path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
  };

  it('answers healthz and readyz on the router and the worker', async () => {
    for (const base of [net.router.opsUrl, net.worker!.opsUrl]) {
      assert.equal((await get(base, '/healthz')).status, 200);
      const ready = await get(base, '/readyz');
      assert.deepEqual([ready.status, JSON.parse(ready.text)], [200, { status: 'ready' }], base);
    }
  });

  it('counts an application by state, refusals by code, HTTP requests and deliveries — with no id or value in any series', async () => {
    const before = (await get(net.router.opsUrl, '/metrics')).text;
    const app = net.platform.prepare(SAMPLE_CUSTOMERS[0]!.fields, 'bank-hangzhou');
    assert.equal((await net.platform.submit(app)).status, 202);
    await waitForState(net.platform, app.applicationId, ['platform_notified']);
    const bad = await net.platform.request('POST', '/v1/applications', { hop: { header: 'x' } }, { 'idempotency-key': 'ops-bad-1' });
    assert.equal(bad.status, 400);
    const after = await get(net.router.opsUrl, '/metrics');
    assert.match(after.type, /text\/plain/);
    const delta = (series: string) => sample(after.text, series) - sample(before, series);
    assert.ok(delta('dzl_application_states_total{state="accepted"}') >= 1, 'accepted');
    assert.ok(delta('dzl_application_states_total{state="approved"}') >= 1, 'approved');
    assert.ok(delta(`dzl_refusals_total{code="${bad.body.error.code}",stage="intake"}`) >= 1, 'the refusal, by its code');
    assert.ok(delta('dzl_http_request_duration_seconds_count{method="POST",status="2xx"}') >= 1);
    assert.ok(delta('dzl_http_request_duration_seconds_count{method="POST",status="4xx"}') >= 1);
    assert.ok(delta('dzl_delivery_duration_seconds_count{stage="platform",result="answered"}') + delta('dzl_delivery_duration_seconds_count{stage="channel",result="answered"}') >= 1, after.text.split('\n').filter((l) => l.startsWith('dzl_delivery')).join('\n'));
    assert.ok(sample(after.text, 'dzl_log_size') >= 0 && after.text.includes('dzl_checkpoint_age_seconds'));
    assert.ok(after.text.includes('dzl_process_cpu_seconds_total'), 'process metrics beside dzl’s own');
    const customer = SAMPLE_CUSTOMERS[0]!.fields;
    for (const value of [app.applicationId, String(customer['customer.name']), String(customer['customer.idNumber'])]) assert.ok(!after.text.includes(value), `metrics name ${value}`);
  });

  it('says which readiness check fails, with 503', async () => {
    const ops = await startOpsServer({ store: async () => undefined, temporal: () => Promise.reject(new Error('down')) }, async () => undefined);
    try {
      const r = await get(ops.url, '/readyz');
      assert.deepEqual([r.status, JSON.parse(r.text)], [503, { status: 'not ready', failing: ['temporal'] }]);
    } finally {
      await ops.close();
    }
  });
});
