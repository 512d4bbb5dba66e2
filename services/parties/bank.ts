/**
 * Reference funding bank: receives the channel's credit report, makes its own decision, and
 * seals the decision for the platform. The header says approved|declined (the router routes
 * on it); limit, rate and term travel sealed.
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError, isErrorCode, toDzlError } from '../common/errors';
import { classOf } from '../fields/catalogue';
import { callerParty, clientCredentials, fromGrpcError, hopFromWire, hopToWire, loadDzlProtos, receiptToWire, startGrpcServer, toGrpcError, unaryCall, type WireHop } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { decodeHop, sealHop, type DecisionOutcome, type Fields, type OpenedHop, type SealedHop } from '../seal/hop';
import type { SignedReceipt } from '../seal/receipt';
import { PartyInbox } from './inbox';
import type { Vault } from '../atrest/vault';
import { signRequest } from '../seal/requestSignature';
import { deleteApplicationData, isWithdrawn, NoticeDesk } from './notices';
import type { NoticeBody } from '../evidence/lifecycle';

export interface BankOptions {
  identity: PartyIdentity;
  directory: () => NetworkDirectory;
  /** Lowest channel score the bank lends at. */
  scoreCutoff?: number;
  /** Time the bank takes to decide (ms): tests use it to interrupt a flow mid-way. */
  decisionDelayMs?: number;
  /**
   * Asynchronous banks answer a delivery with a receipt only and submit the decision later
   * through the router's RouterService.SubmitDecision (mutual TLS).
   */
  async?: { routerGrpc: string; afterMs: number };
  /** The bank's credit policy; the reference one is `decide`. */
  policy?: (fields: Fields) => BankDecision;
  /** Report the disbursement of each approved loan this long after approving it (ms). */
  disburseAfterMs?: number;
  /** The router's gRPC endpoint, for asynchronous decisions, redirect claims and disbursements. */
  routerGrpc?: string;
  /** Where the bank keeps what customers and the channel gave it, encrypted at rest. */
  vault: Vault;
  /** The router's HTTP API: where the bank registers (and withdraws) the consent given on its page. */
  routerUrl?: string;
  /** The bank's decision model, named in each decision's provenance (PIPL Art. 24). */
  model?: { name: string; version: string };
}

interface RouterAnswer {
  status: number;
  body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

export const DEFAULT_BANK_MODEL = { name: 'DZL-RefBank-Policy', version: '2026.11' };

export interface BankDecision {
  outcome: DecisionOutcome;
  fields: Fields;
}

export function decide(fields: Fields, cutoff = 600): BankDecision {
  const score = Number(fields['product.score'] ?? 0);
  const amount = Number(fields['loan.amount'] ?? 0);
  const term = Number(fields['loan.termMonths'] ?? 12);
  if (fields['product.antiFraud'] === 'reject') {
    return { outcome: { status: 'declined', reasonCode: 'ANTI_FRAUD_REJECT' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'ANTI_FRAUD_REJECT' } };
  }
  if (score < cutoff) {
    return { outcome: { status: 'declined', reasonCode: 'SCORE_BELOW_CUTOFF' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'SCORE_BELOW_CUTOFF' } };
  }
  const cap = (score - cutoff + 50) * 200_000; // fen: a better score earns a higher limit
  const limit = Math.min(amount, cap);
  const apr = Math.max(720, 2400 - (score - cutoff) * 8);
  return {
    outcome: { status: 'approved' },
    fields: { 'decision.status': 'approved', 'decision.limit': limit, 'decision.aprBasisPoints': apr, 'decision.termMonths': term },
  };
}

export class ReferenceBank {
  private readonly inbox: PartyInbox<SealedHop | undefined>;
  /** Every decision this bank made, by application: a retried delivery must not add one. */
  readonly decisions: { applicationId: string; hopId: string; outcome: DecisionOutcome; productVersion: string }[] = [];
  /** Answers of the router to asynchronous decisions, by decision hop id. */
  readonly submitted = new Map<string, { accepted: boolean; code?: string }>();
  /** Every credit report received (application ids), whether or not the bank decided. */
  readonly received: string[] = [];
  /** Redirect tokens the platforms handed over (platform → bank hops), by application. */
  readonly expectedTokens = new Map<string, string>();
  readonly disbursed = new Map<string, { hopId: string; accepted: boolean; code?: string }>();
  private readonly redirectInbox: PartyInbox<void>;
  readonly notices: NoticeDesk;

