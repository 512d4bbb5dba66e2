/**
 * OpenTelemetry traces (issue 14, item 3): one trace follows an application from the platform's
 * request through the router, Temporal (the SDK's own interceptors: StartWorkflow, RunWorkflow,
 * StartActivity, RunActivity) and each party's gRPC service, and back. W3C `traceparent` and
 * `baggage` carry it: HTTP headers, Temporal headers, gRPC metadata. The application's id
 * travels as baggage (`dzl.application_id`), so every span and log line on its path names it.
 *
 * No personal data in any span: a span carries ids, codes, kinds and counts only. The wall is
 * `SafeSpanExporter`: whatever an instrumentation (ours or a library's) sets, only attributes of
 * the allow-list with id-shaped values are exported, exception messages and stacks are dropped,
 * and a span name is cut to its route or method. Tracing is off (no-op, no cost) unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, or a test installs
 * an exporter.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const APPLICATION_BAGGAGE = 'dzl.application_id';

/** The attributes a dzl span may carry; anything else is dropped before export. */
const ALLOWED_ATTRIBUTES = new Set([
  'dzl.application_id',
  'dzl.hop_id',
  'dzl.kind',
  'dzl.party',
  'dzl.component',
  'dzl.code',
  'dzl.stage',
  'dzl.outcome',
  'http.method',
  'http.route',
  'http.status_code',
  'rpc.system',
  'rpc.service',
  'rpc.method',
  'rpc.grpc.status_code',
  'exception.type',
  // the Temporal SDK's own
  'temporal.workflow_id',
  'temporal.run_id',
  'temporal.activity_id',
  'temporal.workflow_type',
  'temporal.activity_type',
  'run_id',
]);

/** Id-shaped: letters, digits and the punctuation ids, codes and routes use; no spaces, no free text. */
const ID_SHAPED = /^[A-Za-z0-9_.:\-/@+=]{0,160}$/;

function safeValue(v: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return ID_SHAPED.test(v) ? v : undefined;
  return undefined;
}

export function safeAttributes(a: Attributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(a)) {
    if (!ALLOWED_ATTRIBUTES.has(k)) continue;
    const s = safeValue(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** A span name is a route, a method or a Temporal operation: id-shaped words, at most 120 characters. */
function safeName(name: string): string {
  const words = name.split(/\s+/).filter((w) => ID_SHAPED.test(w));
  return words.join(' ').slice(0, 120) || 'span';
}

/** The export wall: every span leaves with safe attributes, names and events only. */
export class SafeSpanExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.inner.export(spans.map(scrubbed), done);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

function scrubbed(s: ReadableSpan): ReadableSpan {
  const attributes = safeAttributes(s.attributes);
  const events = s.events.map((e) => ({ ...e, name: safeName(e.name), attributes: safeAttributes(e.attributes ?? {}) }));
  // a status message is free text (an error's message): only the code is kept
  const status = { code: s.status.code };
  return Object.assign(Object.create(Object.getPrototypeOf(s) as object) as ReadableSpan, s, { name: safeName(s.name), attributes, events, status, links: [] });
}

/** An exporter that keeps spans in memory (tests; `dzl` processes never use it). */
export class MemorySpanExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.spans.push(...spans);
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Tracing {
  /** Where the Temporal SDK's workflow spans go (the worker's `exporter` sink). */
  processor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });

/**
 * Installs the process's tracer provider once: OTLP over HTTP when the standard environment names
 * an endpoint, `exporter` when given (tests), otherwise nothing (tracing off). Later calls return
 * the first; a process has one provider.
 */
export function startTracing(service: string, exporter?: SpanExporter): Tracing | undefined {
  if (installed) return installed;
  const endpoint = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!exporter && !endpoint) return undefined;
  const inner = exporter ?? new OTLPTraceExporter();
  const safe = new SafeSpanExporter(inner);
  const processor = exporter ? new SimpleSpanProcessor(safe) : new BatchSpanProcessor(safe);
  const resource = new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME ?? service });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({ propagator });
  installed = { processor, resource, shutdown: () => provider.shutdown() };
  return installed;
}

export function tracingInstalled(): Tracing | undefined {
  return installed;
}

/** Uninstalls the provider (tests: the rest of a test run traces nothing). */
export async function stopTracing(): Promise<void> {
  if (!installed) return;
  await installed.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
  installed = undefined;
}

const tracer = () => trace.getTracer('dzl');

/** Runs `work` in a span (a child of the active context, or of `parent`); errors set its status, with the code only. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, opts: { kind?: SpanKind; parent?: Context } = {}): Promise<T> {
  const parent = opts.parent ?? context.active();
  const app = propagation.getBaggage(parent)?.getEntry(APPLICATION_BAGGAGE)?.value;
  return tracer().startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: safeAttributes({ ...(app ? { [APPLICATION_BAGGAGE]: app } : {}), ...attributes }) }, parent, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttributes(safeAttributes({ 'exception.type': err instanceof Error ? err.name : 'Error', ...(typeof code === 'string' ? { 'dzl.code': code } : {}) }));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The context with the application's id as baggage: every span and log line after names it. */
export function withApplication(applicationId: string, ctx: Context = context.active()): Context {
  const bag = (propagation.getBaggage(ctx) ?? propagation.createBaggage()).setEntry(APPLICATION_BAGGAGE, { value: applicationId });
  trace.getActiveSpan()?.setAttribute(APPLICATION_BAGGAGE, applicationId);
  return propagation.setBaggage(ctx, bag);
}

/** Names the application on the active span and runs `work` with it as baggage. */
export function forApplication<T>(applicationId: string, work: () => T): T {
  return context.with(withApplication(applicationId), work);
}

/** The application id the active context carries, if any (log lines). */
export function activeApplication(): string | undefined {
  return propagation.getActiveBaggage()?.getEntry(APPLICATION_BAGGAGE)?.value;
}

/** trace_id, span_id and the application id of the active context, for a log line. */
export function logCorrelation(): Record<string, string> {
  const s = trace.getActiveSpan()?.spanContext();
  const app = activeApplication();
  return { ...(s && s.traceId !== '00000000000000000000000000000000' ? { trace_id: s.traceId, span_id: s.spanId } : {}), ...(app ? { applicationId: app } : {}) };
}

// ---------------------------------------------------------------- carriers

const headerGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => c[k.toLowerCase()],
};

/** The context an incoming HTTP request carries (traceparent, baggage). */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** traceparent and baggage of the active context, as HTTP headers. */
export function traceHeaders(): Record<string, string> {
  const out: Record<string, string> = {};
  propagation.inject(context.active(), out);
  return out;
}

interface MetadataLike {
  get(key: string): unknown[];
  set(key: string, value: string): void;
  getMap(): Record<string, unknown>;
}

const metadataGetter: TextMapGetter<MetadataLike> = {
  keys: (m) => Object.keys(m.getMap()),
  get: (m, k) => {
    const v = m.get(k).map(String);
    return v.length === 0 ? undefined : v;
  },
};
const metadataSetter: TextMapSetter<MetadataLike> = { set: (m, k, v) => m.set(k, v) };

export function contextFromMetadata(m: MetadataLike): Context {
  return propagation.extract(ROOT_CONTEXT, m, metadataGetter);
}

export function injectMetadata(m: MetadataLike): void {
  propagation.inject(context.active(), m, metadataSetter);
}

export { SpanKind };
