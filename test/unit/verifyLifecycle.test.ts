import { strict as assert } from 'node:assert';
import type { Consent } from '../../services/consent/consent';
import type { EvidenceBundle } from '../../services/evidence/bundle';
import { applicationBundle as storedApplicationBundle, partyBundle as storedPartyBundle } from '../../services/ledger/bundles';
import {
  recordConsent,
  recordConsentState,
  recordDeletion,
  recordHop,
  recordNotice,
  recordReceipt,
  recordRefusal,
  type Leaf,
} from '../../services/ledger/ledger';
import { noticeDigest, type NoticeBody } from '../../services/evidence/lifecycle';
import { createVerifierCache, verifyBundle, type VerifyReport } from '../../services/evidence/verify';
import { certificateFingerprint } from '../../services/pki/certificate';
import type { ReceiptBody } from '../../services/seal/receipt';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import type { HopHeader } from '../../services/seal/hop';
import { insertApplication } from '../../services/store/applications';
import { openDb, type Db } from '../../services/store/db';
import { registerNetwork } from '../../services/operator/registry';
import {
  BANK,
  CHANNEL,
  CREDIT_PRODUCT,
  DECISION_MODEL,
  PLATFORM,
  ROUTER,
  TestLog,
  acknowledgementLeaf,
  bundleWorld,
  consentStateLeaf,
  dataChannelFlow,
  deletionLeaf,
  lifecycleBundle,
  lifecycleFlow,
  lifecyclePems,
  notice,
  partyPems,
  type BundleWorld,
  type Lifecycle,
} from '../support/bundles';
import { sqliteUrl, tempDir } from '../support/env';

const kindsOf = (bundle: EvidenceBundle): string[] => bundle.leaves.map((l) => (JSON.parse(fromB64url(l.data)!.toString('utf8')) as { type: string }).type);
const count = (list: string[], kind: string): number => list.filter((k) => k === kind).length;

