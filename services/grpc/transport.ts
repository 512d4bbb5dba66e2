/**
 * gRPC between the router and the parties: the services come from contracts/proto at run time
 * (the contract is the source, nothing is generated), and every connection is mutual TLS with
 * certificates of the network CA, so both ends know which party they talk to before a byte of
 * a hop moves.
 */
import { contextFromMetadata, injectMetadata, inSpan, SpanKind } from '../common/tracing';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { DzlError, isErrorCode, type ErrorCode } from '../common/errors';
import { PARTY_URI_PREFIX } from '../pki/ca';
import { tlsTrustRoots } from '../pki/certificate';
import type { PartyIdentity } from '../pki/identity';
import { b64url, fromB64url, sha256 } from '../seal/bytes';
import type { SealedHop } from '../seal/hop';
import type { SignedReceipt } from '../seal/receipt';

/** Compiled code runs from dist/services/grpc; the contracts stay at the repository root. */
const PROTO_ROOT = join(__dirname, '..', '..', '..', 'contracts', 'proto');

export interface WireHop {
  header: Buffer;
  signature: Buffer;
  wrapped_key: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
}

export interface WireReceipt {
  receipt: Buffer;
  signature: Buffer;
}

let cached: grpc.GrpcObject | undefined;

export function loadDzlProtos(): {
  ChannelService: grpc.ServiceClientConstructor;
  BankService: grpc.ServiceClientConstructor;
  RegulatorService: grpc.ServiceClientConstructor;
  RouterService: grpc.ServiceClientConstructor;
} {
  if (!cached) {
    const def = protoLoader.loadSync(['dzl/v1/channel.proto', 'dzl/v1/bank.proto', 'dzl/v1/regulator.proto', 'dzl/v1/router.proto'], {
      includeDirs: [PROTO_ROOT],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
    });
    cached = grpc.loadPackageDefinition(def);
  }
  const v1 = (cached.dzl as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return {
    ChannelService: v1.ChannelService as grpc.ServiceClientConstructor,
    BankService: v1.BankService as grpc.ServiceClientConstructor,
    RegulatorService: v1.RegulatorService as grpc.ServiceClientConstructor,
    RouterService: v1.RouterService as grpc.ServiceClientConstructor,
  };
}

export function hopToWire(h: SealedHop): WireHop {
  const b = (s: string) => fromB64url(s) ?? Buffer.alloc(0);
  return { header: b(h.header), signature: b(h.signature), wrapped_key: b(h.wrappedKey), iv: b(h.iv), ciphertext: b(h.ciphertext) };
}

export function hopFromWire(w: Partial<WireHop> | undefined | null): SealedHop | undefined {
  if (!w || !w.header) return undefined;
  const s = (x: Buffer | undefined) => b64url(x ?? Buffer.alloc(0));
  return { header: s(w.header), signature: s(w.signature), wrappedKey: s(w.wrapped_key), iv: s(w.iv), ciphertext: s(w.ciphertext) };
}

export function receiptToWire(r: SignedReceipt): WireReceipt {
  return { receipt: fromB64url(r.receipt) ?? Buffer.alloc(0), signature: fromB64url(r.signature) ?? Buffer.alloc(0) };
}

export function receiptFromWire(w: Partial<WireReceipt> | undefined | null): SignedReceipt | undefined {
  if (!w || !w.receipt) return undefined;
  return { receipt: b64url(w.receipt), signature: b64url(w.signature ?? Buffer.alloc(0)) };
}

export function serverCredentials(id: PartyIdentity): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    Buffer.from(tlsTrustRoots(id.caPem)),
    [{ private_key: Buffer.from(id.tls.keyPem), cert_chain: Buffer.from(id.tls.certPem) }],
    true,
  );
}

function partiesInSan(san: string | undefined): string[] {
  return (san ?? '')
    .split(', ')
    .filter((e) => e.startsWith('URI:' + PARTY_URI_PREFIX))
    .map((e) => e.slice(('URI:' + PARTY_URI_PREFIX).length));
}

/** A client credential that accepts only the expected party's TLS certificate. */
export function clientCredentials(id: PartyIdentity, expectedParty: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(tlsTrustRoots(id.caPem)), Buffer.from(id.tls.keyPem), Buffer.from(id.tls.certPem), {
    checkServerIdentity: (_host, cert) =>
      partiesInSan(cert.subjectaltname).includes(expectedParty)
        ? undefined
        : new Error(`TLS peer is not ${expectedParty}`),
  });
}

/** The key id (base64url SHA-256 of the DER) of the certificate the caller presented (mutual TLS). */
export function callerKeyId(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  const raw = call.getAuthContext().sslPeerCertificate?.raw;
  return raw ? b64url(sha256(raw)) : undefined;
}

/** The party id in the caller's client certificate (mutual TLS). */
export function callerParty(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  return partiesInSan(call.getAuthContext().sslPeerCertificate?.subjectaltname)[0];
}

