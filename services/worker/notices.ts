/**
 * Notices: the router's signed notice to each party holding an application's data, sent until
 * the party acknowledges it with a signed receipt; a party that never does is recorded.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DzlError, isErrorCode } from '../common/errors';
import { requireConsentOf } from '../custody/custody';
import { noticeDigest, type SignedNotice } from '../evidence/lifecycle';
import { receiptFromWire, unaryCall, type WireReceipt } from '../grpc/transport';
import { recordReceipt, recordRefusal } from '../ledger/ledger';
import { noticeFor } from '../lifecycle/notices';
import type { NoticeActivities } from '../orchestration/contract';
import { fromB64url } from '../seal/bytes';
import { verifyReceipt } from '../seal/receipt';
import { getApplication } from '../store/applications';
import { acknowledgeNotice } from '../store/notices';
import { recipientsOf } from '../store/sealedHops';
import type { ActivityDeps } from './deps';

export function createNoticeActivities(deps: ActivityDeps): NoticeActivities {
  const timeout = deps.deliveryTimeoutMs ?? 10_000;
  return {
    /**
     * Known by the hop kinds (which the routing rules tie to roles), so a party since removed from
     * the registry is still asked.
     */
    async holdersOf(ref) {
      return recipientsOf(deps.db, ref.applicationId, ['application', 'credit_report', 'redirect']);
    },

    async recordUnacknowledged(ref) {
      for (const party of ref.parties) {
        await recordRefusal(deps.db, {
          code: 'NOTICE_UNACKNOWLEDGED',
          message: `${party} did not acknowledge the ${ref.kind} notice for ${ref.applicationId} within 30 days of retries`,
          stage: `notice:${ref.kind}`,
          refusedBy: party,
          applicationId: ref.applicationId,
          to: party,
          dedupKey: `refusal:unacknowledged:${ref.applicationId}:${ref.kind}:${party}`,
        });
        deps.log.error({ applicationId: ref.applicationId, to: party, kind: ref.kind }, 'notice never acknowledged');
      }
    },

    async sendNotice(ref) {
      const app = await getApplication(deps.db, ref.applicationId);
      if (!app) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      const notice = await noticeFor(deps.db, deps.router.signing, app, await requireConsentOf(deps.db, app), ref.to, ref.kind, ref.reason);
      if (notice.acknowledgedAt) return;
      const signed = JSON.parse(notice.signed) as SignedNotice;
      const role = deps.directory().party(ref.to)?.role;
      const client = role === 'channel' ? deps.parties.channel(ref.to) : deps.parties.bank(ref.to);
      const res = await unaryCall<object, { receipt?: WireReceipt }>(client, 'ReceiveNotice', { notice: { notice: fromB64url(signed.notice), signature: fromB64url(signed.signature) } }, timeout);
      const receipt = verifyReceipt(receiptFromWire(res.receipt), { hopId: notice.noticeId, headerDigest: noticeDigest(fromB64url(signed.notice)!), by: ref.to }, deps.directory().signerOf);
      if (receipt.body.status !== 'accepted') {
        // recorded once; asked again (a party that cannot act on a notice must be made to)
        const code = isErrorCode(receipt.body.reason) ? receipt.body.reason : 'NOTICE_INVALID';
        await recordRefusal(deps.db, { code, message: `${ref.to} rejected notice ${notice.noticeId}: ${receipt.body.reason ?? 'no reason given'}`, stage: `notice:${ref.kind}`, refusedBy: ref.to, applicationId: app.id, to: ref.to, dedupKey: `refusal:notice:${notice.noticeId}` });
        throw new DzlError(code, `${ref.to} rejected notice ${notice.noticeId}; asking again`);
      }
      await recordReceipt(deps.db, app.id, receipt);
      await acknowledgeNotice(deps.db, notice.noticeId, Date.now());
      deps.log.info({ applicationId: app.id, to: ref.to, kind: ref.kind }, 'notice acknowledged');
    },
  };
}
