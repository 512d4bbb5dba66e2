/**
 * A party process's business logic, as its configuration names it (contracts/parties.md §2):
 * the reference policy (the default), a module of the organisation's own (a path, loaded once at
 * start), or an HTTP call to the organisation's own system. The process keeps the sealing,
 * receipts, notices, vault and retries either way; what a plug-in answers is checked before it is
 * sealed (PARTY_ANSWER_INVALID otherwise), and what it is sent never leaves the party: the URL is
 * the party's own system, on loopback or its own network.
 */
import { Type, type Static } from '@sinclair/typebox';
import { isAbsolute, resolve } from 'node:path';
import { DzlError } from '../common/errors';
import { checker } from '../evidence/schema';
import type { Fields, Provenance } from '../seal/hop';
import { DEFAULT_BANK_MODEL, DEFAULT_PRODUCT, referenceChannelPolicy, referenceDecisionEngine, type BankDecision, type ChannelPolicy, type DecisionEngine } from './plugins';

const closed = { additionalProperties: false } as const;
const ProvenanceSchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), version: Type.String({ minLength: 1, maxLength: 32 }) }, closed);

/** How a configuration names a plug-in. */
export const PluginSpec = Type.Union([
  Type.Object({ reference: Type.Literal(true), options: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, closed),
  Type.Object({ module: Type.String({ minLength: 1 }), options: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, closed),
  Type.Object({ url: Type.String({ pattern: '^https?://' }), timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })), provenance: ProvenanceSchema }, closed),
]);
export type PluginSpec = Static<typeof PluginSpec>;

const FieldsSchema = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 64 });
const DecisionAnswer = Type.Object(
  {
    outcome: Type.Union([
      Type.Object({ status: Type.Literal('approved') }, closed),
      Type.Object({ status: Type.Literal('declined'), reasonCode: Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$' }) }, closed),
    ]),
    fields: FieldsSchema,
  },
  closed,
);
const ScoreAnswer = Type.Object({ fields: FieldsSchema }, closed);
const decisionAnswer = checker(DecisionAnswer);
const isProvenance = checker(ProvenanceSchema);
const scoreAnswer = checker(ScoreAnswer);

const invalid = (what: string, problem: string) => new DzlError('PARTY_ANSWER_INVALID', `the ${what} plug-in answered something else than its contract (${problem})`);

/** POST JSON to the organisation's own system; its answer, bounded. */
async function callOwnSystem(url: string, body: unknown, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    // never follows a redirect: the application's plaintext goes to the configured system and nowhere else
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch {
    throw new DzlError('PARTY_UNAVAILABLE', 'the plug-in endpoint did not answer');
  }
  const text = await res.text();
  if (!res.ok) throw new DzlError('PARTY_UNAVAILABLE', `the plug-in endpoint answered HTTP ${res.status}`);
  if (text.length > 256 * 1024) throw invalid('HTTP', 'larger than 256 KiB');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('HTTP', 'not JSON');
  }
}

function loadModule(path: string, baseDir: string): Record<string, unknown> {
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an organisation's own module, named by its configuration
  return require(file) as Record<string, unknown>;
}

/** A bank's decision engine: `createDecisionEngine(options)` or `decisionEngine` of a module, or an HTTP endpoint. */
export function loadDecisionEngine(spec: PluginSpec | undefined, baseDir: string): DecisionEngine {
  if (!spec || 'reference' in spec) {
    const cutoff = Number(spec?.options?.cutoff ?? 600);
    return referenceDecisionEngine(cutoff, DEFAULT_BANK_MODEL);
  }
  if ('module' in spec) {
    const m = loadModule(spec.module, baseDir);
    const engine = typeof m.createDecisionEngine === 'function' ? (m.createDecisionEngine as (o: unknown) => DecisionEngine)(spec.options ?? {}) : (m.decisionEngine as DecisionEngine | undefined);
    if (!engine || typeof engine.decide !== 'function' || !isProvenance(engine.model)) throw new Error(`${spec.module} exports no decisionEngine { model, decide } nor createDecisionEngine(options)`);
    return { model: engine.model, decide: async (fields) => checkedDecision(await engine.decide(fields)) };
  }
  const timeoutMs = spec.timeoutMs ?? 5_000;
  return { model: spec.provenance, decide: async (fields) => checkedDecision(await callOwnSystem(spec.url, { fields }, timeoutMs)) };
}

function checkedDecision(answer: unknown): BankDecision {
  if (!decisionAnswer(answer)) throw invalid('decision engine', decisionAnswer.problem());
  const f = answer.fields;
  if (f['decision.status'] !== answer.outcome.status) throw invalid('decision engine', 'decision.status differs from outcome.status');
  const other = Object.keys(f).find((k) => !DECISION_FIELDS.has(k));
  if (other !== undefined) throw invalid('decision engine', 'a field outside decision.status, limit, aprBasisPoints, termMonths, reasonCode');
  // a reason code is a code, the outcome's own: the platform sees it (the status only, in the redirect model)
  const reason = answer.outcome.status === 'declined' ? answer.outcome.reasonCode : undefined;
  if (f['decision.reasonCode'] !== undefined && f['decision.reasonCode'] !== reason) throw invalid('decision engine', "decision.reasonCode differs from the outcome's reason code");
  for (const k of ['decision.limit', 'decision.aprBasisPoints', 'decision.termMonths'] as const) {
    if (f[k] !== undefined && !(Number.isSafeInteger(f[k]) && (f[k] as number) >= 0)) throw invalid('decision engine', `${k} is not a whole number ≥ 0`);
  }
  return answer as BankDecision;
}

const DECISION_FIELDS = new Set(['decision.status', 'decision.limit', 'decision.aprBasisPoints', 'decision.termMonths', 'decision.reasonCode']);

/** A field value a plug-in may produce: a short string, a finite number, a boolean, or a short list of short strings. */
function plainValue(v: unknown): boolean {
  if (typeof v === 'string') return v.length <= 256;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'boolean') return true;
  return Array.isArray(v) && v.length <= 32 && v.every((x) => typeof x === 'string' && x.length <= 64);
}

