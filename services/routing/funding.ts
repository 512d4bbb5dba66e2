/**
 * Funding routes (资方路由): which banks an application may go to, in which order.
 *
 * Each platform keeps an ordered list of banks with rules (amount range, terms, regions, daily
 * quota). An application's candidates are the banks whose rules match its routing attributes,
 * that the customer's consent names, and whose contracted channel is the licensed channel the
 * application was sealed for. Every bank left out is reported with the reason.
 */
import { DzlError, type ErrorCode } from '../common/errors';
import { checkConsentCovers, consentNames, type Consent } from '../consent/consent';
import type { NetworkDirectory } from '../registry/directory';

export interface FundingRule {
  bankId: string;
  priority: number;
  minAmount: number;
  maxAmount: number;
  terms: number[];
  /** Province codes, or '*' for any. */
  regions: string[];
  dailyQuota: number;
}

/** What the platform declares for routing: amount, term, region — no identity. */
export interface RouteAttributes {
  amount: number;
  termMonths: number;
  region: string;
}

export interface RoutePlan {
  candidates: { bankId: string; decisionTimeoutMs: number }[];
  skipped: { bankId: string; reason: string }[];
}

export const DEFAULT_DECISION_TIMEOUT_MS = 30_000;

function bankChannelProblem(directory: NetworkDirectory, bankId: string, channelId: string, at: Date): { code: ErrorCode; message: string } | undefined {
  try {
    const channel = directory.channelOfBank(bankId, at);
    if (channel !== channelId) {
      return { code: 'ROUTE_NOT_ALLOWED', message: `bank ${bankId} takes its credit reports through ${channel}; the application was sealed for ${channelId}` };
    }
    return undefined;
  } catch (err) {
    if (err instanceof DzlError) return { code: err.code, message: err.message };
    throw err;
  }
}

function timeoutOf(directory: NetworkDirectory, bankId: string): number {
  return directory.party(bankId)?.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS;
}

/** One named bank: it must be consented, and reachable through the application's channel. */
function singleBank(directory: NetworkDirectory, consent: Consent, channelId: string, bankId: string, at: Date): RoutePlan {
  directory.requireParty(bankId, 'bank');
  checkConsentCovers(consent, bankId, at);
  const problem = bankChannelProblem(directory, bankId, channelId, at);
  if (problem) throw new DzlError(problem.code, problem.message, { party: bankId });
  return { candidates: [{ bankId, decisionTimeoutMs: timeoutOf(directory, bankId) }], skipped: [] };
}

/** What the plan is made from besides the application: the platform's list and today's use of each bank's quota. */
export interface FundingState {
  rules: FundingRule[];
  usedToday: (bankId: string) => number;
  at: Date;
}

export function planRoute(directory: NetworkDirectory, consent: Consent, channelId: string, route: { bank?: string; attributes?: RouteAttributes }, state: FundingState): RoutePlan {
  const { at } = state;
  if (route.bank) return singleBank(directory, consent, channelId, route.bank, at);
  const a = route.attributes;
  if (!a) throw new DzlError('REQUEST_MALFORMED', 'route needs either a bank or the routing attributes {amount, termMonths, region}', { member: 'route' });
  const plan: RoutePlan = { candidates: [], skipped: [] };
  for (const rule of state.rules) {
    const skip = (reason: string) => plan.skipped.push({ bankId: rule.bankId, reason });
    if (!consentNames(consent, rule.bankId)) { skip('CONSENT_DOES_NOT_NAME_RECIPIENT'); continue; }
    if (a.amount < rule.minAmount || a.amount > rule.maxAmount) { skip('AMOUNT_OUT_OF_RANGE'); continue; }
    if (!rule.terms.includes(a.termMonths)) { skip('TERM_NOT_OFFERED'); continue; }
    if (!rule.regions.includes('*') && !rule.regions.includes(a.region)) { skip('REGION_NOT_SERVED'); continue; }
    const problem = bankChannelProblem(directory, rule.bankId, channelId, at);
    if (problem) { skip(problem.code); continue; }
    if (state.usedToday(rule.bankId) >= rule.dailyQuota) { skip('DAILY_QUOTA_REACHED'); continue; }
    plan.candidates.push({ bankId: rule.bankId, decisionTimeoutMs: timeoutOf(directory, rule.bankId) });
  }
  if (plan.candidates.length === 0) {
    throw new DzlError('NO_ELIGIBLE_BANK', `no bank on ${consent.platformId}'s funding list can take this application: ${plan.skipped.map((s) => `${s.bankId} ${s.reason}`).join('; ') || 'the list is empty'}`);
  }
  return plan;
}
