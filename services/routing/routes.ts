/** The route table: which hop kind goes from which role to which, carrying fields of which origins. */
import type { HopKind } from '../domain/hops';
import type { PartyRole } from '../domain/parties';
import type { FieldOrigin } from '../fields/catalogue';

export interface Route {
  from: PartyRole;
  to: PartyRole;
  origins: readonly FieldOrigin[];
  /** Whether the recipient must be named by the customer's consent. */
  consented: boolean;
}

export const ROUTES: Record<HopKind, Route> = {
  application: { from: 'platform', to: 'channel', origins: ['application', 'platform_risk', 'redirect'], consented: true },
  credit_report: { from: 'channel', to: 'bank', origins: ['application', 'credit_product'], consented: true },
  decision: { from: 'bank', to: 'platform', origins: ['decision'], consented: false },
  redirect: { from: 'platform', to: 'bank', origins: ['redirect'], consented: true },
  disbursement: { from: 'bank', to: 'platform', origins: ['disbursement'], consented: false },
};

