/** Parties that misbehave, built from the reference kits' plug-ins: what a careless or malicious party would send. */
import { referenceChannelPolicy, type ChannelPolicy } from '../../services/parties/plugins';
import * as grpc from '@grpc/grpc-js';
import { classOf } from '../../services/fields/catalogue';
import { hopFromWire, hopToWire, loadDzlProtos, receiptFromWire, receiptToWire, startGrpcServer, type WireHop, type WireReceipt } from '../../services/grpc/transport';
import type { PartyIdentity } from '../../services/pki/identity';
import type { NetworkDirectory } from '../../services/registry/directory';
import { decodeHop, newSalt, sealHop } from '../../services/seal/hop';
import { signReceipt, verifyReceipt } from '../../services/seal/receipt';

/** A channel that forwards some of the application's raw fields to the bank, past the minimisation policy. */
export function leakingChannel(fields: string[]): ChannelPolicy {
  const honest = referenceChannelPolicy();
  return {
    ...honest,
    reportFor: (input) => ({ ...honest.reportFor(input), ...Object.fromEntries(fields.filter((f) => f in input.application).map((f) => [f, input.application[f]!])) }),
  };
}


/** What a careless bank puts in its receipt instead of its own id (hostile.test.ts looks for it in the ledger). */
export const CUSTOMER_TEXT = 'ZHANG SAN 张三 E12345678';

/** How a hostile bank answers a credit report. */
export type BankMisbehaviour =
  | 'garbage-decision' // a receipt, and a "decision" that is not a hop
  | 'grpc-internal' // a gRPC INTERNAL error with no dzl code
  | 'silent' // never answers
  | 'decision-for-rival' // a well-formed decision sealed for another platform
  | 'approval-without-terms' // an approval whose manifest declares no limit, APR or term
  | 'receipt-naming-a-customer'; // a receipt whose `by` and reason are a customer's name and identity number

/**
 * A bank's gRPC service as a careless or malicious bank would run it, with that bank's own keys:
 * everything a real bank could send, nothing the router's own code would.
 */
export async function hostileBank(
  me: PartyIdentity,
  directory: () => NetworkDirectory,
  misbehaviour: BankMisbehaviour,
  rivalPlatform: string,
): Promise<{ server: grpc.Server; address: string; asked: () => number; told: () => { hopId: string; code: string }[] }> {
  let asked = 0;
  /** The decision hops this bank returned, and the router's rejections of them it was sent (verified). */
  const returned = new Map<string, string>();
  const told: { hopId: string; code: string }[] = [];
  const { BankService } = loadDzlProtos();
  const impl: grpc.UntypedServiceImplementation = {
    DeliverCreditReport: (call: grpc.ServerUnaryCall<{ hop?: WireHop }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      asked++;
      const hop = decodeHop(hopFromWire(call.request.hop));
      const receipt = receiptToWire(signReceipt(me.signing, { hopId: hop.header.hopId, headerDigest: hop.headerDigest }, 'accepted'));
      if (misbehaviour === 'receipt-naming-a-customer') {
        const forged = signReceipt({ ...me.signing, partyId: CUSTOMER_TEXT }, { hopId: hop.header.hopId, headerDigest: hop.headerDigest }, 'rejected', 'ZHANG_SAN_E12345678_TEL_138_1234_5678');
        return cb(null, { receipt: receiptToWire(forged) });
      }
      if (misbehaviour === 'silent') return; // the router's deadline is the only answer
      if (misbehaviour === 'grpc-internal') return cb({ code: grpc.status.INTERNAL, details: 'NullPointerException at com.bank.core' } as grpc.ServiceError);
      if (misbehaviour === 'garbage-decision') return cb(null, { receipt, decision_hop: { header: Buffer.from('{"not":"a hop"'), signature: Buffer.alloc(3), wrapped_key: Buffer.alloc(3), iv: Buffer.alloc(12), ciphertext: Buffer.alloc(20) } });
      const h = hop.header;
      if (misbehaviour === 'approval-without-terms') {
        const bare = sealHop(me.signing, {
          parentHopId: h.hopId, applicationId: h.applicationId, kind: 'decision', model: h.model, to: directory().encryptionCertificate(h.platform),
          platform: h.platform, channel: h.channel, consentRef: h.consentRef, fields: { 'decision.status': 'approved' }, salt: newSalt(), classOf, outcome: { status: 'approved' },
        });
        returned.set(bare.header.hopId, bare.headerDigest);
        return cb(null, { receipt, decision_hop: hopToWire(bare.sealed) });
      }
      const sealed = sealHop(me.signing, {
        parentHopId: h.hopId, applicationId: h.applicationId, kind: 'decision', model: h.model, to: directory().encryptionCertificate(rivalPlatform),
        platform: rivalPlatform, channel: h.channel, consentRef: h.consentRef, fields: { 'decision.status': 'approved', 'decision.limit': 5_000_000 }, salt: newSalt(), classOf, outcome: { status: 'approved' },
      });
      returned.set(sealed.header.hopId, sealed.headerDigest);
      return cb(null, { receipt, decision_hop: hopToWire(sealed.sealed) });
    },
    DecisionRefused: (call: grpc.ServerUnaryCall<{ receipt?: WireReceipt }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      try {
        const unverified = JSON.parse(Buffer.from(call.request.receipt?.receipt ?? Buffer.alloc(0)).toString('utf8')) as { hopId: string };
        const digest = returned.get(unverified.hopId);
        if (!digest) throw new Error('not a hop of ours');
        const r = verifyReceipt(receiptFromWire(call.request.receipt), { hopId: unverified.hopId, headerDigest: digest, by: 'router' }, directory().signerOf);
        if (r.body.status === 'rejected') told.push({ hopId: r.body.hopId, code: String(r.body.reason) });
        cb(null, {});
      } catch {
        cb({ code: grpc.status.INVALID_ARGUMENT } as grpc.ServiceError);
      }
    },
    DeliverRedirect: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError),
    ReceiveNotice: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError),
  };
  const s = await startGrpcServer(me, [{ service: BankService.service, impl }]);
  return { server: s.server, address: s.address, asked: () => asked, told: () => [...told] };
}

/** A channel that answers an application with a credit report addressed to another bank than the one asked. */
export async function misaddressingChannel(me: PartyIdentity, directory: () => NetworkDirectory, wrongBank: string): Promise<{ server: grpc.Server; address: string }> {
  const { ChannelService } = loadDzlProtos();
  const impl: grpc.UntypedServiceImplementation = {
    ProcessApplication: (call: grpc.ServerUnaryCall<{ hop?: WireHop }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const hop = decodeHop(hopFromWire(call.request.hop));
      const h = hop.header;
      const receipt = receiptToWire(signReceipt(me.signing, { hopId: h.hopId, headerDigest: hop.headerDigest }, 'accepted'));
      const report = sealHop(me.signing, {
        parentHopId: h.hopId, applicationId: h.applicationId, kind: 'credit_report', model: h.model, to: directory().encryptionCertificate(wrongBank),
        platform: h.platform, channel: me.partyId, consentRef: h.consentRef, fields: { 'product.score': 700 }, salt: newSalt(), classOf,
      });
      cb(null, { receipt, bank_hop: hopToWire(report.sealed) });
    },
    ReportToBank: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError),
    ReceiveNotice: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError),
  };
  const s = await startGrpcServer(me, [{ service: ChannelService.service, impl }]);
  return { server: s.server, address: s.address };
}
