/**
 * The router's signed notice to a party that holds an application's data. Signed once and
 * stored with its evidence leaf in one transaction: every retry sends the same bytes, so the
 * evidence holds one notice and its one acknowledgement.
 */
import { createHash } from 'node:crypto';
import { withdrawnFor, type Consent } from '../consent/consent';
import type { NoticeKind, NoticeReason } from '../domain/notices';
import { signNotice } from '../evidence/lifecycle';
import { recordNotice } from '../ledger/ledger';
import type { SigningIdentity } from '../seal/hop';
import type { ApplicationRow } from '../store/applications';
import { transact, type Db } from '../store/db';
import { getNotice, insertNotice, type NoticeRow } from '../store/notices';
import { hopIdsTo } from '../store/sealedHops';

/** One notice per (application, party, kind), whoever asks and however often. */
export function noticeIdFor(applicationId: string, to: string, kind: NoticeKind): string {
  return `ntc-${createHash('sha256').update(`${applicationId}\n${to}\n${kind}`).digest('hex').slice(0, 40)}`;
}

export async function noticeFor(db: Db, router: SigningIdentity, app: ApplicationRow, consent: Consent, to: string, kind: NoticeKind, reason: NoticeReason): Promise<NoticeRow> {
  const noticeId = noticeIdFor(app.id, to, kind);
  const standing = await getNotice(db, noticeId);
  if (standing) return standing;
  // a withdrawal for some recipients stops the whole application: a party whose own consent
  // still stands is told to delete the stopped application's data, not that consent ended
  const told: NoticeKind = kind === 'consent_withdrawn' && !withdrawnFor(consent, to) ? 'delete_data' : kind;
  const hops = await hopIdsTo(db, app.id, to);
  const { body, signed } = signNotice(router, { noticeId, kind: told, applicationId: app.id, consentId: app.consentId, to, hops, reason });
  await transact(db, async (trx) => {
    if (await insertNotice(trx, { noticeId, applicationId: app.id, to, kind: told, signed: JSON.stringify(signed) })) await recordNotice(trx, body, signed);
  });
  return (await getNotice(db, noticeId))!;
}
