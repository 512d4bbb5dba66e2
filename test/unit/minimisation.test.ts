import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import {
  allowedFields,
  checkMinimisation,
  checkPolicyRecipients,
  minimalFieldsFor,
  minimisationPolicy,
  MinimisationPolicyError,
  parseMinimisationPolicy,
  setMinimisationPolicy,
  type MinimisationPolicyFile,
} from '../../services/routing/minimisation';
import type { HopHeader, ManifestEntry } from '../../services/seal/hop';
import { classOf } from '../../services/fields/catalogue';
import shippedFile from '../../contracts/minimisation.json';
import { parties } from '../support/fixtures';

const D = 'A'.repeat(43);
const m = (field: string): ManifestEntry => ({ field, class: classOf(field), digest: D });

function creditReport(model: HopHeader['model'], fields: string[], to = 'bank-hangzhou'): HopHeader {
  return {
    v: 1, hopId: 'hop_min_1', applicationId: 'app_1', kind: 'credit_report', model,
    from: 'channel-baihang', to, platform: 'platform-huixin', channel: 'channel-baihang',
    consentRef: 'consent_1', issuedAt: new Date().toISOString(), nonce: 'nonce-nonce-1234', senderKeyId: 'kkkkkkkk',
    recipientKeyId: 'kkkkkkkk', alg: { sig: 'PS256', enc: 'A256GCM', wrap: 'RSA-OAEP-256', digest: 'HS256' },
    manifest: fields.map(m), ciphertextDigest: 'cccccccc',
  };
}

const BANK_ELEMENTS = ['customer.name', 'customer.idNumber', 'customer.mobile', 'loan.amount', 'loan.termMonths', 'loan.purpose'];
const PRODUCT = ['product.name', 'product.version', 'product.score', 'product.riskLabels', 'product.antiFraud'];

/** The shipped policy, changed by `edit`: a fresh copy each time. */
function policyWith(edit: (p: MinimisationPolicyFile) => void): MinimisationPolicyFile {
  const p = structuredClone(shippedFile) as MinimisationPolicyFile;
  edit(p);
  return p;
}

function problemsOf(raw: unknown): string[] {
  try {
    parseMinimisationPolicy(raw, 'test policy');
  } catch (err) {
    assert.ok(err instanceof MinimisationPolicyError, String(err));
    assert.match(err.message, /^test policy is not a valid minimisation policy/);
    return [...err.problems];
  }
  assert.fail('the policy was accepted');
}

function refusal(header: HopHeader): DzlError {
  try {
    checkMinimisation(header);
  } catch (err) {
    assert.ok(err instanceof DzlError, String(err));
    return err;
  }
  assert.fail(`hop with ${header.manifest.map((e) => e.field).join(', ')} was let through`);
}

/** bank-suzhou gets no loan purpose; bank-ningbo also gets the declared income, documented. */
const PER_BANK = policyWith((p) => {
  p.version = 'test-per-bank';
  p.hops.credit_report!.data_channel.recipients = {
    'bank-suzhou': { why: 'contract §4: purpose collected by the bank itself', fields: [...BANK_ELEMENTS.filter((f) => f !== 'loan.purpose'), ...PRODUCT] },
    'bank-ningbo': { why: 'contract §7: affordability check on declared income', fields: [...BANK_ELEMENTS, 'customer.monthlyIncome', ...PRODUCT], widens: ['customer.monthlyIncome'] },
  };
});

