/**
 * What a receiving party does with the router's notice about an application it holds data of:
 * verify it (signed by the router, addressed to us), act — stop processing, delete — and only
 * then acknowledge with a signed receipt. A notice that does not verify gets a signed rejection
 * with the code, so the router records why and asks again.
 */
import type * as grpc from '@grpc/grpc-js';
import { toDzlError } from '../common/errors';
import { noticeDigest, verifyNotice } from '../evidence/lifecycle';
import type { NoticeBody } from '../evidence/notice';
import { b64url, fromB64url } from '../seal/bytes';
import { parseCanonical } from '../seal/canonical';
import { signReceipt, type SignedReceipt } from '../seal/receipt';
import { receiptToWire } from '../grpc/transport';
import { fromRouter } from './grpcHandler';
import type { PartyObserver } from './observer';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import type { Vault } from '../atrest/vault';

/**
 * Deletes what a party holds of the application. Of a withdrawn one it keeps a tombstone (the
 * notice id and time, nothing personal), in its store so that it survives a restart: the party
 * goes on refusing that application's hops.
 */
export async function deleteApplicationData(vault: Vault, n: NoticeBody): Promise<void> {
  const withdrawn = n.kind === 'consent_withdrawn' || (await isWithdrawn(vault, n.applicationId));
  await vault.deleteApplication(n.applicationId);
  if (withdrawn) await vault.put(n.applicationId, 'tombstone', 'withdrawn', { noticeId: n.noticeId, at: n.issuedAt });
}

export async function isWithdrawn(vault: Vault, applicationId: string): Promise<boolean> {
  return (await vault.get(applicationId, 'tombstone', 'withdrawn')) !== undefined;
}

export class NoticeDesk {
  constructor(
    private readonly me: PartyIdentity,
    private readonly directory: () => NetworkDirectory,
    private readonly act: (notice: NoticeBody) => Promise<void>,
    private readonly observer: PartyObserver = {},
  ) {}

  async receive(input: { notice?: string; signature?: string }): Promise<SignedReceipt> {
    let notice: { body: NoticeBody; digest: string };
    try {
      notice = verifyNotice(input, { by: 'router', to: this.me.partyId }, this.directory().signerOf);
    } catch (err) {
      const e = toDzlError(err);
      // name what we were sent, as far as it parses, so the rejection can be matched to it
      const bytes = fromB64url(input.notice);
      let id = 'unknown-notice';
      try {
        const parsed = bytes ? (parseCanonical(bytes) as { noticeId?: unknown }) : undefined;
        if (typeof parsed?.noticeId === 'string') id = parsed.noticeId;
      } catch {
        // not canonical JSON: nothing to name
      }
      return signReceipt(this.me.signing, { hopId: id, headerDigest: bytes ? noticeDigest(bytes) : '' }, 'rejected', e.code);
    }
    // our own failure to act propagates: the router retries, and we acknowledge only what we did
    await this.act(notice.body);
    this.observer.noticeActedOn?.(notice.body);
    return signReceipt(this.me.signing, { hopId: notice.body.noticeId, headerDigest: notice.digest }, 'accepted');
  }

  grpcHandler(): grpc.handleUnaryCall<{ notice?: { notice?: Buffer; signature?: Buffer } }, unknown> {
    return fromRouter(this.directory, 'sends notices', async (req: { notice?: { notice?: Buffer; signature?: Buffer } }) => {
      const n = req.notice ?? {};
      const receipt = await this.receive({ notice: n.notice ? b64url(n.notice) : '', signature: n.signature ? b64url(n.signature) : '' });
      return { receipt: receiptToWire(receipt) };
    });
  }
}
