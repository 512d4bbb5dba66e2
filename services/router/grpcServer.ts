/**
 * The router's gRPC server, mutual TLS: RegulatorService for regulators
 * (contracts/proto/dzl/v1/regulator.proto) and RouterService for banks' asynchronous decisions
 * (contracts/proto/dzl/v1/router.proto). The caller's certificate names the party.
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError, toDzlError } from '../common/errors';
import { createLogger, type Logger } from '../common/logger';
import type { PartyRole } from '../domain/parties';
import { recordRefusal } from '../ledger/ledger';
import { redactedError, valuesOf, vocabulary } from '../ledger/redaction';
import type { NetworkDirectory } from '../registry/directory';
import type { Db } from '../store/db';
import { callerKeyId, hopFromWire, loadDzlProtos, startGrpcServer, toGrpcError, type WireHop } from '../grpc/transport';
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
  type CheckpointView,
  type RegulatorDeps,
} from './regulator';

type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;

interface Gate {
  db: Db;
  directory: () => NetworkDirectory;
  log: Logger;
}

/**
 * Every method's one way in: the caller's mutual-TLS certificate must be a registered `tls`
 * certificate, in force and not revoked now, of a party whose role may call the method — checked
 * on every call, so a revocation ends access on open connections as soon as the registry reloads.
 * Then the work runs, and a DzlError becomes its gRPC status in one place. A refusal of an
 * identified party (its certificate is registered: revoked, wrong role) is recorded in the ledger;
 * a caller with no registered certificate is only logged (envelope.md §19.1: noise from
 * unauthenticated callers does not grow the regulator's ledger).
 */
function unary(gate: Gate, method: string, roles: readonly PartyRole[], fn: (call: Call, caller: string) => Promise<unknown>) {
  return (call: Call, cb: grpc.sendUnaryData<unknown>) => {
    Promise.resolve()
      .then(async () => {
        let caller: string;
        try {
          caller = gate.directory().tlsCaller(callerKeyId(call), roles).id;
        } catch (err) {
          const e = toDzlError(err);
          const party = typeof e.details.party === 'string' ? e.details.party : undefined;
          if (party) await recordRefusal(gate.db, { code: e.code, message: e.message, stage: `grpc ${method}`, refusedBy: 'router', from: party, input: call.request });
          else gate.log.warn({ method, code: e.code }, 'gRPC caller refused');
          throw e;
        }
        return fn(call, caller);
      })
      .then((res) => cb(null, res))
      // the status never quotes what the caller sent (envelope.md §19.2)
      .catch((err: unknown) => {
        const e = toDzlError(err);
        const said = redactedError(e, valuesOf(call.request), vocabulary(gate.directory().all().map((p) => p.id)));
        cb(toGrpcError(new DzlError(e.code, said.message, said.details)));
      });
  };
}

const checkpointMessage = (c: CheckpointView) => ({ tree_size: String(c.treeSize), note: c.checkpoint });
const bundleMessage = (b: unknown) => ({ json: canonicalJson(b) });

function regulatorService(gate: Gate, deps: RegulatorDeps): grpc.UntypedServiceImplementation {
  const asRegulator = (method: string, fn: (call: Call, regulator: string) => Promise<unknown>) => unary(gate, `RegulatorService.${method}`, ['regulator'], fn);
  return {
    GetCheckpoint: asRegulator('GetCheckpoint', async (call) => checkpointMessage(call.request.publish_now ? await checkpointNow(deps) : await currentCheckpoint(deps))),
    GetConsistencyProof: asRegulator('GetConsistencyProof', async (call) => {
      const p = await consistency(deps, Number(call.request.from_size ?? 0), Number(call.request.to_size ?? 0));
      return { from_size: String(p.from), to_size: String(p.to), proof: p.proof.map((h) => fromB64url(h)) };
    }),
    GetApplicationBundle: asRegulator('GetApplicationBundle', async (call) => bundleMessage(await bundleForApplication(deps, String(call.request.application_id ?? '')))),
    GetPartyBundle: asRegulator('GetPartyBundle', async (call) =>
      bundleMessage(await bundleForParty(deps, String(call.request.party_id ?? ''), (call.request.from as string) || undefined, (call.request.to as string) || undefined)),
    ),
    GetDirectConnectionAudit: asRegulator('GetDirectConnectionAudit', async () => bundleMessage(await auditDirectConnections(deps))),
    AddCosignature: asRegulator('AddCosignature', async (call, regulator) => checkpointMessage(await cosign(deps, regulator, Number(call.request.tree_size ?? 0), String(call.request.line ?? '')))),
  };
}

function routerService(gate: Gate, deps: DecisionDeps & RedirectDeps): grpc.UntypedServiceImplementation {
  const asBank = (method: string, fn: (call: Call, bank: string) => Promise<unknown>) => unary(gate, `RouterService.${method}`, ['bank'], fn);
  return {
    SubmitDecision: asBank('SubmitDecision', async (call, bank) => {
      const r = await submitDecision(deps, bank, hopFromWire(call.request.decision_hop as WireHop | undefined));
      return { accepted: r.accepted, application_id: r.applicationId };
    }),
    ClaimRedirect: asBank('ClaimRedirect', async (call, bank) => {
      const r = await claimRedirect(deps, bank, String(call.request.token ?? ''));
      return { application_id: r.applicationId };
    }),
    ReportDisbursement: asBank('ReportDisbursement', async (call, bank) => reportDisbursement(deps, bank, hopFromWire(call.request.disbursement_hop as WireHop | undefined))),
  };
}

export async function startRouterGrpc(regulator: RegulatorDeps, decisions: DecisionDeps & RedirectDeps, identity: PartyIdentity, address = '127.0.0.1:0', log?: Logger) {
  const { RegulatorService, RouterService } = loadDzlProtos();
  const gate: Gate = { db: decisions.db, directory: decisions.directory, log: log ?? createLogger('dzl-router') };
  return startGrpcServer(
    identity,
    [
      { service: RegulatorService.service, impl: regulatorService(gate, regulator) },
      { service: RouterService.service, impl: routerService(gate, decisions) },
    ],
    address,
  );
}
