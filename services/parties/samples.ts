import type { Fields } from '../seal/hop';

/**
 * Sample customers for the demo, tests and benchmark. Names, ID numbers and mobiles are
 * invented; tests scan every store for them to prove none is kept in plaintext.
 */
export interface SampleCustomer {
  label: string;
  fields: Fields;
}

export const SAMPLE_CUSTOMERS: SampleCustomer[] = [
  {
    label: 'good file, approved',
    fields: {
      'customer.name': '张晓梅', 'customer.idNumber': '330106199003154821', 'customer.mobile': '13957112846',
      'customer.monthlyIncome': 1_800_000, 'loan.amount': 5_000_000, 'loan.termMonths': 12, 'loan.purpose': 'CONSUMPTION',
      'kyc.elementsVerified': ['name', 'idNumber', 'mobile', 'bankCard', 'liveness'],
      'risk.platformScore': 720, 'risk.behaviourTags': ['REGULAR_REPAYER'], 'risk.deviceFingerprint': 'dfp-8c1e55', 'risk.multiLoanCount': 1,
    },
  },
  {
    label: 'many other loans, declined by anti-fraud',
    fields: {
      'customer.name': '李建国', 'customer.idNumber': '320502198511203317', 'customer.mobile': '18662574930',
      'customer.monthlyIncome': 600_000, 'loan.amount': 3_000_000, 'loan.termMonths': 6, 'loan.purpose': 'CONSUMPTION',
      'kyc.elementsVerified': ['name', 'idNumber', 'mobile'],
      'risk.platformScore': 480, 'risk.behaviourTags': ['NIGHT_ACTIVITY', 'DEVICE_SHARED'], 'risk.deviceFingerprint': 'dfp-0f93aa', 'risk.multiLoanCount': 9,
    },
  },
  {
    label: 'thin file, declined on score',
    fields: {
      'customer.name': '王芳', 'customer.idNumber': '110105199512087764', 'customer.mobile': '15011286375',
      'customer.monthlyIncome': 450_000, 'loan.amount': 2_000_000, 'loan.termMonths': 12, 'loan.purpose': 'EDUCATION',
      'kyc.elementsVerified': ['name', 'idNumber', 'mobile', 'liveness'],
      'risk.platformScore': 300, 'risk.behaviourTags': [], 'risk.deviceFingerprint': 'dfp-77d012', 'risk.multiLoanCount': 2,
    },
  },
  {
    label: 'strong income, approved at a lower rate',
    fields: {
      'customer.name': '陈志强', 'customer.idNumber': '440304198807216655', 'customer.mobile': '13823749061',
      'customer.monthlyIncome': 3_500_000, 'loan.amount': 20_000_000, 'loan.termMonths': 24, 'loan.purpose': 'HOME_IMPROVEMENT',
      'kyc.elementsVerified': ['name', 'idNumber', 'mobile', 'bankCard', 'liveness'],
      'risk.platformScore': 810, 'risk.behaviourTags': ['REGULAR_REPAYER', 'LONG_TENURE'], 'risk.deviceFingerprint': 'dfp-c2b9e4', 'risk.multiLoanCount': 0,
    },
  },
];

/** The values that must never appear in plaintext in any store or log. */
export function sensitiveValues(customers: SampleCustomer[] = SAMPLE_CUSTOMERS): string[] {
  return customers.flatMap((c) => [c.fields['customer.name'], c.fields['customer.idNumber'], c.fields['customer.mobile']].map(String));
}

/** A synthetic customer for load: distinct values, same shape. */
export function syntheticCustomer(i: number): SampleCustomer {
  const base = SAMPLE_CUSTOMERS[i % SAMPLE_CUSTOMERS.length]!;
  return {
    label: `synthetic #${i}`,
    fields: {
      ...base.fields,
      'customer.name': `测试客户${i}`,
      'customer.idNumber': `3301061990${String(100000 + (i % 900000)).padStart(6, '0')}${i % 10}X`.slice(0, 18),
      'customer.mobile': `139${String(i).padStart(8, '0')}`.slice(0, 11),
    },
  };
}
