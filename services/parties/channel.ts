/**
 * Reference licensed credit-reporting channel (a kit a channel adapts): it receives a
 * platform's sealed application, keeps it, turns it into a credit product, and seals for the
 * bank only what the minimisation policy gives that bank in that model: in the data channel, the
 * application elements the bank needs plus that product; in the redirect model, the product
 * alone (the customer applied on the bank's own page). Never the platform's raw risk fields.
 */
import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { DzlError, toDzlError } from '../common/errors';
import { classOf } from '../fields/catalogue';
import { callerParty, hopFromWire, hopToWire, loadDzlProtos, receiptToWire, startGrpcServer, toGrpcError, type WireHop } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { sealHop, type Fields, type OpenedHop, type SealedHop } from '../seal/hop';
import { PartyInbox } from './inbox';
import { minimalFieldsFor } from '../routing/minimisation';
import type { Vault } from '../atrest/vault';
import { b64url, fromB64url } from '../seal/bytes';
import { deleteApplicationData, isWithdrawn, NoticeDesk } from './notices';
import type { NoticeBody } from '../evidence/lifecycle';


export interface CreditProduct {
  'product.name': string;
  'product.version': string;
  'product.score': number;
  'product.riskLabels': string[];
  'product.antiFraud': 'pass' | 'review' | 'reject';
}

export interface ChannelOptions {
  identity: PartyIdentity;
  directory: () => NetworkDirectory;
  product?: { name: string; version: string };
  /** Where the channel keeps the applications it received, encrypted at rest. */
  vault: Vault;
  /** Test hook for a misbehaving channel: extra fields it would (wrongly) forward to the bank. */
  leakFields?: string[];
}

/** A deterministic stand-in for a channel's model: the same application gives the same product. */
export const DEFAULT_PRODUCT = { name: 'DZL-CreditScore', version: '2026.11' };

export function scoreApplication(fields: Fields, product = DEFAULT_PRODUCT): CreditProduct {
  const platformScore = typeof fields['risk.platformScore'] === 'number' ? (fields['risk.platformScore'] as number) : 500;
  const multiLoan = typeof fields['risk.multiLoanCount'] === 'number' ? (fields['risk.multiLoanCount'] as number) : 0;
  const income = typeof fields['customer.monthlyIncome'] === 'number' ? (fields['customer.monthlyIncome'] as number) : 0;
  const jitter = createHash('sha256').update(String(fields['customer.idNumber'] ?? '')).digest()[0]! % 21;
  const score = Math.max(300, Math.min(850, Math.round(300 + platformScore * 0.45 + Math.min(income / 1000, 150) - multiLoan * 25 + jitter)));
  const labels = [
    ...(multiLoan >= 4 ? ['MULTI_LOAN_HIGH'] : []),
    ...(income >= 1_000_000 ? ['INCOME_STABLE'] : []),
    ...(score < 550 ? ['THIN_FILE'] : []),
  ];
  const antiFraud = multiLoan >= 8 ? 'reject' : multiLoan >= 5 ? 'review' : 'pass';
  return { 'product.name': product.name, 'product.version': product.version, 'product.score': score, 'product.riskLabels': labels, 'product.antiFraud': antiFraud };
}

export class ReferenceChannel {
  private readonly inbox: PartyInbox<SealedHop>;
  private readonly reports = new Map<string, SealedHop>();
  readonly notices: NoticeDesk;

  constructor(private readonly opts: ChannelOptions) {
    this.inbox = new PartyInbox(opts.identity, opts.directory, 'application');
    this.notices = new NoticeDesk(opts.identity, opts.directory, async (n) => this.forget(n));
  }

  /** A withdrawal or a deletion notice: everything kept of the application's hops goes. */
  private async forget(n: NoticeBody): Promise<void> {
    for (const hopId of n.hops) {
      for (const key of [...this.reports.keys()]) if (key.startsWith(`${hopId}\n`)) this.reports.delete(key);
    }
    await deleteApplicationData(this.opts.vault, n);
    this.inbox.forget(n.hops);
  }

  /** What the channel keeps of an application hop (it stores what it receives, as a credit-reporting agency must). */
  async kept(applicationId: string, hopId: string): Promise<OpenedHop | undefined> {
    const k = await this.opts.vault.get<{ header: OpenedHop['header']; fields: Fields; salt: string }>(applicationId, 'application_hop', hopId);
    return k ? { header: k.header, fields: k.fields, salt: fromB64url(k.salt)! } : undefined;
  }

