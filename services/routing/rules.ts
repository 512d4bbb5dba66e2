/**
 * The 断直连 routing rules, enforced on every hop the router carries (contracts/envelope.md §Routing).
 *
 *   application    platform → channel   application elements, platform risk fields
 *   credit_report  channel  → bank      application elements, the channel's credit product
 *   decision       bank     → platform  decision outcome only
 *   redirect       platform → bank      the router's opaque redirect token, nothing personal
 *   disbursement   bank     → platform  the disbursement (amount, time, loan id)
 *
 * A platform may never send a bank anything personal, whatever the hop claims to be: the only
 * platform → bank hop is a redirect whose every field is C1 and of redirect origin.
 *
 * Within the origins a route allows, a recipient gets only the fields the minimisation policy
 * gives it (./minimisation, contracts/minimisation.json).
 */
import { DzlError } from '../common/errors';
import { inNamespace } from '../domain/ids';
import { checkConsentCovers, type Consent } from '../consent/consent';
import { fieldSpec } from '../fields/catalogue';
import type { NetworkDirectory } from '../registry/directory';
import type { HopHeader } from '../seal/hop';
import { checkMinimisation, type MinimisationPolicy } from './minimisation';
import { ROUTES } from './routes';

export { ROUTES };

/**
 * An application's id is in its platform's namespace, a hop's id in its sender's: checked before
 * anything is looked up by either, so the answer is the same whether or not the id exists.
 */
export function checkNamespaces(header: Pick<HopHeader, 'applicationId' | 'platform' | 'hopId' | 'from'>): void {
  if (!inNamespace(header.applicationId, header.platform)) {
    throw new DzlError('ID_OUTSIDE_NAMESPACE', 'header.applicationId must begin with the platform\'s party id and a colon (<platform>:…)', { member: 'header.applicationId' });
  }
  if (!inNamespace(header.hopId, header.from)) {
    throw new DzlError('ID_OUTSIDE_NAMESPACE', 'header.hopId must begin with the sender\'s party id and a colon (<from>:…)', { member: 'header.hopId' });
  }
}

/** The one lawful platform → bank hop: a redirect carrying nothing but C1 redirect fields. */
export function isBareRedirect(header: HopHeader): boolean {
  return header.kind === 'redirect' && header.manifest.every((m) => m.class === 'C1' && fieldSpec(m.field).origin === 'redirect');
}

const TERMS = ['decision.limit', 'decision.aprBasisPoints', 'decision.termMonths'] as const;

/**
 * A decision's header and its manifest agree (envelope.md §15.4): the router routes on the
 * outcome, so the fields must be those of that outcome — a declaration the router can check
 * without opening the body. Every decision declares `decision.status`; an approval in the data
 * channel declares its terms (limit, APR, term), a decline declares none; `decision.reasonCode` is
 * declared exactly when the outcome has a reason code. That the sealed values match the manifest's
 * digests, and `decision.status` the outcome, is the platform's check (D and P1 of §15.4).
 */
export function checkDecisionAgreement(header: Pick<HopHeader, 'hopId' | 'model' | 'manifest' | 'outcome'>): void {
  const declared = new Set(header.manifest.map((m) => m.field));
  const mismatch = (why: string) => new DzlError('HOP_MANIFEST_MISMATCH', `the decision's header and manifest disagree: ${why}`, { hopId: header.hopId });
  const outcome = header.outcome;
  if (!outcome) throw mismatch('a decision carries an outcome');
  if (!declared.has('decision.status')) throw mismatch('every decision declares decision.status');
  const terms = TERMS.filter((f) => declared.has(f));
  if (outcome.status === 'declined' && terms.length > 0) throw mismatch('a decline declares no terms');
  if (outcome.status === 'approved' && header.model === 'data_channel' && terms.length !== TERMS.length) throw mismatch('an approval declares its limit, APR and term');
  if ((outcome.reasonCode !== undefined) !== declared.has('decision.reasonCode')) throw mismatch('decision.reasonCode is declared exactly when the outcome has a reason code');
}

