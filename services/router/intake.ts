/**
 * Intake of a platform's application: the one facade that owns idempotency, custody of the
 * first hop, and the start of the application's workflow.
 *
 * Idempotency (the duplicate-check pattern of payment switches): the (platform, key) row is
 * inserted atomically with a hash of the canonical request. The same key with the same request
 * answers with the application's current state and starts nothing new; the same key with a
 * different request is refused.
 */
import { forApplication } from '../common/tracing';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { DzlError } from '../common/errors';
import { admitHop, requireRecipient, type CustodyDeps } from '../custody/custody';
import type { ApplicationState } from '../domain/applications';
import { recordingRefusals } from '../ledger/ledger';
import { registerConsent, resolveConsent } from '../lifecycle/consents';
import { checkCallbackUrl, type OutboundPolicy } from '../outbound/outbound';
import { TASK_QUEUE, type ApplicationRef, type RetentionPolicy } from '../orchestration/contract';
import { DEFAULT_DECISION_TIMEOUT_MS, planRoute, type RouteAttributes } from '../routing/funding';
import { b64url, sha256 } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { verifyHop, type SealedHop } from '../seal/hop';
import { appendState, currentState } from '../store/applicationStates';
import { findByIdempotencyKey, insertApplication, type ApplicationRow } from '../store/applications';
import { attemptsOf, deliveredCount, planAttempts } from '../store/attempts';
import { fundingRules } from '../store/fundingRoutes';
import { dataChannelApplication } from '../../workflows/dataChannel';

export interface IntakeDeps extends CustodyDeps {
  /** Where a platform's callbacks may go. */
  outbound: OutboundPolicy;
  temporal: Client;
  /** How long sealed payloads stay after an application ends (DEFAULT_RETENTION when absent). */
  retention?: RetentionPolicy;
}

export interface IntakeAnswer {
  applicationId: string;
  workflowId: string;
  state: ApplicationState;
  replayed: boolean;
  route: { candidates: string[]; skipped: { bankId: string; reason: string }[] };
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;

export function workflowIdFor(platformId: string, idempotencyKey: string): string {
  return `dzl-app-${platformId}-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}`;
}

function parseRoute(route: Record<string, unknown>): { bank?: string; attributes?: RouteAttributes } {
  if (typeof route.bank === 'string') return { bank: route.bank };
  const a = route.attributes as Record<string, unknown> | undefined;
  if (a && Number.isSafeInteger(a.amount) && Number.isSafeInteger(a.termMonths) && typeof a.region === 'string' && /^[0-9A-Z]{2,12}$/.test(a.region)) {
    return { attributes: { amount: a.amount as number, termMonths: a.termMonths as number, region: a.region } };
  }
  throw new DzlError('REQUEST_MALFORMED', 'body.route must be {bank} or {attributes: {amount (fen), termMonths, region (province code)}}', { member: 'route' });
}

function parseBody(body: unknown): { hop: SealedHop; route: { bank?: string; attributes?: RouteAttributes }; callbackUrl: unknown; consent: unknown; consentId: unknown } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.hop !== 'object' || b.hop === null) throw new DzlError('REQUEST_MALFORMED', 'body.hop must be a sealed hop object', { member: 'hop' });
  const route = parseRoute((b.route ?? {}) as Record<string, unknown>);
  return { hop: b.hop as SealedHop, route, callbackUrl: b.callbackUrl, consent: b.consent, consentId: b.consentId };
}

async function routeOf(deps: IntakeDeps, app: ApplicationRow): Promise<IntakeAnswer['route']> {
  return { candidates: (await attemptsOf(deps.db, app.id)).map((a) => a.bankId), skipped: [] };
}

/**
 * Starts an application's workflow, once for good: a repeat while it runs, or after it ended,
 * finds the same workflow id and starts nothing (REJECT_DUPLICATE), so deliveries and callbacks
 * never happen twice.
 */
