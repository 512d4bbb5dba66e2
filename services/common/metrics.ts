/**
 * dzl's own Prometheus metrics (prom-client: the registry and exposition format every Prometheus
 * server reads; nothing hand-written). Labels are dzl's vocabulary only — states, codes, stage
 * kinds, HTTP status classes — never an id or a value, so no personal data and a bounded number
 * of series. Each process (router, worker) serves its own registry on its ops port
 * (services/runtime/ops.ts), beside Node's process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const metrics = new Registry();
collectDefaultMetrics({ register: metrics, prefix: 'dzl_' });

/** The first word of a stage (`grpc SubmitDecision` → `grpc`, `notice:delete_data` → `notice`). */
export const stageKind = (stage: string): string => /^[a-z]+/.exec(stage)?.[0] ?? 'other';

export const applicationStates = new Counter({
  name: 'dzl_application_states_total',
  help: 'Application state changes recorded, by state (final outcomes included: approved, declined, no_funding, expired, withdrawn, refused).',
  labelNames: ['state'] as const,
  registers: [metrics],
});

export const refusalsRecorded = new Counter({
  name: 'dzl_refusals_total',
  help: 'Refusal leaves appended to the evidence log, by error code and kind of stage.',
  labelNames: ['code', 'stage'] as const,
  registers: [metrics],
});

export const httpRequests = new Histogram({
  name: 'dzl_http_request_duration_seconds',
  help: "The router's HTTP API: request duration by method and status class.",
  labelNames: ['method', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metrics],
});

export const deliveries = new Histogram({
  name: 'dzl_delivery_duration_seconds',
  help: 'A delivery to a channel or bank, by hop stage and result (delivered, refused, transient: retried by Temporal).',
  labelNames: ['stage', 'result'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metrics],
});

/** Gauges read from the store when scraped: set by the process that can read them (the router). */
export const logSize = new Gauge({ name: 'dzl_log_size', help: 'Leaves in the latest signed checkpoint of the evidence log.', registers: [metrics] });
export const checkpointAge = new Gauge({ name: 'dzl_checkpoint_age_seconds', help: 'Age of the latest signed checkpoint.', registers: [metrics] });
export const noticesPending = new Gauge({ name: 'dzl_notices_pending', help: 'Notices sent and not yet acknowledged, by kind.', labelNames: ['kind'] as const, registers: [metrics] });