export interface RouteContext {
  directory: NetworkDirectory;
  consent: Consent;
  at: Date;
  /**
   * The minimisation policy the hop is held to: the one in force when omitted; null for a hop
   * whose policy is not known (evidence carried before the policy that now applies).
   */
  minimisation?: MinimisationPolicy | null;
}

export function checkRoute(header: HopHeader, ctx: RouteContext): void {
  const from = ctx.directory.requireParty(header.from);
  const to = ctx.directory.requireParty(header.to);
  checkNamespaces(header);
  for (const m of header.manifest) {
    if (m.class === 'C3') {
      throw new DzlError('FIELD_C3_REFUSED', `hop ${header.hopId} declares C3 field ${m.field}; authentication data may never be sent`, {
        hopId: header.hopId,
        field: m.field,
      });
    }
  }
  const personal = header.manifest.filter((m) => m.class !== 'C1').map((m) => m.field);
  if (from.role === 'platform' && to.role === 'bank' && !isBareRedirect(header)) {
    throw new DzlError(
      'DIRECT_CONNECTION_REFUSED',
      personal.length > 0
        ? `a platform may not send personal data to a bank (fields ${personal.join(', ')}); send it to a licensed channel`
        : `hop kind ${header.kind} from a platform to a bank is not a permitted route; send data through a licensed channel`,
      { hopId: header.hopId, from: from.id, to: to.id, fields: personal },
    );
  }
  const route = ROUTES[header.kind];
  if (from.role !== route.from || to.role !== route.to) {
    throw new DzlError('ROUTE_NOT_ALLOWED', `a ${header.kind} hop goes ${route.from} → ${route.to}, not ${from.role} → ${to.role}`, {
      hopId: header.hopId,
      from: from.id,
      to: to.id,
    });
  }
  for (const m of header.manifest) {
    const spec = fieldSpec(m.field);
    if (spec.class !== m.class) {
      throw new DzlError('HOP_MANIFEST_MISMATCH', `manifest declares ${m.field} as ${m.class}; the catalogue classes it ${spec.class}`, {
        hopId: header.hopId,
        field: m.field,
      });
    }
    if (!route.origins.includes(spec.origin)) {
      throw new DzlError(
        'FIELD_NOT_ALLOWED_FOR_RECIPIENT',
        `field ${m.field} (${spec.origin}) may not travel on a ${header.kind} hop to a ${to.role}`,
        { hopId: header.hopId, field: m.field, to: to.id },
      );
    }
  }
  if (header.kind === 'decision') checkDecisionAgreement(header);
  if (ctx.minimisation !== null) checkMinimisation(header, ctx.minimisation);
  ctx.directory.checkChannelLicence(header.channel, ctx.at);
  if ((from.role === 'channel' || to.role === 'channel') && header.channel !== (from.role === 'channel' ? from.id : to.id)) {
    throw new DzlError('ROUTE_NOT_ALLOWED', `hop ${header.hopId} names channel ${header.channel} but goes through another`, { hopId: header.hopId });
  }
  if (header.platform !== ctx.consent.platformId || (header.kind === 'application' && header.platform !== from.id) || ((header.kind === 'decision' || header.kind === 'disbursement') && header.platform !== to.id)) {
    throw new DzlError('ROUTE_NOT_ALLOWED', `hop ${header.hopId} names platform ${header.platform}; the application belongs to ${ctx.consent.platformId}`, {
      hopId: header.hopId,
    });
  }
  if (header.consentRef !== ctx.consent.id) {
    throw new DzlError('CONSENT_MISMATCH', `hop ${header.hopId} cites consent ${header.consentRef}, the application's is ${ctx.consent.id}`, {
      hopId: header.hopId,
    });
  }
  if (route.consented) checkConsentCovers(ctx.consent, to.id, ctx.at);
}
