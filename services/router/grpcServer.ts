/**
 * The router's gRPC server, mutual TLS: RegulatorService for regulators
 * (contracts/proto/dzl/v1/regulator.proto) and RouterService for banks' asynchronous decisions
 * (contracts/proto/dzl/v1/router.proto). The caller's certificate names the party.
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError, toDzlError } from '../common/errors';
import { callerParty, hopFromWire, loadDzlProtos, startGrpcServer, toGrpcError, type WireHop } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import { fromB64url } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { reportDisbursement, submitDecision, type DecisionDeps } from './decisions';
import { claimRedirect, type RedirectDeps } from './redirects';
import {
  auditDirectConnections,
  bundleForApplication,
  bundleForParty,
  checkpointNow,
  consistency,
  cosign,
  currentCheckpoint,
  requireRegulator,
  type CheckpointView,
  type RegulatorDeps,
} from './regulator';

type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;

/** Authorise the caller from its certificate, run, and map a DzlError to a status once. */
function unary(authorise: (caller: string | undefined) => string, fn: (call: Call, caller: string) => Promise<unknown>) {
  return (call: Call, cb: grpc.sendUnaryData<unknown>) => {
    Promise.resolve()
      .then(() => fn(call, authorise(callerParty(call))))
      .then((res) => cb(null, res))
      .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
  };
}

const checkpointMessage = (c: CheckpointView) => ({ tree_size: String(c.treeSize), note: c.checkpoint });
const bundleMessage = (b: unknown) => ({ json: canonicalJson(b) });

function regulatorService(deps: RegulatorDeps): grpc.UntypedServiceImplementation {
  const asRegulator = (caller: string | undefined) => requireRegulator(deps, caller);
  return {
    GetCheckpoint: unary(asRegulator, async (call) => checkpointMessage(call.request.publish_now ? await checkpointNow(deps) : await currentCheckpoint(deps))),
    GetConsistencyProof: unary(asRegulator, async (call) => {
      const p = await consistency(deps, Number(call.request.from_size ?? 0), Number(call.request.to_size ?? 0));
      return { from_size: String(p.from), to_size: String(p.to), proof: p.proof.map((h) => fromB64url(h)) };
    }),
    GetApplicationBundle: unary(asRegulator, async (call) => bundleMessage(await bundleForApplication(deps, String(call.request.application_id ?? '')))),
    GetPartyBundle: unary(asRegulator, async (call) =>
      bundleMessage(await bundleForParty(deps, String(call.request.party_id ?? ''), (call.request.from as string) || undefined, (call.request.to as string) || undefined)),
    ),
    GetDirectConnectionAudit: unary(asRegulator, async () => bundleMessage(await auditDirectConnections(deps))),
    AddCosignature: unary(asRegulator, async (call, regulator) => checkpointMessage(await cosign(deps, regulator, Number(call.request.tree_size ?? 0), String(call.request.line ?? '')))),
  };
}

function routerService(deps: DecisionDeps & RedirectDeps): grpc.UntypedServiceImplementation {
  const asBank = (caller: string | undefined) => {
    if (!caller || deps.directory().party(caller)?.role !== 'bank') throw new DzlError('PARTY_ROLE_MISMATCH', `decisions are submitted by banks; ${caller ?? 'the caller'} is not one`);
    return caller;
  };
  return {
    SubmitDecision: unary(asBank, async (call, bank) => {
      const r = await submitDecision(deps, bank, hopFromWire(call.request.decision_hop as WireHop | undefined));
      return { accepted: r.accepted, application_id: r.applicationId };
    }),
    ClaimRedirect: unary(asBank, async (call, bank) => {
      const r = await claimRedirect(deps, bank, String(call.request.token ?? ''));
      return { application_id: r.applicationId };
    }),
    ReportDisbursement: unary(asBank, async (call, bank) => reportDisbursement(deps, bank, hopFromWire(call.request.disbursement_hop as WireHop | undefined))),
  };
}

export async function startRouterGrpc(regulator: RegulatorDeps, decisions: DecisionDeps & RedirectDeps, identity: PartyIdentity, address = '127.0.0.1:0') {
  const { RegulatorService, RouterService } = loadDzlProtos();
  return startGrpcServer(
    identity,
    [
      { service: RegulatorService.service, impl: regulatorService(regulator) },
      { service: RouterService.service, impl: routerService(decisions) },
    ],
    address,
  );
}
