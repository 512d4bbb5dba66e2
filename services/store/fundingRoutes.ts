/** `platform_bank_routes`: each platform's ordered funding list (资方路由) and its rules. */
import type { FundingRule } from '../routing/funding';
import type { Conn, Db } from './db';

/** Replaces the platform's whole list in one transaction. */
export async function replaceFundingRules(trx: Conn, platformId: string, rules: FundingRule[]): Promise<void> {
  await trx('platform_bank_routes').where({ platform_id: platformId }).delete();
  for (const r of rules) {
    await trx('platform_bank_routes').insert({
      platform_id: platformId, bank_id: r.bankId, priority: r.priority, min_amount: r.minAmount, max_amount: r.maxAmount,
      terms_json: JSON.stringify(r.terms), regions_json: JSON.stringify(r.regions), daily_quota: r.dailyQuota,
    });
  }
}

export async function fundingRules(db: Conn, platformId: string): Promise<FundingRule[]> {
  const rows = await db('platform_bank_routes').where({ platform_id: platformId }).orderBy('priority');
  return rows.map((r) => ({
    bankId: r.bank_id, priority: Number(r.priority), minAmount: Number(r.min_amount), maxAmount: Number(r.max_amount),
    terms: JSON.parse(r.terms_json) as number[], regions: JSON.parse(r.regions_json) as string[], dailyQuota: Number(r.daily_quota),
  }));
}

export async function setFundingRules(db: Db, platformId: string, rules: FundingRule[]): Promise<void> {
  await db.transaction((trx) => replaceFundingRules(trx, platformId, rules));
}