/** The single place a DzlError becomes a gRPC status (and back, on the client side). */
export function toGrpcError(err: DzlError): grpc.ServiceError {
  const e = new Error(err.message) as grpc.ServiceError;
  e.code = err.grpcStatus;
  e.details = err.message;
  e.metadata = new grpc.Metadata();
  e.metadata.set('dzl-error-code', err.code);
  return e;
}

export function fromGrpcError(err: unknown): DzlError | undefined {
  const e = err as Partial<grpc.ServiceError>;
  const code = e.metadata?.get('dzl-error-code')[0];
  return isErrorCode(code) ? new DzlError(code as ErrorCode, e.details ?? 'refused') : undefined;
}

/** One unary call in a client span; the trace context (traceparent, baggage) goes as metadata. */
export function unaryCall<Req, Res>(client: grpc.Client, method: string, req: Req, timeoutMs: number): Promise<Res> {
  return inSpan(
    `grpc ${method}`,
    { 'rpc.system': 'grpc', 'rpc.method': method },
    (span) =>
      new Promise<Res>((resolve, reject) => {
        const fn = (client as unknown as Record<string, Function>)[method]!.bind(client);
        const metadata = new grpc.Metadata();
        injectMetadata(metadata);
        fn(req, metadata, { deadline: new Date(Date.now() + timeoutMs) }, (err: grpc.ServiceError | null, res: Res) => {
          if (err) {
            span.setAttribute('rpc.grpc.status_code', err.code);
            reject(err);
          } else resolve(res);
        });
      }),
    { kind: SpanKind.CLIENT },
  );
}

/** Each unary handler in a server span, a child of the caller's trace context (its metadata). */
function tracedService(partyId: string, service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const def = service[name];
    if (!def || def.requestStream || def.responseStream) {
      out[name] = handler;
      continue;
    }
    const unary = handler as grpc.handleUnaryCall<unknown, unknown>;
    out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void inSpan(
        def.path,
        { 'rpc.system': 'grpc', 'rpc.method': name, 'dzl.party': partyId },
        (span) =>
          new Promise<void>((resolve) => {
            unary(call, (err, value, trailer, flags) => {
              if (err) span.setAttribute('rpc.grpc.status_code', (err as grpc.ServiceError).code ?? grpc.status.UNKNOWN);
              callback(err, value, trailer, flags);
              resolve();
            });
          }),
        { kind: SpanKind.SERVER, parent: contextFromMetadata(call.metadata) },
      );
    }) as grpc.UntypedHandleCall;
  }
  return out;
}

/** The largest gRPC request a dzl server reads (RESOURCE_EXHAUSTED beyond it). */
export const MAX_GRPC_MESSAGE_BYTES = 1024 * 1024;

export interface HostedService {
  service: grpc.ServiceDefinition;
  impl: grpc.UntypedServiceImplementation;
}

export async function startGrpcServer(id: PartyIdentity, services: HostedService[], address = '127.0.0.1:0'): Promise<{ server: grpc.Server; port: number; address: string }> {
  // a hop is a few KiB, at most 256 KiB of ciphertext: nothing a party or the router takes needs more
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES, 'grpc.max_metadata_size': 16 * 1024 });
  for (const s of services) server.addService(s.service, tracedService(id.signing.partyId, s.service, s.impl));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, serverCredentials(id), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = address.split(':')[0]!;
  return { server, port, address: `${host}:${port}` };
}

/**
 * What a party's gRPC failure means to the router (contracts/envelope.md §12.1): `transient` —
 * it could not be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED, CANCELLED, or PARTY_UNAVAILABLE) — is retried within a bounded
 * budget; anything else is the party's answer, and ends the attempt: its own dzl code when it sent
 * one, PARTY_ANSWER_INVALID when it did not.
 */
export type PartyFailure = { transient: true } | { transient: false; refusal: DzlError };

const TRANSIENT_STATUS = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.ABORTED, grpc.status.CANCELLED]);

export function classifyPartyFailure(err: unknown): PartyFailure {
  const coded = fromGrpcError(err);
  // the party's code, never its words: its message is its own text, and a refusal is evidence (§19.2)
  if (coded) return coded.code === 'PARTY_UNAVAILABLE' ? { transient: true } : { transient: false, refusal: new DzlError(coded.code, `the party refused with ${coded.code}`) };
  const status = (err as Partial<grpc.ServiceError> | undefined)?.code;
  if (typeof status === 'number' && TRANSIENT_STATUS.has(status)) return { transient: true };
  if (typeof status === 'number') {
    return { transient: false, refusal: new DzlError('PARTY_ANSWER_INVALID', `the party answered with gRPC status ${grpc.status[status] ?? status} and no dzl error code`) };
  }
  // not a gRPC failure at all (a client-side fault): retried like a transport failure
  return { transient: true };
}
