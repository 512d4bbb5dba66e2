/**
 * Reference funding bank (a kit a bank adapts): receives the channel's credit report, lets its
 * decision engine decide (a plug-in: services/parties/plugins.ts), and seals the decision for the
 * platform. The header says approved|declined (the router routes on it); limit, rate and term
 * travel sealed. What it received and what it answered stay in its encrypted vault, so a
 * redelivery after a restart is answered with the same decision, never a second one.
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError, isErrorCode } from '../common/errors';
import { namespaced } from '../domain/ids';
import type { NoticeBody } from '../evidence/lifecycle';
import { classifyPartyFailure, clientCredentials, fromGrpcError, hopFromWire, hopToWire, loadDzlProtos, receiptFromWire, receiptToWire, startGrpcServer, unaryCall, type WireHop, type WireReceipt } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import type { Vault } from '../atrest/vault';
import { decodeHop, type Fields, type OpenedHop, type SealedHop } from '../seal/hop';
import { verifyReceipt, type SignedReceipt } from '../seal/receipt';
import { checkOpenedRedirect, readRedirectToken } from '../seal/redirectToken';
import { signRequest } from '../seal/requestSignature';
import { fromRouter } from './grpcHandler';
import { PartyInbox } from './inbox';
import { deleteApplicationData, isWithdrawn, NoticeDesk } from './notices';
import type { PartyObserver } from './observer';
import { referenceDecisionEngine, type BankDecision, type DecisionEngine } from './plugins';
import { sealReply } from './replySealer';

export { decide, type BankDecision } from './plugins';

export interface BankOptions {
  identity: PartyIdentity;
  directory: () => NetworkDirectory;
  /** The bank's credit decision (default: the reference policy). */
  engine?: DecisionEngine;
  /**
   * Asynchronous banks answer a delivery with a receipt only and submit the decision later
   * through the router's RouterService.SubmitDecision (mutual TLS).
   */
  async?: { afterMs: number };
  /** Report the disbursement of each approved loan this long after approving it (ms). */
  disburseAfterMs?: number;
  /** The router's gRPC endpoint, for asynchronous decisions, redirect claims and disbursements. */
  routerGrpc?: string;
  /** Where the bank keeps what customers and the channel gave it, encrypted at rest. */
  vault: Vault;
  /** The router's HTTP API: where the bank registers (and withdraws) the consent given on its page. */
  routerUrl?: string;
  observer?: PartyObserver;
}

interface RouterAnswer {
  status: number;
  body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

/** A decision as the bank keeps it: its full terms, and the sealed hop it answered with. */
interface KeptDecision {
  decision: BankDecision;
  hop: SealedHop;
}

export class ReferenceBank {
  private readonly inbox: PartyInbox<SealedHop | undefined>;
  private readonly redirectInbox: PartyInbox<void>;
  readonly notices: NoticeDesk;
  private readonly engine: DecisionEngine;
  private readonly observer: PartyObserver;
  private readonly pending = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly opts: BankOptions) {
    this.engine = opts.engine ?? referenceDecisionEngine();
    this.observer = opts.observer ?? {};
    this.inbox = new PartyInbox(opts.identity, opts.directory, 'credit_report');
    this.redirectInbox = new PartyInbox(opts.identity, opts.directory, 'redirect');
    this.notices = new NoticeDesk(opts.identity, opts.directory, async (n) => this.forget(n), this.observer);
  }

  get partyId(): string {
    return this.opts.identity.partyId;
  }

