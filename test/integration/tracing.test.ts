/**
 * One trace follows an application (issue 14, item 3) on the real stack — Temporal dev server,
 * mutual-TLS gRPC, HTTP, SQLite: from the platform's request through the router, Temporal's own
 * spans (StartWorkflow, RunWorkflow, StartActivity, RunActivity) and each party's gRPC service,
 * every span naming the application (baggage), none holding a value of the customer's; the
 * worker's log line for the outcome carries the trace and the application.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { inSpan, MemorySpanExporter, startTracing, stopTracing } from '../../services/common/tracing';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { bundleWorkflows } from '../../services/runtime/stack';
import { ensureNetwork, env, temporalAddress } from '../support/env';
import { freshStore } from '../support/stores';
import { until } from '../support/wait';

const CUSTOMER = SAMPLE_CUSTOMERS[0]!.fields;
const BANK = DEV.banks[0]!;

/** The customer's text values (a name is three characters) and long numbers (short ones like 12 would match anything). */
const SECRETS = Object.values(CUSTOMER).flatMap((v) => (typeof v === 'string' && v.length >= 2 ? [v] : typeof v === 'number' && String(v).length >= 6 ? [String(v)] : []));

function text(s: ReadableSpan): string {
  return JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links });
}

describe('traces — one application followed from the platform to each party and back (real Temporal, gRPC mTLS, HTTP)', function () {
  this.timeout(120_000);
  const exporter = new MemorySpanExporter();
  let net: LocalNetwork;

  before(async () => {
    assert.ok(startTracing('dzl-test', exporter), 'this test installs the process’s tracer provider');
    const store = await freshStore('sqlite', 'tracing');
    // the workflows bundled with the Temporal SDK's OpenTelemetry interceptors, as a traced worker loads them
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await bundleWorkflows({ traced: true }) });
  });
  after(async () => {
    await net?.close();
    await stopTracing();
  });

  it('carries one trace from the platform’s request through Temporal to the channel and the bank, naming the application and no value of the customer’s', async () => {
    const app = net.platform.prepare(CUSTOMER, BANK);
    // the platform's own span: its traceparent goes with the request
    const traceId = await inSpan('platform submit', {}, async () => {
      assert.equal((await net.platform.submit(app)).status, 202);
      return trace.getActiveSpan()!.spanContext().traceId;
    });
    await waitForState(net.platform, app.applicationId, ['platform_notified'], 60_000);

    const names = ['HTTP POST /v1/applications', 'StartWorkflow:dataChannelApplication', 'RunWorkflow:dataChannelApplication', '/dzl.v1.ChannelService/', '/dzl.v1.BankService/'];
    const spans = await until('the trace has every stage', () => {
      const mine = exporter.spans.filter((s) => s.spanContext().traceId === traceId);
      return names.every((n) => mine.some((s) => s.name.startsWith(n))) && mine.some((s) => s.name.startsWith('RunActivity:')) ? mine : undefined;
    }, 30_000);

    const byName = (prefix: string) => spans.filter((s) => s.name.startsWith(prefix));
    const intake = byName('HTTP POST /v1/applications')[0]!;
    assert.equal(intake.kind, SpanKind.SERVER);
    assert.equal(intake.attributes['http.status_code'], 202);
    assert.equal(intake.parentSpanId !== undefined, true, 'a child of the platform’s span');
    const channel = byName('/dzl.v1.ChannelService/');
    const bank = byName('/dzl.v1.BankService/');
    assert.ok(channel.every((s) => s.kind === SpanKind.SERVER && s.attributes['dzl.party'] === DEV.channel), 'the channel’s own server spans');
    assert.ok(bank.every((s) => s.kind === SpanKind.SERVER && s.attributes['dzl.party'] === BANK), 'the bank’s own server spans');
    // each party's span is a child of a router's client span of the same trace, over gRPC metadata
    const clients = new Set(spans.filter((s) => s.kind === SpanKind.CLIENT && s.name.startsWith('grpc ')).map((s) => s.spanContext().spanId));
    for (const s of [...channel, ...bank]) assert.ok(clients.has(s.parentSpanId!), `${s.name}: its parent is the worker's gRPC call`);
    // the application's id on every span of ours and on the parties' (trace baggage), never a customer's value
    for (const s of [intake, ...channel, ...bank, ...byName('grpc ')]) assert.equal(s.attributes['dzl.application_id'], app.applicationId, `${s.name} names the application`);
    assert.ok(SECRETS.includes('张晓梅') && SECRETS.length >= 4);
    for (const s of exporter.spans) {
      const t = text(s);
      for (const secret of SECRETS) assert.ok(!t.includes(secret), `span ${s.name} holds a value of the customer's`);
    }

    // the worker's log line for the outcome, correlated by the trace and the application
    const line = await until('the outcome’s log line', () =>
      readFileSync(env.logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'outcome told to the platform' && l.applicationId === app.applicationId),
    );
    assert.equal(line.trace_id, traceId);
  });

  it('exports only allow-listed, id-shaped attributes: a value set by mistake never leaves the process', async () => {
    await inSpan('careless', {}, async (span) => {
      span.setAttributes({ 'customer.name': '张三', 'dzl.code': 'has a space', 'dzl.kind': 'application' });
      span.addEvent('exception', { 'exception.message': 'id E12345678 of ZHANG SAN', 'exception.type': 'Error' });
      span.setStatus({ code: 2, message: 'ZHANG SAN' });
    });
    const s = exporter.spans.find((x) => x.name === 'careless')!;
    assert.deepEqual(s.attributes, { 'dzl.kind': 'application' });
    assert.deepEqual(s.events.map((e) => e.attributes), [{ 'exception.type': 'Error' }]);
    assert.equal(s.status.message, undefined);
    assert.ok(!text(s).includes('ZHANG') && !text(s).includes('张三'));
  });
});