  constructor(private readonly opts: BankOptions) {
    this.inbox = new PartyInbox(opts.identity, opts.directory, 'credit_report');
    this.redirectInbox = new PartyInbox(opts.identity, opts.directory, 'redirect');
    this.notices = new NoticeDesk(opts.identity, opts.directory, async (n) => this.forget(n));
  }

  private readonly pending = new Set<NodeJS.Timeout>();
  private closed = false;

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
    this.expectedTokens.delete(n.applicationId);
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
  fullDecision(applicationId: string): Promise<BankDecision | undefined> {
    return this.opts.vault.get<BankDecision>(applicationId, 'decision', 'full');
  }

  /** The credit reports the bank received for an application (the channel's product, the elements). */
  async creditReports(applicationId: string): Promise<Fields[]> {
    return (await this.opts.vault.list<Fields>(applicationId, 'credit_report')).map((e) => e.value);
  }

  /**
   * Redirect model: the customer consented on our page; the router records that consent (ours)
   * beside the platform's, so that a withdrawal on our side stops the application too.
   */
  async registerConsent(applicationId: string, text: { version: string; sha256: string }, deviceDigest: string): Promise<string> {
    const now = new Date();
    const consent = {
      id: `consent_${this.partyId}_${applicationId}`,
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

  /** The customer withdrew on our page (redirect model): recorded at the router, which stops the application. */
  async withdrawConsent(applicationId: string, deviceDigest?: string): Promise<RouterAnswer> {
    return this.routerRequest('POST', `/v1/consents/consent_${this.partyId}_${applicationId}/withdraw`, { actedAt: new Date().toISOString(), ...(deviceDigest ? { deviceDigest } : {}) });
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

  async deliverRedirect(hop: SealedHop | undefined): Promise<{ receipt: SignedReceipt }> {
    const answer = await this.redirectInbox.receive(hop, async (opened) => {
      this.expectedTokens.set(opened.header.applicationId, String(opened.fields['redirect.token']));
    });
    return { receipt: answer.receipt };
  }

  private routerClient(): grpc.Client {
    const endpoint = this.opts.routerGrpc ?? this.opts.async?.routerGrpc;
    if (!endpoint) throw new Error(`${this.partyId} has no router endpoint configured`);
    const { RouterService } = loadDzlProtos();
    return new RouterService(endpoint, clientCredentials(this.opts.identity, 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
  }

  /** The customer applied on our page with this token: claim it at the router (once). */
  async claim(token: string): Promise<string> {
    const client = this.routerClient();
    try {
      const res = await unaryCall<object, { application_id: string }>(client, 'ClaimRedirect', { token }, 10_000);
      return res.application_id;
    } catch (err) {
      throw fromGrpcError(err) ?? err;
    } finally {
      client.close();
    }
  }

  private async reportDisbursement(decisionHop: SealedHop, opened: OpenedHop, amount: number): Promise<void> {
    const { header } = opened;
    const decisionHopId = decodeHop(decisionHop).header.hopId;
    const hop = sealHop(this.opts.identity.signing, {
      parentHopId: decisionHopId,
      applicationId: header.applicationId,
      kind: 'disbursement',
      model: header.model,
      to: this.opts.directory().encryptionCertificate(header.platform),
      platform: header.platform,
      channel: header.channel,
      consentRef: header.consentRef,
      fields: { 'disbursement.amount': amount, 'disbursement.at': new Date().toISOString(), 'disbursement.loanId': `LN${Date.now()}${Math.floor(Math.random() * 1000)}` },
      salt: opened.salt,
      classOf,
    });
    const client = this.routerClient();
    try {
      await unaryCall(client, 'ReportDisbursement', { disbursement_hop: hopToWire(hop.sealed) }, 10_000);
      this.disbursed.set(header.applicationId, { hopId: hop.header.hopId, accepted: true });
    } catch (err) {
      this.disbursed.set(header.applicationId, { hopId: hop.header.hopId, accepted: false, code: fromGrpcError(err)?.code ?? 'UNAVAILABLE' });
    } finally {
      client.close();
    }
  }

  get partyId(): string {
    return this.opts.identity.partyId;
  }

  async deliverCreditReport(hop: SealedHop | undefined): Promise<{ receipt: SignedReceipt; decisionHop?: SealedHop }> {
    const answer = await this.inbox.receive(hop, async (opened) => {
      if (await this.isStopped(opened.header.applicationId)) {
        throw new DzlError('CONSENT_WITHDRAWN', `the router told ${this.partyId} the customer withdrew consent for ${opened.header.applicationId}`);
      }
      this.received.push(opened.header.applicationId);
      await this.opts.vault.put(opened.header.applicationId, 'credit_report', opened.header.hopId, opened.fields);
      if (!this.opts.async) return this.decideAndSeal(opened);
      const { routerGrpc, afterMs } = this.opts.async;
      this.later(afterMs, () => this.decideLater(opened, routerGrpc));
      return undefined;
    });
    return { receipt: answer.receipt, ...(answer.result ? { decisionHop: answer.result } : {}) };
  }

  private async decideLater(opened: OpenedHop, routerGrpc: string): Promise<void> {
    if (await this.isStopped(opened.header.applicationId)) return;
    const hop = await this.decideAndSeal(opened);
    if (await this.isStopped(opened.header.applicationId)) return;
    const { RouterService } = loadDzlProtos();
    const client = new RouterService(routerGrpc, clientCredentials(this.opts.identity, 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
    const hopId = decodeHop(hop).header.hopId;
    try {
      const res = await unaryCall<object, { accepted: boolean }>(client, 'SubmitDecision', { decision_hop: hopToWire(hop) }, 10_000);
      this.submitted.set(hopId, { accepted: res.accepted });
    } catch (err) {
      this.submitted.set(hopId, { accepted: false, code: fromGrpcError(err)?.code ?? 'UNAVAILABLE' });
    } finally {
      client.close();
    }
  }

  private async decideAndSeal(opened: OpenedHop): Promise<SealedHop> {
    if (this.opts.decisionDelayMs) await new Promise((r) => setTimeout(r, this.opts.decisionDelayMs));
    const { header } = opened;
    // in the redirect model the application elements are the bank's own, from its page
    const fields = { ...((await this.h5Application(header.applicationId)) ?? {}), ...opened.fields };
    const d = (this.opts.policy ?? ((f: Fields) => decide(f, this.opts.scoreCutoff)))(fields);
    await this.opts.vault.put(header.applicationId, 'decision', 'full', d);
    // the platform learns the status only when the customer applied with the bank directly
    const forPlatform: Fields =
      header.model === 'direct_redirect'
        ? { 'decision.status': d.fields['decision.status']!, ...(d.fields['decision.reasonCode'] ? { 'decision.reasonCode': d.fields['decision.reasonCode'] } : {}) }
        : d.fields;
    this.decisions.push({ applicationId: header.applicationId, hopId: header.hopId, outcome: d.outcome, productVersion: `${String(fields['product.name'])} ${String(fields['product.version'])}` });
    const sealed = sealHop(this.opts.identity.signing, {
      parentHopId: header.hopId,
      applicationId: header.applicationId,
      kind: 'decision',
      model: header.model,
      to: this.opts.directory().encryptionCertificate(header.platform),
      platform: header.platform,
      channel: header.channel,
      consentRef: header.consentRef,
      fields: forPlatform,
      salt: opened.salt,
      classOf,
      outcome: d.outcome,
      provenance: this.opts.model ?? DEFAULT_BANK_MODEL,
    }).sealed;
    if (d.outcome.status === 'approved' && this.opts.disburseAfterMs !== undefined) {
      this.later(this.opts.disburseAfterMs, () => this.reportDisbursement(sealed, opened, Number(d.fields['decision.limit'] ?? 0)));
    }
    return sealed;
  }

  grpcImplementation(): grpc.UntypedServiceImplementation {
    return {
      DeliverCreditReport: (call: grpc.ServerUnaryCall<{ hop?: WireHop }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (callerParty(call) !== 'router') {
          cb(toGrpcError(new DzlError('REQUEST_UNAUTHENTICATED', 'only the router delivers credit reports to a bank')));
          return;
        }
        this.deliverCreditReport(hopFromWire(call.request.hop))
          .then((r) => cb(null, { receipt: receiptToWire(r.receipt), ...(r.decisionHop ? { decision_hop: hopToWire(r.decisionHop) } : {}) }))
          .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
      },
      ReceiveNotice: this.notices.grpcHandler(),
      DeliverRedirect: (call: grpc.ServerUnaryCall<{ hop?: WireHop }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (callerParty(call) !== 'router') {
          cb(toGrpcError(new DzlError('REQUEST_UNAUTHENTICATED', 'only the router delivers redirect hops to a bank')));
          return;
        }
        this.deliverRedirect(hopFromWire(call.request.hop))
          .then((r) => cb(null, { receipt: receiptToWire(r.receipt) }))
          .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
      },
    };
  }

  async listen(address = '127.0.0.1:0'): Promise<{ server: grpc.Server; address: string }> {
    const { BankService } = loadDzlProtos();
    return startGrpcServer(this.opts.identity, [{ service: BankService.service, impl: this.grpcImplementation() }], address);
  }
}
