import { strict as assert } from 'node:assert';
import { noticeDigest, signNotice, verifyNotice } from '../../services/evidence/lifecycle';
import { PartyEvents } from '../../services/runtime/partyEvents';
import { checkNoticeBody } from '../../services/evidence/notice';
import { NoticeDesk } from '../../services/parties/notices';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { verifyReceipt } from '../../services/seal/receipt';
import { parties, strangerIdentity, type Parties } from '../support/fixtures';

const bodyOf = (r: { receipt: string }) => JSON.parse(fromB64url(r.receipt)!.toString('utf8')) as { hopId: string; headerDigest: string; status: string; reason?: string };

describe('notices to parties (consent withdrawn, delete the data)', () => {
  let p: Parties;
  before(() => {
    p = parties();
  });
  const notice = (over: { to?: string; signer?: Parties['router']['signing'] } = {}) =>
    signNotice(over.signer ?? p.router.signing, { kind: 'consent_withdrawn', applicationId: 'app_n1', consentId: 'consent_n1', to: over.to ?? 'bank-hangzhou', hops: ['hop_a', 'hop_b'], reason: 'CONSENT_WITHDRAWN' });

  it('acts, then acknowledges with a signed receipt naming the notice and its digest', async () => {
    const acted: string[] = [];
    const events = new PartyEvents();
    const desk = new NoticeDesk(p.bank, () => p.directory, async (n) => void acted.push(n.applicationId), events);
    const { body, signed } = notice();
    const receipt = await desk.receive(signed);
    assert.deepEqual(acted, ['app_n1']);
    const checked = verifyReceipt(receipt, { hopId: body.noticeId, headerDigest: noticeDigest(fromB64url(signed.notice)!), by: 'bank-hangzhou' }, p.directory.signerOf);
    assert.equal(checked.body.status, 'accepted');
    assert.deepEqual(events.notices.map((n) => n.hops), [['hop_a', 'hop_b']]);
  });

  it('rejects with NOTICE_INVALID, without acting, a notice that is tampered, misaddressed or not signed by the router', async () => {
    let acted = 0;
    const desk = new NoticeDesk(p.bank, () => p.directory, async () => void acted++);
    const { signed } = notice();
    const tampered = JSON.parse(fromB64url(signed.notice)!.toString('utf8')) as Record<string, unknown>;
    tampered.hops = ['hop_a'];
    const cases = [
      { ...signed, notice: b64url(Buffer.from(JSON.stringify(tampered))) },
      notice({ to: 'bank-suzhou' }).signed,
      notice({ signer: p.platform.signing }).signed,
      notice({ signer: strangerIdentity('router') }).signed,
      { notice: 'not-base64url!', signature: '' },
    ];
    for (const c of cases) {
      const r = bodyOf(await desk.receive(c));
      assert.equal(r.status, 'rejected');
      assert.equal(r.reason, 'NOTICE_INVALID');
    }
    assert.equal(acted, 0);
    assert.throws(() => verifyNotice(notice({ to: 'bank-suzhou' }).signed, { by: 'router', to: 'bank-hangzhou' }, p.directory.signerOf), /addressed to bank-suzhou/);
  });

  it('does not act on a notice the verifier would reject, even one the router signed: one check for both', async () => {
    // Before the notice was declared once, a party checked only v, kind, ids and the signature; a
    // signed notice with an unknown reason or an extra member was acted on, and the verifier then
    // failed the bundle that recorded it.
    let acted = 0;
    const desk = new NoticeDesk(p.bank, () => p.directory, async () => void acted++);
    const base = { kind: 'consent_withdrawn' as const, applicationId: 'app_n2', consentId: 'consent_n2', to: 'bank-hangzhou', hops: ['hop_a'], reason: 'CONSENT_WITHDRAWN' as const };
    const odd = [
      signNotice(p.router.signing, { ...base, reason: 'BECAUSE' as never }).signed,
      signNotice(p.router.signing, { ...base, extra: 'x' } as never).signed,
      signNotice(p.router.signing, { ...base, applicationId: 'app with spaces' }).signed,
    ];
    for (const c of odd) {
      assert.equal(checkNoticeBody(fromB64url(c.notice)!).ok, false, 'the verifier’s check refuses it');
      const r = bodyOf(await desk.receive(c));
      assert.equal(r.status, 'rejected');
      assert.equal(r.reason, 'NOTICE_INVALID');
    }
    assert.equal(acted, 0);
  });

  it('does not acknowledge what it failed to do: its own failure propagates, so the router asks again', async () => {
    const events = new PartyEvents();
    const desk = new NoticeDesk(p.bank, () => p.directory, async () => {
      throw new Error('disk full');
    }, events);
    await assert.rejects(desk.receive(notice().signed), /disk full/);
    assert.equal(events.notices.length, 0);
  });
});