describe('evidence bundle verifier: the personal-data lifecycle', function () {
  this.timeout(120_000);
  let world: BundleWorld;
  let lc: Lifecycle;
  const cache = createVerifierCache();

  const verify = (bundle: unknown): VerifyReport => verifyBundle({ bundle, caPem: world.caPem, routerVkey: world.routerVkey, origin: world.origin, requireWitnesses: [world.witnessVkey], cache });
  /** The failed checks as [code, leaf index, cause]: what tests assert, never message text. */
  const failed = (r: VerifyReport) => r.checks.filter((c) => !c.ok).map((c) => [c.code, c.leafIndex, ...(c.cause ? [c.cause] : [])]);

  /** The flow's log with some leaves replaced: what a router rewriting its own log could show (re-proven, re-signed checkpoint). */
  const rewritten = (flow: Lifecycle, replace: Record<number, Leaf>): TestLog => {
    const log = new TestLog();
    flow.log.leaves.forEach((l, i) => log.append(replace[i] ?? l));
    return log;
  };

  before(() => {
    world = bundleWorld();
    lc = lifecycleFlow(world, { applicationId: 'app_lifecycle_1' });
  });

  describe('an honest lifecycle', () => {
    it('verifies a withdrawal, two notices, their acknowledgements and the deletion, and counts each apart', () => {
      const r = verify(lifecycleBundle(lc));
      assert.deepEqual(r.failures, []);
      assert.equal(r.ok, true);
      const { witnessedBy: _w, provenance, ...counts } = r.summary;
      assert.deepEqual(counts, {
        leaves: lc.own.length,
        hops: 3,
        // the acknowledgements are not receipts for hops: no field was seen by answering a notice
        receipts: 3,
        refusals: 1,
        parties: 4,
        consents: 1,
        withdrawals: 1,
        expiries: 0,
        notices: 2,
        acknowledgements: 2,
        deletions: 1,
      });
      assert.deepEqual(provenance, [
        { hopId: lc.hops.creditReport.header.hopId, applicationId: lc.applicationId, kind: 'credit_report', from: CHANNEL, ...CREDIT_PRODUCT },
        { hopId: lc.hops.decision.header.hopId, applicationId: lc.applicationId, kind: 'decision', from: BANK, ...DECISION_MODEL },
      ]);
      for (const check of ['consent state', 'notice', 'acknowledgement', 'deletion']) {
        assert.equal(r.checks.find((c) => c.check === check)?.ok, true, `check ${check} did not pass`);
      }
      assert.equal(
        r.checks.find((c) => c.check === 'acknowledgement')?.reason,
        '2 acknowledgements signed by the parties notified (2 accepted, 0 rejected); 0 of 2 notices not acknowledged in the bundle',
      );
    });

    it('verifies the same log as a complete bundle', () => {
      const r = verify(lifecycleBundle(lc, { complete: true }));
      assert.deepEqual(r.failures, []);
      assert.equal(r.summary.notices, 2);
      assert.equal(r.summary.deletions, 1);
    });

    it('accepts the consent members a party records (createdBy, actedAt, deviceDigest) and an expiry the router recorded', () => {
      const f = lifecycleFlow(world, {
        applicationId: 'app_lifecycle_members',
        consent: { createdBy: PLATFORM, actedAt: new Date(Date.now() - 3_000_000).toISOString(), deviceDigest: b64url(Buffer.alloc(32, 1)) },
      });
      f.own.push(f.log.append(consentStateLeaf({ consentId: f.consent.id, state: 'expired', by: ROUTER, at: f.consent.expiresAt })));
      const r = verify(lifecycleBundle(f));
      assert.deepEqual(r.failures, []);
      assert.equal(r.summary.expiries, 1);
    });

    it('reports notices not (yet) acknowledged without failing', () => {
      const r = verify(lifecycleBundle({ ...lc, own: lc.own.filter((i) => !lc.at.acknowledgements.includes(i)) }));
      assert.deepEqual(r.failures, []);
      assert.equal(r.summary.acknowledgements, 0);
      assert.match(r.checks.find((c) => c.check === 'acknowledgement')?.reason ?? '', /; 2 of 2 notices not acknowledged in the bundle$/);
    });
  });

  describe('notices', () => {
    it('fails a notice whose bytes changed after the router signed them, and the acknowledgement of the original', () => {
      const original = lc.notices.channel;
      const changed: NoticeBody = { ...original.body, reason: 'RETENTION_ELAPSED' };
      const log = rewritten(lc, { [lc.at.notices[0]]: { ...original.leaf, notice: b64url(canonicalJson(changed)) } });
      const r = verify(lifecycleBundle(lc, { log }));
      const id = original.body.noticeId;
      assert.ok(id);
      assert.deepEqual(failed(r), [
        ['NOTICE_SIGNATURE_INVALID', lc.at.notices[0], 'NOTICE_INVALID'],
        ['ACKNOWLEDGEMENT_INVALID', lc.at.acknowledgements[0], 'RECEIPT_INVALID'],
      ]);
    });

    it('fails a notice signed with a key that is not a router certificate, even one claiming to be the router', () => {
      const { applicationId, consent, hops } = lc;
      const body = { kind: 'consent_withdrawn' as const, applicationId, consentId: consent.id, to: CHANNEL, hops: [hops.application.header.hopId], reason: 'CONSENT_WITHDRAWN' as const };
      const forged = notice({ ...world.platform.signing, partyId: ROUTER }, body);
      const log = rewritten(lc, { [lc.at.notices[0]]: forged.leaf, [lc.at.acknowledgements[0]]: acknowledgementLeaf(world.channel, forged) });
      const r = verify(lifecycleBundle(lc, { log }));
      assert.deepEqual(failed(r), [['NOTICE_SIGNATURE_INVALID', lc.at.notices[0], 'NOTICE_INVALID']]);

      const byPlatform = notice(world.platform.signing, body);
      const log2 = rewritten(lc, { [lc.at.notices[0]]: byPlatform.leaf, [lc.at.acknowledgements[0]]: acknowledgementLeaf(world.channel, byPlatform) });
      assert.deepEqual(failed(verify(lifecycleBundle(lc, { log: log2 }))), [['NOTICE_NOT_BY_ROUTER', lc.at.notices[0]]]);
    });

    it('fails a notice that names a hop its addressee did not receive', () => {
      const wrong = notice(world.router.signing, {
        kind: 'consent_withdrawn',
        applicationId: lc.applicationId,
        consentId: lc.consent.id,
        to: CHANNEL,
        hops: [lc.hops.creditReport.header.hopId],
        reason: 'CONSENT_WITHDRAWN',
      });
      const log = rewritten(lc, { [lc.at.notices[0]]: wrong.leaf, [lc.at.acknowledgements[0]]: acknowledgementLeaf(world.channel, wrong) });
      assert.deepEqual(failed(verify(lifecycleBundle(lc, { log }))), [['NOTICE_HOP_MISMATCH', lc.at.notices[0]]]);
    });

    it('fails a withdrawal notice when the bundle holds no earlier withdrawal', () => {
      const r = verify(lifecycleBundle({ ...lc, own: lc.own.filter((i) => i !== lc.at.withdrawal) }));
      assert.equal(r.summary.withdrawals, 0);
      assert.deepEqual(r.codes, ['NOTICE_WITHOUT_WITHDRAWAL', 'NOTICE_WITHOUT_WITHDRAWAL']);
    });

    it('fails a notice whose router certificate the bundle lacks', () => {
      const bundle = lifecycleBundle(lc);
      const routerSig = partyPems(world, ROUTER)[0]!;
      bundle.certificates = bundle.certificates.filter((pem) => pem !== routerSig);
      const r = verify(bundle);
      assert.equal(r.ok, false);
      assert.equal(failed(r).filter(([code, at, cause]) => code === 'NOTICE_SIGNATURE_INVALID' && at === lc.at.notices[0] && cause === 'NOTICE_INVALID').length, 1);
    });
  });

  describe('acknowledgements', () => {
    it('fails an acknowledgement over another digest than the notice’s', () => {
      const id = lc.notices.channel.body.noticeId;
      const otherDigest = noticeDigest(fromB64url(lc.notices.bank.signed.notice)!);
      const log = rewritten(lc, { [lc.at.acknowledgements[0]]: acknowledgementLeaf(world.channel, lc.notices.channel, { digest: otherDigest }) });
      assert.ok(id);
      assert.deepEqual(failed(verify(lifecycleBundle(lc, { log }))), [['ACKNOWLEDGEMENT_INVALID', lc.at.acknowledgements[0], 'RECEIPT_INVALID']]);
    });

    it('fails an acknowledgement signed by a party other than the one notified', () => {
      const id = lc.notices.channel.body.noticeId;
      const log = rewritten(lc, { [lc.at.acknowledgements[0]]: acknowledgementLeaf(world.bank, lc.notices.channel) });
      assert.ok(id);
      assert.deepEqual(failed(verify(lifecycleBundle(lc, { log }))), [['ACKNOWLEDGEMENT_INVALID', lc.at.acknowledgements[0], 'RECEIPT_INVALID']]);
    });

    it('fails an acknowledgement whose notice is not in the bundle', () => {
      const r = verify(lifecycleBundle({ ...lc, own: lc.own.filter((i) => i !== lc.at.notices[0]) }));
      assert.deepEqual(failed(r), [['RECEIPT_ORPHAN', lc.at.acknowledgements[0]]]);
    });
  });

  describe('deletions', () => {
    it('fails a deletion naming a hop the application bundle does not hold', () => {
      const hops = [lc.hops.application, lc.hops.creditReport, lc.hops.decision].map((h) => h.header.hopId);
      const log = rewritten(lc, { [lc.at.deletion]: deletionLeaf({ applicationId: lc.applicationId, reason: 'CONSENT_WITHDRAWN', hops: [...hops, 'hop_not_in_bundle'] }) });
      assert.deepEqual(failed(verify(lifecycleBundle(lc, { log }))), [['DELETION_HOP_MISSING', lc.at.deletion]]);
    });

    it('fails a deletion naming another application’s hop (complete bundle)', () => {
      const log = new TestLog();
      const other = dataChannelFlow(world, { applicationId: 'app_lifecycle_other', unrelated: 0 }, log);
      const f = lifecycleFlow(world, { applicationId: 'app_lifecycle_del', unrelated: 0 }, log);
      const foreign = other.hops.application.header.hopId;
      log.leaves[f.at.deletion] = deletionLeaf({ applicationId: f.applicationId, reason: 'CONSENT_WITHDRAWN', hops: [f.hops.application.header.hopId, foreign] });
      const r = verify(log.bundle(world, { complete: true, certificates: lifecyclePems(world) }));
      assert.deepEqual(failed(r), [['DELETION_HOP_MISMATCH', f.at.deletion]]);
    });
  });

  describe('consent state', () => {
    it('fails a withdrawal recorded by a party other than the one that collected the consent', () => {
      const log = rewritten(lc, { [lc.at.withdrawal]: consentStateLeaf({ consentId: lc.consent.id, state: 'withdrawn', by: CHANNEL, at: new Date().toISOString() }) });
      assert.deepEqual(failed(verify(lifecycleBundle(lc, { log }))), [['CONSENT_STATE_WRONG_RECORDER', lc.at.withdrawal]]);
    });

    it('fails an expiry recorded by anyone but the router', () => {
      const f = lifecycleFlow(world, { applicationId: 'app_lifecycle_expiry' });
      const at = f.log.append(consentStateLeaf({ consentId: f.consent.id, state: 'expired', by: PLATFORM, at: f.consent.expiresAt }));
      f.own.push(at);
      assert.deepEqual(failed(verify(lifecycleBundle(f))), [['CONSENT_STATE_WRONG_RECORDER', at]]);
    });

    it('fails a consent change whose consent is not in the application bundle', () => {
      const consentLeaf = lc.own[3]!;
      const r = verify(lifecycleBundle({ ...lc, own: lc.own.filter((i) => i !== consentLeaf) }));
      assert.equal(failed(r).filter(([code, at]) => code === 'CONSENT_STATE_CONSENT_MISSING' && at === lc.at.withdrawal).length, 1);
    });

    it('fails a hop recorded after its recipient’s consent was withdrawn: CONSENT_WITHDRAWN', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_lifecycle_late', unrelated: 0 });
      const withdrawal = consentStateLeaf({ consentId: f.consent.id, state: 'withdrawn', recipients: [BANK], by: PLATFORM, at: new Date().toISOString() });
      const reportAt = f.own[6]!;
      const log = new TestLog();
      f.log.leaves.forEach((l, i) => {
        if (i === reportAt) log.append(withdrawal);
        log.append(l);
      });
      const r = verify(log.bundle(world, { complete: true }));
      // only the credit report went to the bank after the withdrawal; the decision goes to the platform
      assert.deepEqual(failed(r), [['ROUTING_AFTER_CONSENT_ENDED', reportAt + 1, 'CONSENT_WITHDRAWN']]);
      // the same withdrawal recorded after every hop stops nothing that was sent
      const after = new TestLog();
      f.log.leaves.forEach((l) => after.append(l));
      after.append(withdrawal);
      assert.deepEqual(verify(after.bundle(world, { complete: true })).failures, []);
    });

    it('fails a hop recorded after the bank’s own consent for the application was withdrawn (redirect model)', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_lifecycle_own', unrelated: 0 });
      const own: Consent = { ...f.consent, id: 'consent_bank_own_1', createdBy: BANK, applicationId: f.applicationId, recipients: [BANK] };
      const reportAt = f.own[6]!;
      const log = new TestLog();
      f.log.leaves.forEach((l, i) => {
        if (i === reportAt) {
          log.append({ type: 'consent', recordedAt: new Date().toISOString(), consent: own });
          log.append(consentStateLeaf({ consentId: own.id, state: 'withdrawn', by: BANK, at: new Date().toISOString() }));
        }
        log.append(l);
      });
      assert.deepEqual(failed(verify(log.bundle(world, { complete: true }))), [['ROUTING_AFTER_CONSENT_ENDED', reportAt + 2, 'CONSENT_WITHDRAWN']]);
    });

    it('refuses malformed lifecycle members as leaf data', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_lifecycle_shape', consent: { deviceDigest: 'not-a-digest' } });
      const r = verify(lifecycleBundle(f));
      assert.equal(failed(r).filter(([code, at]) => code === 'LEAF_MALFORMED' && at === f.own[3]).length, 1, r.failures.join('\n'));

      const g = lifecycleFlow(world, { applicationId: 'app_lifecycle_shape2' });
      const withExtra = { ...(g.log.leaves[g.at.withdrawal] as Leaf), reason: 'changed my mind' } as unknown as Leaf;
      const log = rewritten(g, { [g.at.withdrawal]: withExtra });
      const r2 = verify(lifecycleBundle(g, { log }));
      assert.equal(failed(r2).filter(([code, at]) => code === 'LEAF_MALFORMED' && at === g.at.withdrawal).length, 1, r2.failures.join('\n'));
    });
  });

  describe('bundles built from the store', () => {
    let db: Db;
    let stored: Lifecycle;
    const logConfig = () => ({ origin: world.origin, signer: world.checkpointSigner });

    before(async () => {
      db = await openDb(sqliteUrl(tempDir('verify-lifecycle')));
      await registerNetwork(db, world.network);
      stored = lifecycleFlow(world, { applicationId: 'app_lifecycle_store', unrelated: 0 });
      const applicationId = stored.applicationId;
      for (const i of stored.own) {
        const leaf = stored.log.leaves[i]!;
        if (leaf.type === 'consent') await recordConsent(db, leaf.consent);
        else if (leaf.type === 'hop') {
          const headerBytes = fromB64url(leaf.header)!;
          await recordHop(db, { header: JSON.parse(headerBytes.toString('utf8')) as HopHeader, headerBytes, signature: fromB64url(leaf.signature)! });
        } else if (leaf.type === 'receipt') {
          const body = JSON.parse(fromB64url(leaf.receipt)!.toString('utf8')) as ReceiptBody;
          await recordReceipt(db, applicationId, { body, signed: { receipt: leaf.receipt, signature: leaf.signature } });
        } else if (leaf.type === 'refusal') {
          const { type: _t, recordedAt: _r, ...refusal } = leaf;
          await recordRefusal(db, refusal);
        } else if (leaf.type === 'consent_state') {
          const { type: _t, recordedAt: _r, ...state } = leaf;
          await recordConsentState(db, state);
        } else if (leaf.type === 'notice') {
          const body = JSON.parse(fromB64url(leaf.notice)!.toString('utf8')) as NoticeBody;
          await recordNotice(db, body, { notice: leaf.notice, signature: leaf.signature });
        } else if (leaf.type === 'deletion') {
          const { type: _t, recordedAt: _r, ...deletion } = leaf;
          await recordDeletion(db, deletion);
        }
        // party leaves: registerNetwork recorded every party, the router included
      }
      // Consents whose dedup keys a LIKE prefix of this consent's would also match (`_` is a
      // wildcard, ids may hold `:`): their changes belong in no bundle of this application.
      for (const decoy of [`${stored.consent.id}:b`, stored.consent.id.replace('_', 'X')]) {
        await recordConsentState(db, { consentId: decoy, state: 'withdrawn', by: PLATFORM, at: new Date().toISOString() });
      }
      await insertApplication(db, {
        id: applicationId,
        platformId: PLATFORM,
        idempotencyKey: 'idem-lifecycle-store',
        requestHash: 'h',
        workflowId: `wf-${applicationId}`,
        model: 'data_channel',
        channelId: CHANNEL,
        bankId: BANK,
        consentId: stored.consent.id,
        callbackUrl: null,
        intakeHopId: stored.hops.application.header.hopId,
        createdAt: Date.now(),
      });
    });

    after(async () => {
      await db?.destroy();
    });

    it('an application bundle carries the withdrawal, notices, acknowledgements, deletion and the router’s certificate, and verifies', async () => {
      const bundle = await storedApplicationBundle(db, logConfig(), stored.applicationId);
      const kinds = kindsOf(bundle);
      assert.equal(count(kinds, 'consent_state'), 1, 'exactly this consent’s withdrawal, not the decoys’');
      assert.equal(count(kinds, 'notice'), 2);
      assert.equal(count(kinds, 'deletion'), 1);
      assert.equal(count(kinds, 'receipt'), 5, 'three hop receipts and two acknowledgements');
      const routerSig = certificateFingerprint(partyPems(world, ROUTER)[0]!);
      assert.ok(bundle.certificates.some((pem) => certificateFingerprint(pem) === routerSig), 'the router’s signing certificate is in the bundle');
      const r = verifyBundle({ bundle, caPem: world.caPem, routerVkey: world.routerVkey, origin: world.origin, cache });
      assert.deepEqual(r.failures, []);
      assert.equal(r.summary.withdrawals, 1);
      assert.equal(r.summary.notices, 2);
      assert.equal(r.summary.acknowledgements, 2);
      assert.equal(r.summary.deletions, 1);
    });

    it('a party bundle carries the notices to that party and its acknowledgements, and verifies', async () => {
      const bundle = await storedPartyBundle(db, logConfig(), CHANNEL, new Date(0), new Date(Date.now() + 60_000));
      const r = verifyBundle({ bundle, caPem: world.caPem, routerVkey: world.routerVkey, origin: world.origin, cache });
      assert.deepEqual(r.failures, []);
      assert.equal(r.summary.notices, 1);
      assert.equal(r.summary.acknowledgements, 1);
      const notices = bundle.leaves
        .map((l) => JSON.parse(fromB64url(l.data)!.toString('utf8')) as Leaf)
        .filter((l): l is Extract<Leaf, { type: 'notice' }> => l.type === 'notice')
        .map((l) => (JSON.parse(fromB64url(l.notice)!.toString('utf8')) as NoticeBody).to);
      assert.deepEqual(notices, [CHANNEL]);
    });
  });
});
