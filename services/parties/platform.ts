/**
 * Reference loan-facilitation platform (a kit a platform adapts): seals an application for the
 * licensed channel, submits it to the router with an idempotency key, and receives the bank's
 * decision on its callback URL, answering with a signed receipt.
 */
import { traceHeaders } from '../common/tracing';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { DzlError, isErrorCode, toDzlError } from '../common/errors';
import type { Consent } from '../consent/consent';
import { namespaced } from '../domain/ids';
import { classOf } from '../fields/catalogue';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { newSalt, openHop, sealHop, verifyHop, type DecisionOutcome, type Fields, type OpenedHop, type SealedHop } from '../seal/hop';

import { REDIRECT_FIELD, redirectSalt } from '../seal/redirectToken';
import { signRequest, verifyRequest } from '../seal/requestSignature';
import { b64url } from '../seal/bytes';
import { PartyInbox } from './inbox';
import { listenBounded } from '../common/http';
import type { Vault } from '../atrest/vault';

export const CONSENT_TEXT_VERSION = 'dzl-consent-2026.11';
export const CONSENT_TEXT = '本人同意贵平台将本人的申请信息及风险信息提供给下列持牌征信机构，并由其加工后提供给下列资金方，用于信用评估及贷款合同订立。';

/** A named bank, or the routing attributes the platform's funding list is matched against. */
export type RouteRequest = { bank: string } | { attributes: { amount: number; termMonths: number; region: string } };

export interface SubmitBody {
  hop: SealedHop;
  route: RouteRequest;
  consent: Omit<Consent, 'platformId'>;
  callbackUrl?: string;
}

export interface PreparedApplication {
  applicationId: string;
  idempotencyKey: string;
  body: SubmitBody;
}

export interface ReceivedDecision {
  applicationId: string;
  hopId: string;
  outcome: DecisionOutcome;
  fields: Fields;
}

/** A router answer as the platform sees it: the HTTP status and the parsed JSON body. */
export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of the documented API (contracts/openapi.yaml)
  body: any;
}

/**
 * The header's outcome is what the router routes on; the sealed decision.status is the bank's
 * word. A platform accepts a decision only when the two agree.
 */
function decisionOf(opened: OpenedHop): ReceivedDecision {
  const { header, fields } = opened;
  if (!header.outcome || fields['decision.status'] !== header.outcome.status) {
    throw new DzlError('HOP_MANIFEST_MISMATCH', `decision hop ${header.hopId}: header outcome and sealed decision.status differ`, { hopId: header.hopId });
  }
  return { applicationId: header.applicationId, hopId: header.hopId, outcome: header.outcome, fields };
}

export interface PlatformOptions {
  identity: PartyIdentity;
  directory: () => NetworkDirectory;
  routerUrl: string;
  channelId: string;
  /** Where a platform process keeps what the router told it (outcomes, decisions, disbursements), encrypted, before it receipts them. */
  vault?: Vault;
  /** The callback receiver's address (default 127.0.0.1 and a free port). */
  callbackHost?: string;
}

/** What the platform holds of one application: the router's final outcome, the bank's decision, the disbursement. */
export interface PlatformRecord {
  outcome?: { outcome: string; reasonCode?: string };
  decision?: ReceivedDecision;
  disbursement?: Fields;
  /** How many decision hops the platform opened for it (one, unless something repeated). */
  decisionsOpened: number;
}

export class ReferencePlatform {
  readonly decisions = new Map<string, ReceivedDecision>();
  /** The final outcome the router reported for each application: approved, declined or no_funding. */
  readonly outcomes = new Map<string, { outcome: string; reasonCode?: string }>();
  private readonly inbox: PartyInbox<ReceivedDecision>;
  private readonly disbursementInbox: PartyInbox<void>;
  /** Disbursements the banks reported, opened: amount, time, loan id, by application. */
  readonly disbursements = new Map<string, Fields>();
  private server?: Server;
  callbackUrl?: string;

  constructor(private readonly opts: PlatformOptions) {
    this.inbox = new PartyInbox(opts.identity, opts.directory, 'decision');
    this.disbursementInbox = new PartyInbox(opts.identity, opts.directory, 'disbursement');
  }

