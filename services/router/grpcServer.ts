/**
 * The router's gRPC face for regulators (contracts/proto/dzl/v1/regulator.proto), over mutual
 * TLS: the caller's certificate names the regulator.
 */
import type * as grpc from '@grpc/grpc-js';
import { toDzlError } from '../common/errors';
import { callerParty, loadDzlProtos, startGrpcServer, toGrpcError } from '../grpc/transport';
import type { PartyIdentity } from '../pki/network';
import { fromB64url } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
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

function handle(deps: RegulatorDeps, fn: (call: Call, regulator: string) => Promise<unknown>) {
  return (call: Call, cb: grpc.sendUnaryData<unknown>) => {
    Promise.resolve()
      .then(() => fn(call, requireRegulator(deps, callerParty(call))))
      .then((res) => cb(null, res))
      .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
  };
}

const checkpointMessage = (c: CheckpointView) => ({ tree_size: String(c.treeSize), note: c.checkpoint });
const bundleMessage = (b: unknown) => ({ json: canonicalJson(b) });

export async function startRegulatorGrpc(deps: RegulatorDeps, identity: PartyIdentity, address = '127.0.0.1:0') {
  const { RegulatorService } = loadDzlProtos();
  return startGrpcServer(identity, RegulatorService.service, {
    GetCheckpoint: handle(deps, async (call) => checkpointMessage(call.request.publish_now ? await checkpointNow(deps) : await currentCheckpoint(deps))),
    GetConsistencyProof: handle(deps, async (call) => {
      const p = await consistency(deps, Number(call.request.from_size ?? 0), Number(call.request.to_size ?? 0));
      return { from_size: String(p.from), to_size: String(p.to), proof: p.proof.map((h) => fromB64url(h)) };
    }),
    GetApplicationBundle: handle(deps, async (call) => bundleMessage(await bundleForApplication(deps, String(call.request.application_id ?? '')))),
    GetPartyBundle: handle(deps, async (call) =>
      bundleMessage(await bundleForParty(deps, String(call.request.party_id ?? ''), (call.request.from as string) || undefined, (call.request.to as string) || undefined)),
    ),
    GetDirectConnectionAudit: handle(deps, async () => bundleMessage(await auditDirectConnections(deps))),
    AddCosignature: handle(deps, async (call, regulator) => checkpointMessage(await cosign(deps, regulator, Number(call.request.tree_size ?? 0), String(call.request.line ?? '')))),
  }, address);
}
