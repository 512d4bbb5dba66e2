/**
 * Reference licensed credit-reporting channel (a kit a channel adapts): it receives a
 * platform's sealed application, keeps it, turns it into a credit product (its policy, a
 * plug-in: services/parties/plugins.ts), and seals for the bank what the policy gives that bank —
 * by default exactly what the minimisation policy allows: in the data channel, the application
 * elements the bank needs plus that product; in the redirect model, the product alone. Never the
 * platform's raw risk fields. Every report it sealed stays in its vault, so a redelivery, or a
 * second request for the same bank, is answered with the same report, across restarts too.
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError } from '../common/errors';
import type { NoticeBody } from '../evidence/lifecycle';
import { hopFromWire, hopToWire, loadDzlProtos, receiptToWire, startGrpcServer, type WireHop } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { minimalFieldsFor } from '../routing/minimisation';
import type { Vault } from '../atrest/vault';
import { b64url, fromB64url } from '../seal/bytes';
import type { Fields, OpenedHop, SealedHop } from '../seal/hop';
import type { SignedReceipt } from '../seal/receipt';
import { fromRouter } from './grpcHandler';
import { PartyInbox } from './inbox';
import { deleteApplicationData, isWithdrawn, NoticeDesk } from './notices';
import type { PartyObserver } from './observer';
import { referenceChannelPolicy, type ChannelPolicy } from './plugins';
import { sealReply } from './replySealer';

export { DEFAULT_PRODUCT, scoreApplication } from './plugins';

export interface ChannelOptions {
  identity: PartyIdentity;
  directory: () => NetworkDirectory;
  /** The channel's credit product and what each bank gets of it (default: the reference policy). */
  policy?: ChannelPolicy;
  /** Where the channel keeps the applications it received, encrypted at rest. */
  vault: Vault;
  observer?: PartyObserver;
}

interface KeptHop {
  header: OpenedHop['header'];
  fields: Fields;
  salt: string;
}

export class ReferenceChannel {
  private readonly inbox: PartyInbox<SealedHop>;
  private readonly policy: ChannelPolicy;
  readonly notices: NoticeDesk;

  constructor(private readonly opts: ChannelOptions) {
    this.policy = opts.policy ?? referenceChannelPolicy();
    this.inbox = new PartyInbox(opts.identity, opts.directory, 'application');
    this.notices = new NoticeDesk(opts.identity, opts.directory, async (n) => this.forget(n), opts.observer);
  }

  get partyId(): string {
    return this.opts.identity.partyId;
  }

  /** A withdrawal or a deletion notice: everything kept of the application's hops goes. */
  private async forget(n: NoticeBody): Promise<void> {
    await deleteApplicationData(this.opts.vault, n);
    this.inbox.forget(n.hops);
  }

  /** What the channel keeps of an application hop (it stores what it receives, as a credit-reporting agency must). */
  async kept(applicationId: string, hopId: string): Promise<OpenedHop | undefined> {
    const k = await this.opts.vault.get<KeptHop>(applicationId, 'application_hop', hopId);
    return k ? { header: k.header, fields: k.fields, salt: fromB64url(k.salt)! } : undefined;
  }

  async processApplication(hop: SealedHop | undefined, bankId: string): Promise<{ receipt: SignedReceipt; bankHop?: SealedHop }> {
    const answer = await this.inbox.receive(hop, async (opened) => this.reportFor(opened, bankId));
    return { receipt: answer.receipt, ...(answer.result ? { bankHop: answer.result } : {}) };
  }

  /** The credit report of an application already held, sealed for another bank; once per bank. */
  async reportToBank(applicationId: string, applicationHopId: string, bankId: string): Promise<SealedHop> {
    const opened = await this.kept(applicationId, applicationHopId);
    if (!opened) throw new DzlError('APPLICATION_NOT_FOUND', `${this.partyId} holds no application hop ${applicationHopId}`);
    return this.reportFor(opened, bankId);
  }

  private async reportFor(opened: OpenedHop, bankId: string): Promise<SealedHop> {
    const { header, fields } = opened;
    if (await isWithdrawn(this.opts.vault, header.applicationId)) {
      throw new DzlError('CONSENT_WITHDRAWN', `the router told ${this.partyId} the customer withdrew consent for ${header.applicationId}`);
    }
    await this.opts.vault.put(header.applicationId, 'application_hop', header.hopId, { header, fields, salt: b64url(opened.salt) } satisfies KeptHop);
    // one report per (application hop, bank), whoever asks and however often
    const recordId = `${header.hopId}:${bankId}`;
    const done = await this.opts.vault.get<SealedHop>(header.applicationId, 'report', recordId);
    if (done) return done;
    const product = await this.policy.score(fields);
    const forBank = this.policy.reportFor({ application: fields, product, bankId, model: header.model, allowed: minimalFieldsFor(header.model, bankId) });
    const sealed = sealReply(this.opts.identity, this.opts.directory(), opened, { kind: 'credit_report', to: bankId, fields: forBank, provenance: this.policy.product, channel: this.partyId }).sealed;
    await this.opts.vault.put(header.applicationId, 'report', recordId, sealed);
    return sealed;
  }

  grpcImplementation(): grpc.UntypedServiceImplementation {
    return {
      ProcessApplication: fromRouter(this.opts.directory, 'delivers applications to a channel', async (req: { hop?: WireHop; bank_id?: string }) => {
        const r = await this.processApplication(hopFromWire(req.hop), req.bank_id ?? '');
        return { receipt: receiptToWire(r.receipt), ...(r.bankHop ? { bank_hop: hopToWire(r.bankHop) } : {}) };
      }),
      ReportToBank: fromRouter(this.opts.directory, 'asks a channel for credit reports', async (req: { application_id?: string; application_hop_id?: string; bank_id?: string }) => ({
        bank_hop: hopToWire(await this.reportToBank(req.application_id ?? '', req.application_hop_id ?? '', req.bank_id ?? '')),
      })),
      ReceiveNotice: this.notices.grpcHandler(),
    };
  }

  async listen(address = '127.0.0.1:0'): Promise<{ server: grpc.Server; address: string }> {
    const { ChannelService } = loadDzlProtos();
    return startGrpcServer(this.opts.identity, [{ service: ChannelService.service, impl: this.grpcImplementation() }], address);
  }
}