  get partyId(): string {
    return this.opts.identity.partyId;
  }

  async processApplication(hop: SealedHop | undefined, bankId: string): Promise<{ receipt: import('../seal/receipt').SignedReceipt; bankHop?: SealedHop }> {
    const answer = await this.inbox.receive(hop, async (opened) => this.toBank(opened, bankId));
    return { receipt: answer.receipt, ...(answer.result ? { bankHop: answer.result } : {}) };
  }

  /** The credit report of an application already held, sealed for another bank; once per bank. */
  async reportToBank(applicationId: string, applicationHopId: string, bankId: string): Promise<SealedHop> {
    const opened = await this.kept(applicationId, applicationHopId);
    if (!opened) throw new DzlError('APPLICATION_NOT_FOUND', `${this.partyId} holds no application hop ${applicationHopId}`);
    return this.toBank(opened, bankId);
  }

  private async toBank(opened: OpenedHop, bankId: string): Promise<SealedHop> {
    const { header, fields } = opened;
    if (await isWithdrawn(this.opts.vault, header.applicationId)) {
      throw new DzlError('CONSENT_WITHDRAWN', `the router told ${this.partyId} the customer withdrew consent for ${header.applicationId}`);
    }
    await this.opts.vault.put(header.applicationId, 'application_hop', header.hopId, { header, fields, salt: b64url(opened.salt) });
    const key = `${header.hopId}\n${bankId}`;
    const done = this.reports.get(key);
    if (done) return done;
    const product = this.opts.product ?? DEFAULT_PRODUCT;
    // only what the minimisation policy gives this bank in this model (contracts/minimisation.json)
    const allowed = minimalFieldsFor(header.model, bankId);
    const forBank: Fields = {};
    for (const [f, v] of Object.entries({ ...fields, ...scoreApplication(fields, product) })) if (allowed(f)) forBank[f] = v;
    // the misbehaving-channel test hook forwards these regardless, so the router's refusal stays testable
    for (const f of this.opts.leakFields ?? []) if (f in fields) forBank[f] = fields[f]!;
    const directory = this.opts.directory();
    const sealed = sealHop(this.opts.identity.signing, {
      parentHopId: header.hopId,
      applicationId: header.applicationId,
      kind: 'credit_report',
      provenance: product,
      model: header.model,
      to: directory.encryptionCertificate(bankId),
      platform: header.platform,
      channel: this.partyId,
      consentRef: header.consentRef,
      fields: forBank,
      salt: opened.salt,
      classOf,
    });
    this.reports.set(key, sealed.sealed);
    return sealed.sealed;
  }

  grpcImplementation(): grpc.UntypedServiceImplementation {
    return {
      ProcessApplication: (call: grpc.ServerUnaryCall<{ hop?: WireHop; bank_id?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (callerParty(call) !== 'router') {
          cb(toGrpcError(new DzlError('REQUEST_UNAUTHENTICATED', 'only the router delivers applications to a channel')));
          return;
        }
        this.processApplication(hopFromWire(call.request.hop), call.request.bank_id ?? '')
          .then((r) => cb(null, { receipt: receiptToWire(r.receipt), ...(r.bankHop ? { bank_hop: hopToWire(r.bankHop) } : {}) }))
          .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
      },
      ReceiveNotice: this.notices.grpcHandler(),
      ReportToBank: (call: grpc.ServerUnaryCall<{ application_id?: string; application_hop_id?: string; bank_id?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (callerParty(call) !== 'router') {
          cb(toGrpcError(new DzlError('REQUEST_UNAUTHENTICATED', 'only the router asks a channel for credit reports')));
          return;
        }
        this.reportToBank(call.request.application_id ?? '', call.request.application_hop_id ?? '', call.request.bank_id ?? '')
          .then((hop) => cb(null, { bank_hop: hopToWire(hop) }))
          .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
      },
    };
  }

  async listen(address = '127.0.0.1:0'): Promise<{ server: grpc.Server; address: string }> {
    const { ChannelService } = loadDzlProtos();
    return startGrpcServer(this.opts.identity, [{ service: ChannelService.service, impl: this.grpcImplementation() }], address);
  }
}
