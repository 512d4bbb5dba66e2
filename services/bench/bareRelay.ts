/**
 * 2. Bare relay: the same hops with the same sealing, as plain synchronous gRPC calls from a
 * router-identity client — no Temporal, no store, no evidence. The platform seals; the router
 * checks the platform's hop and hands it to the channel; checks the channel's receipt and
 * credit report and hands that to the bank; checks the bank's receipt and decision; the
 * platform opens the decision.
 */
import { hopFromWire, hopToWire, receiptFromWire, unaryCall, type WireHop, type WireReceipt } from '../grpc/transport';
import { loadPartyIdentity } from '../network/folder';
import { syntheticCustomer } from '../parties/samples';
import { DEV, DEV_CHANNEL_BANKS, type LocalNetwork } from '../runtime/localNetwork';
import { verifyHop, type DecodedHop } from '../seal/hop';
import { verifyReceipt } from '../seal/receipt';
import { PartyClients } from '../worker/partyClients';
import { progressBar } from './progress';
import { cpuBetween, nowMs, runPool, runSummary, sampleCpu, summarise, type CpuUse, type RunSummary, type Summary } from './stats';

export interface BareRelayOptions {
  n: number;
  concurrency: number;
  warmup: number;
  networkDir: string;
}

export interface BareRelayResult extends RunSummary {
  /** Router takes the sealed application → the platform has opened the decision. */
  latencyMs: Summary;
  /** The channel call (ProcessApplication) and the bank call (DeliverCreditReport) as the router sees them. */
  channelCallMs: Summary;
  bankCallMs: Summary;
  cpu: CpuUse;
}

interface RelayRun {
  ok: boolean;
  error?: string;
  latency?: number;
  channelCall?: number;
  bankCall?: number;
}

const DELIVERY_TIMEOUT_MS = 20_000;

function accepted(receipt: ReturnType<typeof verifyReceipt>): void {
  if (receipt.body.status !== 'accepted') throw new Error(`${receipt.body.by} rejected hop ${receipt.body.hopId}: ${receipt.body.reason ?? '?'}`);
}

async function relayOne(net: LocalNetwork, clients: PartyClients, i: number): Promise<RelayRun> {
  const bank = DEV_CHANNEL_BANKS[i % DEV_CHANNEL_BANKS.length]!;
  const app = net.platform.prepare(syntheticCustomer(i).fields, bank);
  const signerOf = net.router.directory.get().signerOf;
  try {
    const t0 = nowMs();
    const intake: DecodedHop = verifyHop(app.body.hop, { signerOf });

    const c0 = nowMs();
    const ch = await unaryCall<unknown, { receipt?: WireReceipt; bank_hop?: WireHop }>(clients.channel(DEV.channel), 'ProcessApplication', { hop: hopToWire(app.body.hop), bank_id: bank }, DELIVERY_TIMEOUT_MS);
    const c1 = nowMs();
    accepted(verifyReceipt(receiptFromWire(ch.receipt), { hopId: intake.header.hopId, headerDigest: intake.headerDigest, by: DEV.channel }, signerOf));
    const report = verifyHop(hopFromWire(ch.bank_hop), { signerOf });

    const b0 = nowMs();
    const bk = await unaryCall<unknown, { receipt?: WireReceipt; decision_hop?: WireHop }>(clients.bank(bank), 'DeliverCreditReport', { hop: hopToWire(report.sealed) }, DELIVERY_TIMEOUT_MS);
    const b1 = nowMs();
    accepted(verifyReceipt(receiptFromWire(bk.receipt), { hopId: report.header.hopId, headerDigest: report.headerDigest, by: bank }, signerOf));
    const decisionHop = verifyHop(hopFromWire(bk.decision_hop), { signerOf });

    const decision = net.platform.openDecision(decisionHop.sealed);
    if (decision.applicationId !== app.applicationId) throw new Error(`decision for ${decision.applicationId}, expected ${app.applicationId}`);
    return { ok: true, latency: nowMs() - t0, channelCall: c1 - c0, bankCall: b1 - b0 };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export async function runBareRelay(net: LocalNetwork, opts: BareRelayOptions): Promise<BareRelayResult> {
  const clients = new PartyClients(loadPartyIdentity(opts.networkDir, 'router'), net.router.directory.get);
  try {
    if (opts.warmup > 0) await runPool(opts.warmup, opts.concurrency, (i) => relayOne(net, clients, 2_000_000 + i));
    const bar = progressBar('bare relay', opts.n);
    const cpu0 = sampleCpu(undefined);
    const runs = await runPool(opts.n, opts.concurrency, (i) => relayOne(net, clients, 3_000_000 + i), () => bar.tick());
    const cpu1 = sampleCpu(undefined);
    bar.stop();
    const wallMs = cpu1.at - cpu0.at;
    const { ok, summary } = runSummary(opts, runs, wallMs, (r) => r.latency!);
    return {
      ...summary,
      channelCallMs: summarise(ok.map((r) => r.channelCall!)),
      bankCallMs: summarise(ok.map((r) => r.bankCall!)),
      cpu: cpuBetween(cpu0, cpu1, ok.length),
    };
  } finally {
    clients.close();
  }
}