  /**
   * The direct-redirect model: ask the router for a redirect to `bank`, seal the platform's risk
   * fields for the bank's channel (keyed by the application) and the redirect hop for the bank
   * (the token, nothing personal), and return the URL to send the customer to.
   */
  async startRedirect(bank: string, riskFields: Fields): Promise<{ applicationId: string; redirectUrl: string; token: string; submitted: ApiResponse }> {
    const directory = this.opts.directory();
    const channel = directory.party(bank)?.contractedChannel ?? this.opts.channelId;
    const consent = { ...this.consentFor([bank]), recipients: [channel, bank] };
    const issued = await this.request('POST', '/v1/redirects', { bank, consent, ...(this.callbackUrl ? { callbackUrl: this.callbackUrl } : {}) });
    if (issued.status !== 201) {
      const code = (issued.body as { error?: { code?: unknown } } | undefined)?.error?.code;
      throw new DzlError(isErrorCode(code) ? code : 'PARTY_ANSWER_INVALID', `the router refused the redirect (HTTP ${issued.status})`);
    }
    const { applicationId, token, redirectUrl } = issued.body as { applicationId: string; token: string; redirectUrl: string };
    const salt = newSalt();
    const common = { applicationId, model: 'direct_redirect' as const, platform: this.partyId, channel, consentRef: consent.id, salt, classOf };
    const riskHop = sealHop(this.opts.identity.signing, { ...common, kind: 'application', to: directory.encryptionCertificate(channel), fields: { ...riskFields, 'redirect.token': token } });
    // the redirect hop is determined by the token alone (envelope.md §15): its salt is derived from it
    const redirectHop = sealHop(this.opts.identity.signing, { ...common, salt: redirectSalt(token), kind: 'redirect', to: directory.encryptionCertificate(bank), fields: { [REDIRECT_FIELD]: token } });
    const submitted = await this.request(
      'POST',
      `/v1/redirects/${encodeURIComponent(applicationId)}/hops`,
      { riskHop: riskHop.sealed, redirectHop: redirectHop.sealed, ...(this.callbackUrl ? { callbackUrl: this.callbackUrl } : {}) },
      { 'idempotency-key': `idem_${randomUUID()}` },
    );
    return { applicationId, redirectUrl, token, submitted };
  }

  get partyId(): string {
    return this.opts.identity.partyId;
  }

  consentFor(banks: string[], now = new Date()): Omit<Consent, 'platformId'> {
    return {
      id: namespaced(this.partyId, `consent_${randomUUID()}`),
      textVersion: CONSENT_TEXT_VERSION,
      textSha256: createHash('sha256').update(CONSENT_TEXT).digest('hex'),
      purposes: ['credit_assessment', 'loan_contracting'],
      recipients: [this.opts.channelId, ...banks],
      grantedAt: new Date(now.getTime() - 1000).toISOString(),
      expiresAt: new Date(now.getTime() + 365 * 24 * 3600_000).toISOString(),
      actedAt: new Date(now.getTime() - 1000).toISOString(),
      // the device the customer agreed on, hashed here: the router never sees the identifier
      deviceDigest: b64url(createHash('sha256').update(`device-${randomUUID()}`).digest()),
    };
  }

  /** POST /v1/consents: the consent as an object of its own, cited later by id. */
  registerConsent(consent: Omit<Consent, 'platformId'>): Promise<ApiResponse> {
    return this.request('POST', '/v1/consents', consent);
  }

  /** The customer withdrew consent (for all recipients, or some): POST /v1/consents/{id}/withdraw. */
  withdrawConsent(consentId: string, opts: { recipients?: string[]; at?: Date } = {}): Promise<ApiResponse> {
    return this.request('POST', `/v1/consents/${encodeURIComponent(consentId)}/withdraw`, {
      actedAt: (opts.at ?? new Date()).toISOString(),
      deviceDigest: b64url(createHash('sha256').update(`device-${consentId}`).digest()),
      ...(opts.recipients ? { recipients: opts.recipients } : {}),
    });
  }

