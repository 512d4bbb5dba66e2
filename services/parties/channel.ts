/**
 * Reference licensed credit-reporting channel (a kit a channel adapts): it receives a
 * platform's sealed application, keeps it, turns it into a credit product, and seals for the
 * bank only the application elements the bank needs plus that product — never the platform's
 * raw risk fields.
 */
import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { DzlError, toDzlError } from '../common/errors';
import { classOf } from '../fields/catalogue';
import { callerParty, hopFromWire, hopToWire, loadDzlProtos, receiptToWire, startGrpcServer, toGrpcError, type WireHop } from '../grpc/transport';
import type { PartyIdentity } from '../pki/network';
import type { NetworkDirectory } from '../registry/directory';
import { sealHop, type Fields, type OpenedHop, type SealedHop } from '../seal/hop';
import { PartyInbox } from './inbox';

/** The application elements a bank must have to contract and do its own KYC. */
export const BANK_ELEMENTS = ['customer.name', 'customer.idNumber', 'customer.mobile', 'loan.amount', 'loan.termMonths', 'loan.purpose'];

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
  /** Test hook for a misbehaving channel: extra fields it would (wrongly) forward to the bank. */
  leakFields?: string[];
}

/** A deterministic stand-in for a channel's model: the same application gives the same product. */
export function scoreApplication(fields: Fields, product = { name: 'DZL-CreditScore', version: '2026.11' }): CreditProduct {
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
  /** What the channel keeps (it stores what it receives, as a credit-reporting agency must), by hop id. */
  readonly kept = new Map<string, OpenedHop>();
  private readonly reports = new Map<string, SealedHop>();

  constructor(private readonly opts: ChannelOptions) {
    this.inbox = new PartyInbox(opts.identity, opts.directory, 'application');
  }

  get partyId(): string {
    return this.opts.identity.partyId;
  }

  async processApplication(hop: SealedHop | undefined, bankId: string): Promise<{ receipt: import('../seal/receipt').SignedReceipt; bankHop?: SealedHop }> {
    const answer = await this.inbox.receive(hop, async (opened) => this.toBank(opened, bankId));
    return { receipt: answer.receipt, ...(answer.result ? { bankHop: answer.result } : {}) };
  }

  /** The credit report of an application already held, sealed for another bank; once per bank. */
  async reportToBank(applicationHopId: string, bankId: string): Promise<SealedHop> {
    const opened = this.kept.get(applicationHopId);
    if (!opened) throw new DzlError('APPLICATION_NOT_FOUND', `${this.partyId} holds no application hop ${applicationHopId}`);
    return this.toBank(opened, bankId);
  }

  private async toBank(opened: OpenedHop, bankId: string): Promise<SealedHop> {
    const { header, fields } = opened;
    this.kept.set(header.hopId, opened);
    const key = `${header.hopId}\n${bankId}`;
    const done = this.reports.get(key);
    if (done) return done;
    const forBank: Fields = {};
    for (const f of [...BANK_ELEMENTS, ...(this.opts.leakFields ?? [])]) if (f in fields) forBank[f] = fields[f]!;
    Object.assign(forBank, scoreApplication(fields, this.opts.product));
    const directory = this.opts.directory();
    const sealed = sealHop(this.opts.identity.signing, {
      parentHopId: header.hopId,
      applicationId: header.applicationId,
      kind: 'credit_report',
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
      ReportToBank: (call: grpc.ServerUnaryCall<{ application_hop_id?: string; bank_id?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (callerParty(call) !== 'router') {
          cb(toGrpcError(new DzlError('REQUEST_UNAUTHENTICATED', 'only the router asks a channel for credit reports')));
          return;
        }
        this.reportToBank(call.request.application_hop_id ?? '', call.request.bank_id ?? '')
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
