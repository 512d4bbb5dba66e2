/**
 * What a platform (or a regulator) may read of an application: its status and history, the
 * provenance of its decisions, who saw what, and a platform's day for reconciliation. Another
 * party's application is reported as absent, not as forbidden: no existence oracle.
 */
import { DzlError } from '../common/errors';
import { DECIDED_STATES } from '../domain/applications';
import { decisionProvenance, hopsOfApplication, whoSawWhat } from '../ledger/ledger';
import type { NetworkDirectory } from '../registry/directory';
import { statesOf } from '../store/applicationStates';
import { getApplication, type ApplicationRow } from '../store/applications';
import { attemptsOf, decisionsBetween } from '../store/attempts';
import type { Db } from '../store/db';
import { disbursementsOfDay } from '../store/disbursements';
import { noticesOf } from '../store/notices';
import { getSealedHop } from '../store/sealedHops';

export interface ViewDeps {
  db: Db;
  directory: () => NetworkDirectory;
}

export async function ownedApplication(deps: ViewDeps, party: string, id: string): Promise<ApplicationRow> {
  const app = await getApplication(deps.db, id);
  const role = deps.directory().party(party)?.role;
  if (!app || (app.platformId !== party && role !== 'regulator')) throw new DzlError('APPLICATION_NOT_FOUND', `no application ${id} for ${party}`);
  return app;
}

/** A hop's sealed form while the router still holds its payload; undefined once retention erased it. */
async function liveSealed(deps: ViewDeps, hopId: string) {
  const h = await getSealedHop(deps.db, hopId);
  return h && !h.erasedAt ? h.sealed : undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function applicationStatus(deps: ViewDeps, party: string, id: string) {
  const a = await ownedApplication(deps, party, id);
  const history = await statesOf(deps.db, a.id);
  const decided = history.find((s) => (DECIDED_STATES as readonly string[]).includes(s.state));
  const decisionHop = decided?.hopId ? await liveSealed(deps, decided.hopId) : undefined;
  return {
    applicationId: a.id,
    model: a.model,
    channel: a.channelId,
    bank: a.bankId,
    state: history.at(-1)?.state ?? 'accepted',
    history: history.map((s) => ({ ...s, at: iso(s.at) })),
    route: (await attemptsOf(deps.db, a.id)).map((t) => ({ bank: t.bankId, position: t.position, ...(t.outcome ? { outcome: t.outcome } : {}), ...(t.reasonCode ? { reasonCode: t.reasonCode } : {}) })),
    ...(decided ? { decision: { status: decided.state, ...(decided.reasonCode ? { reasonCode: decided.reasonCode } : {}), ...(decisionHop ? { hop: decisionHop } : {}) } } : {}),
    notices: (await noticesOf(deps.db, a.id)).map((n) => ({ noticeId: n.noticeId, kind: n.kind, to: n.to, sentAt: iso(n.sentAt), ...(n.acknowledgedAt ? { acknowledgedAt: iso(n.acknowledgedAt) } : {}) })),
  };
}

/** PIPL Art. 24: which channel product, which bank and which bank model made each decision. */
export async function applicationProvenance(deps: ViewDeps, party: string, id: string) {
  const a = await ownedApplication(deps, party, id);
  return { applicationId: a.id, model: a.model, decisions: decisionProvenance(await hopsOfApplication(deps.db, a.id)) };
}

export async function applicationWhoSawWhat(deps: ViewDeps, party: string, id: string) {
  const a = await ownedApplication(deps, party, id);
  const hops = await hopsOfApplication(deps.db, a.id);
  return {
    applicationId: a.id,
    hops: hops.map((h) => ({
      hopId: h.header.hopId,
      kind: h.header.kind,
      from: h.header.from,
      to: h.header.to,
      channel: h.header.channel,
      consentRef: h.header.consentRef,
      issuedAt: h.header.issuedAt,
      fields: h.header.manifest.map((m) => ({ field: m.field, class: m.class })),
      receipts: h.receipts.map((r) => ({ by: r.by, status: r.status, receivedAt: r.receivedAt, ...(r.reason ? { reason: r.reason } : {}) })),
    })),
    // every bank the application reached (a cascade reaches several), as the registry knows them
    matrix: whoSawWhat(hops, [
      a.platformId,
      a.channelId,
      ...new Set(hops.flatMap((h) => [h.header.from, h.header.to]).filter((p) => deps.directory().party(p)?.role === 'bank')),
      'router',
    ]),
  };
}

/** A platform's day: every bank decision and disbursement on its applications (UTC day). */
export async function reconciliation(deps: ViewDeps, platformId: string, dayParam: unknown) {
  const day = String(dayParam ?? new Date().toISOString().slice(0, 10));
  const start = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== day) {
    throw new DzlError('REQUEST_MALFORMED', 'day must be a calendar date YYYY-MM-DD (UTC)');
  }
  const decisions = await decisionsBetween(deps.db, platformId, start, start + 24 * 3600_000);
  return {
    platform: platformId,
    day,
    decisions: decisions.map((d) => ({ applicationId: d.applicationId, bank: d.bankId, outcome: d.outcome, ...(d.reasonCode ? { reasonCode: d.reasonCode } : {}), decidedAt: iso(d.decidedAt!), hopId: d.hopId })),
    disbursements: await Promise.all(
      (await disbursementsOfDay(deps.db, platformId, day)).map(async (d) => ({ applicationId: d.applicationId, bank: d.bankId, hopId: d.hopId, reportedAt: iso(d.reportedAt), hop: await liveSealed(deps, d.hopId) })),
    ),
  };
}
