/**
 * `application_states`: an application's append-only history. Each state is entered at most once
 * (a retried activity appends nothing), and the database accepts only the states of the domain
 * (a foreign key to `application_state_names`, seeded from APPLICATION_STATES).
 */
import { applicationStates } from '../common/metrics';
import type { ApplicationState } from '../domain/applications';
import { insertIgnore, toMs, type Conn } from './db';

export interface StateChange {
  state: ApplicationState;
  reasonCode?: string;
  hopId?: string;
  at: number;
}

export async function appendState(db: Conn, applicationId: string, s: Omit<StateChange, 'at'>): Promise<void> {
  const added = await insertIgnore(
    db,
    'application_states',
    { application_id: applicationId, state: s.state, reason_code: s.reasonCode ?? null, hop_id: s.hopId ?? null, at: Date.now() },
    ['application_id', 'state'],
  );
  if (added) applicationStates.inc({ state: s.state });
}

export async function statesOf(db: Conn, applicationId: string): Promise<StateChange[]> {
  const rows = await db('application_states').where({ application_id: applicationId }).orderBy('seq');
  return rows.map((r) => ({
    state: r.state as ApplicationState,
    ...(r.reason_code ? { reasonCode: r.reason_code as string } : {}),
    ...(r.hop_id ? { hopId: r.hop_id as string } : {}),
    at: toMs(r.at),
  }));
}

/** The application's latest state ('accepted' until anything else happened). */
export async function currentState(db: Conn, applicationId: string): Promise<ApplicationState> {
  const r = await db('application_states').where({ application_id: applicationId }).orderBy('seq', 'desc').first('state');
  return (r?.state as ApplicationState | undefined) ?? 'accepted';
}