  /**
   * Seals an application for the licensed channel and prepares its submission: to one named
   * bank, or (`route` with attributes) to the platform's funding list, which needs a consent
   * naming every bank it may reach.
   */
  prepare(
    fields: Fields,
    route: string | RouteRequest,
    opts: { consent?: Omit<Consent, 'platformId'>; now?: Date; channelId?: string } = {},
  ): PreparedApplication {
    const applicationId = namespaced(this.partyId, `app_${randomUUID()}`);
    const channelId = opts.channelId ?? this.opts.channelId;
    const routeRequest: RouteRequest = typeof route === 'string' ? { bank: route } : route;
    const consent = opts.consent ?? (() => {
      if (!('bank' in routeRequest)) throw new Error('a funding-list route needs a consent naming its banks');
      return { ...this.consentFor([routeRequest.bank], opts.now), recipients: [channelId, routeRequest.bank] };
    })();
    const sealed = sealHop(this.opts.identity.signing, {
      applicationId,
      kind: 'application',
      model: 'data_channel',
      to: this.opts.directory().encryptionCertificate(channelId),
      platform: this.partyId,
      channel: channelId,
      consentRef: consent.id,
      fields,
      salt: newSalt(),
      classOf,
      ...(opts.now ? { now: opts.now } : {}),
    });
    return {
      applicationId,
      idempotencyKey: `idem_${randomUUID()}`,
      body: { hop: sealed.sealed, route: routeRequest, consent, ...(this.callbackUrl ? { callbackUrl: this.callbackUrl } : {}) },
    };
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    const res = await fetch(this.opts.routerUrl + path, {
      method,
      headers: {
        'content-type': 'application/json',
        authorization: signRequest(this.opts.identity.signing, method, path, bytes),
        // the platform's own trace, if it has one, goes on through the router (traceparent, baggage)
        ...traceHeaders(),
        ...headers,
      },
      ...(body === undefined ? {} : { body: bytes }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  submit(app: PreparedApplication): Promise<ApiResponse> {
    return this.request('POST', '/v1/applications', app.body, { 'idempotency-key': app.idempotencyKey });
  }

  status(applicationId: string): Promise<ApiResponse> {
    return this.request('GET', `/v1/applications/${encodeURIComponent(applicationId)}`);
  }

  /** Opens a decision hop the platform fetched from the status endpoint or received by callback. */
  openDecision(hop: SealedHop): ReceivedDecision {
    const verified = verifyHop(hop, { signerOf: this.opts.directory().signerOf, maxAgeMs: Number.MAX_SAFE_INTEGER });
    return decisionOf(openHop(verified, this.opts.identity.recipient));
  }

  callbackApp(): Koa {
    const app = new Koa();
    app.use(async (ctx) => {
      if (ctx.method !== 'POST' || ctx.path !== '/dzl/callback') {
        ctx.status = 404;
        return;
      }
      try {
        const raw = await getRawBody(ctx.req, { limit: '256kb' });
        const from = verifyRequest(ctx.get('authorization'), ctx.method, ctx.url, raw, this.opts.directory().signerOf);
        if (from !== 'router') throw new DzlError('REQUEST_UNAUTHENTICATED', 'callbacks are accepted from the router only');
        const msg = JSON.parse(raw.toString('utf8')) as { applicationId: string; outcome: string; reasonCode?: string; hop?: SealedHop };
        if (msg.outcome !== 'disbursed') {
          const outcome = { outcome: msg.outcome, ...(msg.reasonCode ? { reasonCode: msg.reasonCode } : {}) };
          this.outcomes.set(msg.applicationId, outcome);
          await this.opts.vault?.put(msg.applicationId, 'outcome', 'final', outcome);
        }
        if (!msg.hop) {
          ctx.body = { acknowledged: msg.applicationId };
          return;
        }
        if (msg.outcome === 'disbursed') {
          const done = await this.disbursementInbox.receive(msg.hop, async (opened) => {
            this.disbursements.set(opened.header.applicationId, opened.fields);
            await this.opts.vault?.put(opened.header.applicationId, 'disbursement', opened.header.hopId, opened.fields);
          });
          ctx.body = { receipt: done.receipt };
          return;
        }
        const answer = await this.inbox.receive(msg.hop, async (opened) => {
          const d = decisionOf(opened);
          this.decisions.set(d.applicationId, d);
          await this.opts.vault?.put(d.applicationId, 'decision', d.hopId, d);
          return d;
        });
        ctx.body = { receipt: answer.receipt };
      } catch (err) {
        const e = toDzlError(err);
        ctx.status = e.httpStatus;
        ctx.body = { error: e.toJSON() };
      }
    });
    return app;
  }

  async listenForCallbacks(port = 0): Promise<string> {
    const host = this.opts.callbackHost ?? '127.0.0.1';
    const server = await listenBounded(this.callbackApp().callback(), port, host);
    this.server = server;
    this.callbackUrl = `http://${host}:${(server.address() as AddressInfo).port}/dzl/callback`;
    return this.callbackUrl;
  }

  /** What the platform holds of an application: from memory, or from its vault after a restart. */
  async record(applicationId: string): Promise<PlatformRecord> {
    const vault = this.opts.vault;
    const outcome = this.outcomes.get(applicationId) ?? (await vault?.get<PlatformRecord['outcome']>(applicationId, 'outcome', 'final'));
    const kept = (await vault?.list<ReceivedDecision>(applicationId, 'decision')) ?? [];
    const decision = this.decisions.get(applicationId) ?? kept[0]?.value;
    const disbursement = this.disbursements.get(applicationId) ?? (await vault?.list<Fields>(applicationId, 'disbursement'))?.[0]?.value;
    const decisionsOpened = vault ? kept.length : decision ? 1 : 0;
    return { ...(outcome ? { outcome } : {}), ...(decision ? { decision } : {}), ...(disbursement ? { disbursement } : {}), decisionsOpened };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