describe('data minimisation policy', () => {
  describe('the shipped policy (contracts/minimisation.json)', () => {
    it('is valid and names its version', () => {
      const policy = minimisationPolicy();
      assert.equal(policy.version, shippedFile.version);
      assert.equal(policy.source, 'contracts/minimisation.json');
    });

    it('gives a bank the application elements and the credit product on a data_channel credit report', () => {
      assert.deepEqual([...allowedFields('credit_report', 'data_channel', 'bank-hangzhou')!].sort(), [...BANK_ELEMENTS, ...PRODUCT].sort());
    });

    it('gives a bank only the credit product on a direct_redirect credit report: the customer applied on its own page', () => {
      assert.deepEqual([...allowedFields('credit_report', 'direct_redirect', 'bank-hangzhou')!].sort(), [...PRODUCT].sort());
    });

    it('does not cover hop kinds it does not list', () => {
      assert.equal(allowedFields('application', 'data_channel', 'channel-baihang'), undefined);
      assert.equal(allowedFields('decision', 'data_channel', 'platform-huixin'), undefined);
    });
  });

  describe('validation when loaded', () => {
    it('accepts the shipped file', () => {
      assert.equal(parseMinimisationPolicy(shippedFile).version, shippedFile.version);
    });

    it('refuses a field not in the catalogue', () => {
      const problems = problemsOf(policyWith((p) => p.hops.credit_report!.data_channel.default.fields.push('customer.shoeSize')));
      assert.deepEqual(problems, ['hops.credit_report.data_channel.default.fields: customer.shoeSize is not in the field catalogue 2026-11']);
    });

    it('refuses a C3 field', () => {
      const problems = problemsOf(policyWith((p) => p.hops.credit_report!.direct_redirect.default.fields.push('card.pin')));
      assert.deepEqual(problems, ['hops.credit_report.direct_redirect.default.fields: card.pin is C3 (authentication data); it may never be sent']);
    });

    it('refuses a field of an origin the route does not carry', () => {
      const problems = problemsOf(policyWith((p) => p.hops.credit_report!.data_channel.default.fields.push('risk.platformScore')));
      assert.deepEqual(problems, [
        'hops.credit_report.data_channel.default.fields: risk.platformScore is of origin platform_risk; a credit_report hop may carry only application, credit_product fields',
      ]);
      const onDecision = problemsOf(policyWith((p) => {
        p.hops.decision = { why: 'outcome only', data_channel: { default: { why: 'w', fields: ['decision.status', 'customer.name'] } }, direct_redirect: { default: { why: 'w', fields: ['decision.status'] } } };
      }));
      assert.deepEqual(onDecision, ['hops.decision.data_channel.default.fields: customer.name is of origin application; a decision hop may carry only decision fields']);
    });

    it('checks recipient lists the same way and lists every problem at once', () => {
      const problems = problemsOf(policyWith((p) => {
        p.hops.credit_report!.data_channel.recipients = { 'bank-suzhou': { why: 'w', fields: ['card.cvn2', 'risk.multiLoanCount', 'product.score'] } };
      }));
      assert.deepEqual(problems, [
        'hops.credit_report.data_channel.recipients.bank-suzhou.fields: card.cvn2 is C3 (authentication data); it may never be sent',
        'hops.credit_report.data_channel.recipients.bank-suzhou.fields: risk.multiLoanCount is of origin platform_risk; a credit_report hop may carry only application, credit_product fields',
        'hops.credit_report.data_channel.recipients.bank-suzhou: card.cvn2, risk.multiLoanCount widen the default; list them in "widens" and say why',
      ]);
    });

    it('refuses a widening not declared in "widens", and a "widens" that widens nothing', () => {
      const undeclared = problemsOf(policyWith((p) => {
        p.hops.credit_report!.data_channel.recipients = { 'bank-ningbo': { why: 'w', fields: ['customer.monthlyIncome', 'product.score'] } };
      }));
      assert.deepEqual(undeclared, ['hops.credit_report.data_channel.recipients.bank-ningbo: customer.monthlyIncome widens the default; list it in "widens" and say why']);
      const spurious = problemsOf(policyWith((p) => {
        p.hops.credit_report!.data_channel.recipients = { 'bank-ningbo': { why: 'w', fields: ['product.score'], widens: ['product.score'] } };
      }));
      assert.deepEqual(spurious, ['hops.credit_report.data_channel.recipients.bank-ningbo.widens: product.score is not a field this list adds to the default']);
    });

    it('refuses a policy that leaves a model out, misnames a hop kind, drops credit_report, or has the wrong format', () => {
      assert.deepEqual(problemsOf(policyWith((p) => delete (p.hops.credit_report as Partial<Record<string, unknown>>).direct_redirect)), [
        'hops.credit_report: no policy for the direct_redirect model; each model must say what its recipients get',
      ]);
      assert.deepEqual(problemsOf(policyWith((p) => Object.assign(p.hops, { credit_reports: {} }))), [
        'hops.credit_reports: not a hop kind (application, credit_report, decision, redirect, disbursement)',
      ]);
      assert.deepEqual(problemsOf(policyWith((p) => delete p.hops.credit_report)), ["hops.credit_report is required: it carries the customer's data to a lender"]);
      assert.deepEqual(problemsOf(policyWith((p) => Object.assign(p, { format: 'dzl-minimisation/v0' }))), ['format must be "dzl-minimisation/v1", not "dzl-minimisation/v0"']);
    });

    it('refuses a list without a why, a duplicate field, an empty list and an unknown key', () => {
      const problems = problemsOf(policyWith((p) => {
        const dc = p.hops.credit_report!.data_channel;
        dc.default = { why: ' ', fields: [...dc.default.fields, 'loan.amount'] };
        p.hops.credit_report!.direct_redirect.default.fields = [];
        Object.assign(p.hops.credit_report!.direct_redirect, { recipient: {} });
      }));
      assert.deepEqual(problems, [
        'hops.credit_report.data_channel.default: "why" must say why these fields are needed',
        'hops.credit_report.data_channel.default.fields: loan.amount is listed twice',
        'hops.credit_report.direct_redirect: unexpected key "recipient" (allowed: default, recipients)',
        'hops.credit_report.direct_redirect.default.fields: must be a non-empty array of field names',
      ]);
    });
  });

  describe('per-recipient lists', () => {
    let restore: () => void;
    before(() => {
      restore = setMinimisationPolicy(PER_BANK, 'per-bank test policy');
    });
    after(() => restore());

    it('narrows or widens for the named bank and leaves the others on the default', () => {
      assert.ok(!allowedFields('credit_report', 'data_channel', 'bank-suzhou')!.has('loan.purpose'));
      assert.ok(allowedFields('credit_report', 'data_channel', 'bank-ningbo')!.has('customer.monthlyIncome'));
      assert.deepEqual([...allowedFields('credit_report', 'data_channel', 'bank-hangzhou')!].sort(), [...BANK_ELEMENTS, ...PRODUCT].sort());
      assert.deepEqual([...allowedFields('credit_report', 'direct_redirect', 'bank-suzhou')!].sort(), [...PRODUCT].sort(), 'a list is per model');
    });

    it('tells a channel what to seal for each bank', () => {
      const forSuzhou = minimalFieldsFor('data_channel', 'bank-suzhou');
      const forHangzhou = minimalFieldsFor('data_channel', 'bank-hangzhou');
      assert.equal(forSuzhou('loan.purpose'), false);
      assert.equal(forHangzhou('loan.purpose'), true);
      assert.equal(forSuzhou('product.score'), true);
      assert.equal(forHangzhou('risk.platformScore'), false);
      assert.equal(minimalFieldsFor('direct_redirect', 'bank-hangzhou')('customer.name'), false);
    });

    it('refuses a field narrowed away for that bank: FIELD_EXCEEDS_MINIMISATION', () => {
      const err = refusal(creditReport('data_channel', [...BANK_ELEMENTS, ...PRODUCT], 'bank-suzhou'));
      assert.equal(err.code, 'FIELD_EXCEEDS_MINIMISATION');
      assert.deepEqual(err.details, { hopId: 'hop_min_1', fields: ['loan.purpose'], to: 'bank-suzhou', model: 'data_channel', policyVersion: 'test-per-bank' });
      assert.match(err.message, /its own list/);
      assert.doesNotThrow(() => checkMinimisation(creditReport('data_channel', [...BANK_ELEMENTS, ...PRODUCT], 'bank-hangzhou')));
    });

    it('lets a documented widening through for that bank only', () => {
      assert.doesNotThrow(() => checkMinimisation(creditReport('data_channel', ['customer.monthlyIncome', 'product.score'], 'bank-ningbo')));
      assert.equal(refusal(creditReport('data_channel', ['customer.monthlyIncome', 'product.score'], 'bank-hangzhou')).code, 'FIELD_EXCEEDS_MINIMISATION');
    });

    it('puts the previous policy back on restore, and refuses an invalid override without changing the policy in force', () => {
      assert.throws(() => setMinimisationPolicy(policyWith((p) => p.hops.credit_report!.data_channel.default.fields.push('card.track'))), MinimisationPolicyError);
      assert.equal(minimisationPolicy().version, 'test-per-bank');
      const undo = setMinimisationPolicy(policyWith((p) => (p.version = 'nested')));
      assert.equal(minimisationPolicy().version, 'nested');
      undo();
      assert.equal(minimisationPolicy().version, 'test-per-bank');
    });

    it('checks that every recipient it names is a registered bank', () => {
      const { directory } = parties();
      assert.doesNotThrow(() => checkPolicyRecipients(directory));
      const misnamed = parseMinimisationPolicy(policyWith((p) => {
        p.hops.credit_report!.data_channel.recipients = { 'bank-suzhuo': { why: 'w', fields: ['product.score'] }, 'channel-pudao': { why: 'w', fields: ['product.score'] } };
      }), 'misnamed');
      assert.throws(() => checkPolicyRecipients(directory, misnamed), (err: unknown) => {
        assert.ok(err instanceof MinimisationPolicyError);
        assert.deepEqual(err.problems, [
          'hops.credit_report.data_channel.recipients.bank-suzhuo: no such party in the directory',
          'hops.credit_report.data_channel.recipients.channel-pudao: is a channel; credit_report hops go to a bank',
        ]);
        return true;
      });
    });
  });

  describe('the check on a hop', () => {
    it('lets the default data_channel credit report through, whole or in part', () => {
      assert.doesNotThrow(() => checkMinimisation(creditReport('data_channel', [...BANK_ELEMENTS, ...PRODUCT])));
      assert.doesNotThrow(() => checkMinimisation(creditReport('data_channel', ['customer.name', 'product.score'])));
    });

    it('refuses fields beyond the default on a data_channel credit report, naming fields, model, recipient and policy — never values', () => {
      const err = refusal(creditReport('data_channel', [...BANK_ELEMENTS, 'customer.monthlyIncome', 'customer.address', ...PRODUCT]));
      assert.equal(err.code, 'FIELD_EXCEEDS_MINIMISATION');
      assert.equal(err.httpStatus, 403);
      assert.deepEqual(err.details, {
        hopId: 'hop_min_1', fields: ['customer.monthlyIncome', 'customer.address'], to: 'bank-hangzhou', model: 'data_channel', policyVersion: shippedFile.version,
      });
      assert.match(err.message, /^hop hop_min_1 gives bank-hangzhou customer\.monthlyIncome, customer\.address on a data_channel credit_report hop; under minimisation policy \S+ \(the data_channel default\)/);
    });

    it('refuses the customer’s name on a direct_redirect credit report: the bank already has the application', () => {
      const err = refusal(creditReport('direct_redirect', ['customer.name', ...PRODUCT]));
      assert.equal(err.code, 'FIELD_EXCEEDS_MINIMISATION');
      assert.deepEqual(err.details.fields, ['customer.name']);
      assert.equal(err.details.model, 'direct_redirect');
      assert.doesNotThrow(() => checkMinimisation(creditReport('direct_redirect', PRODUCT)));
    });

    it('leaves hop kinds the policy does not cover to the route table', () => {
      assert.doesNotThrow(() => checkMinimisation({ ...creditReport('data_channel', ['risk.platformScore', 'customer.monthlyIncome']), kind: 'application', to: 'channel-baihang' }));
    });
  });
});
