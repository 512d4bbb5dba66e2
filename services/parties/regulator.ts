/**
 * Reference regulator client: pulls checkpoints and bundles from the router's API with signed
 * requests, and runs the witness that cosigns checkpoints.
 */
import type { EvidenceBundle } from '../evidence/bundle';
import { Witness } from '../evidence/witness';
import type { NoteSigner } from '../evidence/note';
import type { PartyIdentity } from '../pki/identity';
import { fromB64url } from '../seal/bytes';
import { signRequest } from '../seal/requestSignature';

export class ReferenceRegulator {
  readonly witness: Witness;

  constructor(private readonly identity: PartyIdentity, private readonly routerUrl: string, witnessKey: NoteSigner, routerVkey: string) {
    this.witness = new Witness(witnessKey, routerVkey);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    const res = await fetch(this.routerUrl + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: signRequest(this.identity.signing, method, path, bytes) },
      ...(body === undefined ? {} : { body: bytes }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  private async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request<T & { error?: { code: string; message: string } }>(method, path, body);
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.body.error?.code} ${res.body.error?.message}`);
    return res.body;
  }

  checkpoint(publishNow = false): Promise<{ treeSize: number; checkpoint: string }> {
    return this.ok(publishNow ? 'POST' : 'GET', '/v1/regulator/checkpoint');
  }

  async consistency(from: number, to: number): Promise<Uint8Array[]> {
    const r = await this.ok<{ proof: string[] }>('GET', `/v1/regulator/consistency?from=${from}&to=${to}`);
    return r.proof.map((h) => fromB64url(h)!);
  }

  /** Witnesses the latest checkpoint: verify, check consistency with the last one, cosign, submit. */
  async witnessLatest(publishNow = true): Promise<{ treeSize: number; checkpoint: string }> {
    const cp = await this.checkpoint(publishNow);
    const last = this.witness.lastCosigned;
    const proof = last ? await this.consistency(last.size, cp.treeSize) : [];
    const line = this.witness.cosign(cp.checkpoint, proof);
    return this.ok('POST', `/v1/regulator/checkpoint/${cp.treeSize}/cosignature`, { line });
  }

  applicationBundle(applicationId: string, witnessed = false): Promise<EvidenceBundle> {
    return this.ok('GET', `/v1/regulator/applications/${encodeURIComponent(applicationId)}/bundle${witnessed ? '?witnessed=1' : ''}`);
  }

  partyBundle(partyId: string, from: string, to: string): Promise<EvidenceBundle> {
    return this.ok('GET', `/v1/regulator/parties/${encodeURIComponent(partyId)}/bundle?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  }

  directConnectionAudit(witnessed = false): Promise<EvidenceBundle> {
    return this.ok('GET', `/v1/regulator/audit/direct-connection${witnessed ? '?witnessed=1' : ''}`);
  }
}