  /**
   * Work the bank does later (an asynchronous decision, a disbursement). If it fails, nothing is
   * sent: the router's decision timeout, or the platform's reconciliation, shows it.
   */
  private later(ms: number, work: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.pending.delete(t);
      if (!this.closed) work().catch(() => undefined);
    }, ms);
    t.unref();
    this.pending.add(t);
  }

  /** Stops the bank's pending work (before its store closes). */
  close(): void {
    this.closed = true;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }

  /** A withdrawal stops the application here; either notice deletes what we hold of it. */
  private async forget(n: NoticeBody): Promise<void> {
    await deleteApplicationData(this.opts.vault, n);
    this.inbox.forget(n.hops);
    this.redirectInbox.forget(n.hops);
  }

  /** Direct redirect: what the customer filled in on the bank's page (the bank's own data). */
  saveH5Application(applicationId: string, fields: Fields): Promise<void> {
    return this.opts.vault.put(applicationId, 'h5_application', 'form', fields);
  }

  h5Application(applicationId: string): Promise<Fields | undefined> {
    return this.opts.vault.get<Fields>(applicationId, 'h5_application', 'form');
  }

  /** The bank's full decision (limit, rate, term), shown on its own page in the redirect model. */
  async fullDecision(applicationId: string): Promise<BankDecision | undefined> {
    const kept = await this.opts.vault.list<KeptDecision>(applicationId, 'decision');
    return kept[0]?.value.decision;
  }

  /** The credit reports the bank received for an application (the channel's product, the elements). */
  async creditReports(applicationId: string): Promise<Fields[]> {
    return (await this.opts.vault.list<Fields>(applicationId, 'credit_report')).map((e) => e.value);
  }

  /** The redirect token the platform handed over for an application, if one came. */
  redirectToken(applicationId: string): Promise<string | undefined> {
    return this.opts.vault.get<string>(applicationId, 'redirect', 'token');
  }

  /**
   * Redirect model: the customer consented on our page; the router records that consent (ours)
   * beside the platform's, so that a withdrawal on our side stops the application too.
   */
  async registerConsent(applicationId: string, text: { version: string; sha256: string }, deviceDigest: string): Promise<string> {
    const now = new Date();
    const consent = {
      id: this.consentIdFor(applicationId),
      applicationId,
      textVersion: text.version,
      textSha256: text.sha256,
      purposes: ['credit_assessment', 'loan_contracting'],
      recipients: [this.opts.directory().channelOfBank(this.partyId), this.partyId],
      grantedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 365 * 24 * 3600_000).toISOString(),
      actedAt: now.toISOString(),
      deviceDigest,
    };
    const res = await this.routerRequest('POST', '/v1/consents', consent);
    if (res.status !== 201 && res.status !== 200) {
      const code = res.body.error?.code;
      throw new DzlError(isErrorCode(code) ? code : 'PARTY_UNAVAILABLE', `the router refused the bank's consent: ${res.body.error?.message ?? res.status}`);
    }
    return consent.id;
  }

  /** The consent the customer gave on our page for an application, in our namespace. */
  consentIdFor(applicationId: string): string {
    return namespaced(this.partyId, `consent_${applicationId.slice(applicationId.indexOf(':') + 1)}`);
  }

  /** The customer withdrew on our page (redirect model): recorded at the router, which stops the application. */
  async withdrawConsent(applicationId: string, deviceDigest?: string): Promise<RouterAnswer> {
    return this.routerRequest('POST', `/v1/consents/${encodeURIComponent(this.consentIdFor(applicationId))}/withdraw`, { actedAt: new Date().toISOString(), ...(deviceDigest ? { deviceDigest } : {}) });
  }

  private async routerRequest(method: string, path: string, body: unknown): Promise<RouterAnswer> {
    if (!this.opts.routerUrl) throw new Error(`${this.partyId} has no router URL configured`);
    const bytes = Buffer.from(JSON.stringify(body));
    const res = await fetch(this.opts.routerUrl + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: signRequest(this.opts.identity.signing, method, path, bytes) },
      body: bytes,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as RouterAnswer['body'] };
  }

  /** Whether a withdrawal stopped this application (a pending decision is then never sent). */
  isStopped(applicationId: string): Promise<boolean> {
    return isWithdrawn(this.opts.vault, applicationId);
  }

  /**
   * The platform's redirect hop carries the router's token for this application and this bank,
   * and nothing else: any other field, or a token the router did not issue for it, is refused.
   */
  async deliverRedirect(hop: SealedHop | undefined): Promise<{ receipt: SignedReceipt }> {
    const answer = await this.redirectInbox.receive(hop, async (opened) => {
      const { applicationId } = opened.header;
      const token = checkOpenedRedirect(opened);
      // signed by the router, for this application and this bank (its expiry is the claim's to check)
      const claims = readRedirectToken(token, this.opts.directory().signerOf, 0);
      if (claims.a !== applicationId || claims.b !== this.partyId) {
        throw new DzlError('REDIRECT_TOKEN_INVALID', 'the redirect hop carries a token the router did not issue for this application at this bank');
      }
      await this.opts.vault.put(applicationId, 'redirect', 'token', token);
    });
    return { receipt: answer.receipt };
  }

  private routerClient(): grpc.Client {
    if (!this.opts.routerGrpc) throw new Error(`${this.partyId} has no router endpoint configured`);
    const { RouterService } = loadDzlProtos();
    return new RouterService(this.opts.routerGrpc, clientCredentials(this.opts.identity, 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
  }

  private async callRouter<T>(method: string, request: object): Promise<T> {
    const client = this.routerClient();
    try {
      return await unaryCall<object, T>(client, method, request, 10_000);
    } finally {
      client.close();
    }
  }

  /**
   * A call the bank makes on its own (an asynchronous decision, a disbursement): retried while
   * the router answers that it cannot take it yet or cannot be reached (PARTY_UNAVAILABLE,
   * UNAVAILABLE, a deadline), within a bounded budget; any other answer is final.
   */
  private async callRouterRetrying<T>(method: string, request: object, attempts = 8): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await this.callRouter<T>(method, request);
      } catch (err) {
        if (i >= attempts || this.closed || !classifyPartyFailure(err).transient) throw err;
        await new Promise((r) => setTimeout(r, Math.min(4_000, 250 * 2 ** (i - 1))));
      }
    }
  }

  /** The customer applied on our page with this token: claim it at the router (once). */
  async claim(token: string): Promise<string> {
    try {
      return (await this.callRouter<{ application_id: string }>('ClaimRedirect', { token })).application_id;
    } catch (err) {
      throw fromGrpcError(err) ?? err;
    }
  }

  async deliverCreditReport(hop: SealedHop | undefined): Promise<{ receipt: SignedReceipt; decisionHop?: SealedHop }> {
    const answer = await this.inbox.receive(hop, async (opened) => {
      const { applicationId, hopId } = opened.header;
      if (await this.isStopped(applicationId)) {
        throw new DzlError('CONSENT_WITHDRAWN', `the router told ${this.partyId} the customer withdrew consent for ${applicationId}`);
      }
      // a report answered before (this process or an earlier one) gets the same answer
      const kept = await this.opts.vault.get<KeptDecision>(applicationId, 'decision', hopId);
      if (kept) return this.opts.async ? undefined : kept.hop;
      await this.opts.vault.put(applicationId, 'credit_report', hopId, opened.fields);
      this.observer.creditReportReceived?.({ applicationId, hopId });
      if (!this.opts.async) return this.decideAndSeal(opened);
      this.later(this.opts.async.afterMs, () => this.decideLater(opened));
      return undefined;
    });
    return { receipt: answer.receipt, ...(answer.result ? { decisionHop: answer.result } : {}) };
  }

  private async decideLater(opened: OpenedHop): Promise<void> {
    const { applicationId } = opened.header;
    if (await this.isStopped(applicationId)) return;
    const hop = await this.decideAndSeal(opened);
    if (await this.isStopped(applicationId)) return;
    const hopId = decodeHop(hop).header.hopId;
    try {
      const res = await this.callRouterRetrying<{ accepted: boolean }>('SubmitDecision', { decision_hop: hopToWire(hop) });
      this.observer.decisionSubmitted?.({ applicationId, hopId, accepted: res.accepted });
    } catch (err) {
      this.observer.decisionSubmitted?.({ applicationId, hopId, accepted: false, code: fromGrpcError(err)?.code ?? 'PARTY_UNAVAILABLE' });
    }
  }

  private async decideAndSeal(opened: OpenedHop): Promise<SealedHop> {
    const { header } = opened;
    // in the redirect model the application elements are the bank's own, from its page
    const fields = { ...((await this.h5Application(header.applicationId)) ?? {}), ...opened.fields };
    const d = await this.engine.decide(fields);
    // the platform learns the status only when the customer applied with the bank directly
    const forPlatform: Fields =
      header.model === 'direct_redirect'
        ? { 'decision.status': d.fields['decision.status']!, ...(d.fields['decision.reasonCode'] ? { 'decision.reasonCode': d.fields['decision.reasonCode'] } : {}) }
        : d.fields;
    const sealed = sealReply(this.opts.identity, this.opts.directory(), opened, { kind: 'decision', to: header.platform, fields: forPlatform, outcome: d.outcome, provenance: this.engine.model }).sealed;
    await this.opts.vault.put(header.applicationId, 'decision', header.hopId, { decision: d, hop: sealed } satisfies KeptDecision);
    this.observer.decided?.({ applicationId: header.applicationId, creditReportHopId: header.hopId, outcome: d.outcome, product: `${String(fields['product.name'])} ${String(fields['product.version'])}` });
    if (d.outcome.status === 'approved' && this.opts.disburseAfterMs !== undefined) {
      this.later(this.opts.disburseAfterMs, () => this.reportDisbursement(sealed, opened, Number(d.fields['decision.limit'] ?? 0)));
    }
    return sealed;
  }

  /**
   * The router refused the decision we returned with a delivery (BankService.DecisionRefused):
   * its signed rejection of one of our decision hops for that application. Kept, so the approval
   * is never treated as standing (no disbursement follows it).
   */
  async decisionRefused(applicationId: string, input: unknown): Promise<{ hopId: string; code: string }> {
    const kept = await this.opts.vault.list<KeptDecision>(applicationId, 'decision');
    for (const k of kept) {
      const h = decodeHop(k.value.hop);
      let receipt;
      try {
        receipt = verifyReceipt(input, { hopId: h.header.hopId, headerDigest: h.headerDigest, by: 'router' }, this.opts.directory().signerOf);
      } catch {
        continue;
      }
      if (receipt.body.status !== 'rejected') break;
      const code = String(receipt.body.reason ?? 'ROUTE_NOT_ALLOWED');
      await this.opts.vault.put(applicationId, 'decision_refused', h.header.hopId, { code, receivedAt: new Date().toISOString() });
      this.observer.decisionRefused?.({ applicationId, hopId: h.header.hopId, code });
      return { hopId: h.header.hopId, code };
    }
    throw new DzlError('RECEIPT_INVALID', `not the router's signed rejection of a decision ${this.partyId} returned for that application`);
  }

  /** Whether the router refused this decision hop of ours. */
  async wasRefused(applicationId: string, decisionHopId: string): Promise<boolean> {
    return (await this.opts.vault.get(applicationId, 'decision_refused', decisionHopId)) !== undefined;
  }

  private async reportDisbursement(decisionHop: SealedHop, opened: OpenedHop, amount: number): Promise<void> {
    const { header } = opened;
    // an approval the router refused stands nowhere, and a withdrawn application is stopped: nothing to disburse
    if (await this.wasRefused(header.applicationId, decodeHop(decisionHop).header.hopId)) return;
    if (await this.isStopped(header.applicationId)) return;
    const hop = sealReply(this.opts.identity, this.opts.directory(), opened, {
      kind: 'disbursement',
      to: header.platform,
      parentHopId: decodeHop(decisionHop).header.hopId,
      fields: { 'disbursement.amount': amount, 'disbursement.at': new Date().toISOString(), 'disbursement.loanId': `LN${Date.now()}${Math.floor(Math.random() * 1000)}` },
    });
    try {
      await this.callRouterRetrying('ReportDisbursement', { disbursement_hop: hopToWire(hop.sealed) });
      this.observer.disbursementReported?.({ applicationId: header.applicationId, hopId: hop.header.hopId, accepted: true });
    } catch (err) {
      this.observer.disbursementReported?.({ applicationId: header.applicationId, hopId: hop.header.hopId, accepted: false, code: fromGrpcError(err)?.code ?? 'PARTY_UNAVAILABLE' });
    }
  }

  grpcImplementation(): grpc.UntypedServiceImplementation {
    return {
      DeliverCreditReport: fromRouter(this.opts.directory, 'delivers credit reports to a bank', async (req: { hop?: WireHop }) => {
        const r = await this.deliverCreditReport(hopFromWire(req.hop));
        return { receipt: receiptToWire(r.receipt), ...(r.decisionHop ? { decision_hop: hopToWire(r.decisionHop) } : {}) };
      }),
      DeliverRedirect: fromRouter(this.opts.directory, 'delivers redirect hops to a bank', async (req: { hop?: WireHop }) => ({ receipt: receiptToWire((await this.deliverRedirect(hopFromWire(req.hop))).receipt) })),
      ReceiveNotice: this.notices.grpcHandler(),
      DecisionRefused: fromRouter(this.opts.directory, 'tells a bank its decision was refused', async (req: { receipt?: WireReceipt; application_id?: string }) => {
        await this.decisionRefused(req.application_id ?? '', receiptFromWire(req.receipt));
        return {};
      }),
    };
  }

  async listen(address = '127.0.0.1:0'): Promise<{ server: grpc.Server; address: string }> {
    const { BankService } = loadDzlProtos();
    return startGrpcServer(this.opts.identity, [{ service: BankService.service, impl: this.grpcImplementation() }], address);
  }
}