/** A channel's credit product: a module's `createChannelPolicy(options)` or `channelPolicy`, or an HTTP endpoint that scores. */
export function loadChannelPolicy(spec: PluginSpec | undefined, baseDir: string): ChannelPolicy {
  if (!spec || 'reference' in spec) return referenceChannelPolicy(DEFAULT_PRODUCT);
  if ('module' in spec) {
    const m = loadModule(spec.module, baseDir);
    const policy = typeof m.createChannelPolicy === 'function' ? (m.createChannelPolicy as (o: unknown) => ChannelPolicy)(spec.options ?? {}) : (m.channelPolicy as ChannelPolicy | undefined);
    if (!policy || typeof policy.score !== 'function' || !isProvenance(policy.product)) throw new Error(`${spec.module} exports no channelPolicy { product, score } nor createChannelPolicy(options)`);
    const reference = referenceChannelPolicy(policy.product);
    return {
      product: policy.product,
      score: async (fields) => checkedScore(await policy.score(fields)),
      // a module may narrow what each bank gets; the router refuses more than the minimisation policy allows either way
      reportFor: typeof policy.reportFor === 'function' ? (input) => checkedReport(policy.reportFor(input), input.allowed) : reference.reportFor,
    };
  }
  const reference = referenceChannelPolicy(spec.provenance);
  const timeoutMs = spec.timeoutMs ?? 5_000;
  return {
    product: spec.provenance,
    score: async (fields) => {
      const answer = await callOwnSystem(spec.url, { fields }, timeoutMs);
      if (!scoreAnswer(answer)) throw invalid('scoring', scoreAnswer.problem());
      return checkedScore(answer.fields as Fields);
    },
    reportFor: reference.reportFor,
  };
}

/** A product is product.* fields only: a scoring system cannot slip anything else into a report. */
function checkedScore(fields: Fields): Fields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw invalid('scoring', 'not an object of fields');
  const other = Object.keys(fields).find((f) => !f.startsWith('product.'));
  if (other !== undefined) throw invalid('scoring', 'a field outside product.*');
  if (!Object.values(fields).every(plainValue)) throw invalid('scoring', 'a value that is not a short string, a number, a boolean or a short list of strings');
  return fields;
}

/** What a module's reportFor gives a bank: only fields the minimisation policy allows it. */
function checkedReport(fields: Fields, allowed: (field: string) => boolean): Fields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw invalid('channel policy', 'reportFor did not give an object of fields');
  if (Object.keys(fields).some((f) => !allowed(f))) throw invalid('channel policy', 'reportFor gave a bank a field the minimisation policy does not allow it');
  return fields;
}

export type { Provenance };