export async function startApplicationWorkflow<A extends { applicationId: string }>(deps: IntakeDeps, workflow: (ref: A) => Promise<unknown>, workflowId: string, ref: A): Promise<void> {
  try {
    // the application's id rides along as trace baggage: Temporal's spans and the parties' name it
    await forApplication(ref.applicationId, () => deps.temporal.workflow.start(workflow, { taskQueue: TASK_QUEUE, workflowId, args: [ref], workflowIdReusePolicy: 'REJECT_DUPLICATE' }));
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

async function startWorkflow(deps: IntakeDeps, app: ApplicationRow): Promise<void> {
  const directory = deps.directory();
  const { candidates } = await routeOf(deps, app);
  const ref: ApplicationRef = {
    applicationId: app.id,
    intakeHopId: app.intakeHopId,
    candidates: candidates.map((bankId) => ({ bankId, decisionTimeoutMs: directory.party(bankId)?.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS })),
    ...(deps.retention ? { retention: deps.retention } : {}),
  };
  await startApplicationWorkflow(deps, dataChannelApplication, app.workflowId, ref);
}

export async function acceptApplication(deps: IntakeDeps, platformId: string, idempotencyKey: string | undefined, body: unknown): Promise<IntakeAnswer> {
  return recordingRefusals(deps.db, { stage: 'intake', from: platformId, input: body, hop: (body as { hop?: unknown } | undefined)?.hop }, async () => {
    if (!idempotencyKey || !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new DzlError('IDEMPOTENCY_KEY_MISSING', 'send an Idempotency-Key header of 8–128 characters [A-Za-z0-9._:-], unique per application');
    }
    const requestHash = b64url(sha256(canonicalJson(body ?? null)));
    const prior = await findByIdempotencyKey(deps.db, platformId, idempotencyKey);
    if (prior) return await answerRepeat(deps, prior, requestHash);

    const req = parseBody(body);
    const directory = deps.directory();
    // refused at submission: never stored, never called
    const callbackUrl = req.callbackUrl === undefined ? null : (checkCallbackUrl(req.callbackUrl, directory.callbackOriginsOf(platformId), deps.outbound), req.callbackUrl as string);
    const { consent } = await resolveConsent(deps.db, req, platformId);
    // authenticate, then plan, then take custody: a refused route leaves no hop in custody and
    // none in the ledger, and a tampered hop is refused as tampered whatever it claims
    const verified = verifyHop(req.hop, { signerOf: directory.signerOf });
    directory.checkChannelLicence(verified.header.channel);
    // withdrawn or expired: refused as such, before any bank is considered
    requireRecipient(consent, verified.header.channel);
    const at = new Date();
    const day = at.toISOString().slice(0, 10);
    const rules = req.route.attributes ? await fundingRules(deps.db, consent.platformId) : [];
    const used = new Map(await Promise.all(rules.map(async (r) => [r.bankId, await deliveredCount(deps.db, consent.platformId, r.bankId, day)] as const)));
    const plan = planRoute(directory, consent, verified.header.channel, req.route, { rules, usedToday: (bankId) => used.get(bankId) ?? 0, at });
    const h = verified.header;
    const row: ApplicationRow = {
      id: h.applicationId,
      platformId,
      idempotencyKey,
      requestHash,
      workflowId: workflowIdFor(platformId, idempotencyKey),
      model: h.model,
      channelId: h.channel,
      bankId: plan.candidates[0]!.bankId,
      consentId: consent.id,
      callbackUrl,
      intakeHopId: h.hopId,
      createdAt: Date.now(),
    };
    // the hop, its leaf, its nonce, the consent, the application, its first state and its cascade
    // commit together: a crash anywhere leaves all of it or none, so the platform's retry with the
    // same key and bytes is answered, never refused as a replay
    const { fresh } = await admitHop(deps, req.hop, consent, { kind: 'application', from: platformId }, verified, async (trx) => {
      await registerConsent(trx, consent);
      const r = await insertApplication(trx, row);
      // the same key at once from a concurrent twin of this request: it answers, this one stops
      if (!r.created) throw new DzlError('IDEMPOTENCY_KEY_REUSED', 'a concurrent request with the same Idempotency-Key is being taken');
      await appendState(trx, row.id, { state: 'accepted', hopId: h.hopId });
      await planAttempts(trx, { applicationId: row.id, platformId, day, bankIds: plan.candidates.map((c) => c.bankId) });
    }).catch(async (err: unknown) => {
      const twin = err instanceof DzlError && err.code === 'IDEMPOTENCY_KEY_REUSED' ? await findByIdempotencyKey(deps.db, platformId, idempotencyKey) : undefined;
      if (twin) return { fresh: false as const };
      throw err;
    });
    if (!fresh) {
      // The hop is already in custody: a concurrent twin of this request, or a replay under a new key.
      const twin = await findByIdempotencyKey(deps.db, platformId, idempotencyKey);
      if (twin) return await answerRepeat(deps, twin, requestHash);
      throw new DzlError('HOP_REPLAYED', 'this hop was already submitted for another application request; seal a new hop for a new application', { hopId: h.hopId });
    }
    const stored = (await findByIdempotencyKey(deps.db, platformId, idempotencyKey))!;
    await startWorkflow(deps, stored);
    return { applicationId: row.id, workflowId: row.workflowId, state: 'accepted', replayed: false, route: { candidates: plan.candidates.map((c) => c.bankId), skipped: plan.skipped } };
  });
}

async function answerRepeat(deps: IntakeDeps, prior: ApplicationRow, requestHash: string): Promise<IntakeAnswer> {
  if (prior.requestHash !== requestHash) {
    throw new DzlError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key was already used for application ${prior.id} with a different request; use a new key for a new application`, {
      applicationId: prior.id,
    });
  }
  // A crash between the commit and the start leaves a row with no workflow: start it now.
  await startWorkflow(deps, prior);
  return { applicationId: prior.id, workflowId: prior.workflowId, state: await currentState(deps.db, prior.id), replayed: true, route: await routeOf(deps, prior) };
}

