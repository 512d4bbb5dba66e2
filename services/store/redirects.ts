/** `redirects`: the router's one-time tokens of the direct-redirect model; a claim is one atomic update. */
import { toMs, type Conn } from './db';

export interface RedirectRow {
  tokenId: string;
  applicationId: string;
  platformId: string;
  bankId: string;
  consentId: string;
  callbackUrl: string | null;
  /** The token as issued (absent for redirects issued before it was kept). */
  token?: string;
  expiresAt: number;
  claimedAt?: number;
}

function fromRow(r: Record<string, unknown>): RedirectRow {
  return {
    tokenId: r.token_id as string,
    applicationId: r.application_id as string,
    platformId: r.platform_id as string,
    bankId: r.bank_id as string,
    consentId: r.consent_id as string,
    callbackUrl: (r.callback_url as string | null) ?? null,
    ...(r.token ? { token: r.token as string } : {}),
    expiresAt: toMs(r.expires_at),
    ...(r.claimed_at != null ? { claimedAt: toMs(r.claimed_at) } : {}),
  };
}

export async function insertRedirect(db: Conn, r: Omit<RedirectRow, 'claimedAt'>): Promise<void> {
  await db('redirects').insert({
    token_id: r.tokenId, application_id: r.applicationId, platform_id: r.platformId, bank_id: r.bankId, consent_id: r.consentId,
    callback_url: r.callbackUrl, token: r.token ?? null, expires_at: r.expiresAt, created_at: Date.now(),
  });
}

/** The redirect of an application, as issued to `platformId` (or to anyone, when omitted). */
export async function redirectOf(db: Conn, applicationId: string, by?: { platformId?: string; bankId?: string }): Promise<RedirectRow | undefined> {
  const r = await db('redirects').where({ application_id: applicationId, ...(by?.platformId ? { platform_id: by.platformId } : {}), ...(by?.bankId ? { bank_id: by.bankId } : {}) }).first();
  return r ? fromRow(r) : undefined;
}

export async function redirectByToken(db: Conn, tokenId: string): Promise<RedirectRow | undefined> {
  const r = await db('redirects').where({ token_id: tokenId }).first();
  return r ? fromRow(r) : undefined;
}

/** Claims the token once, before it expires: true when this call claimed it. */
export async function claimToken(db: Conn, tokenId: string, now: number): Promise<boolean> {
  const taken = await db('redirects').where({ token_id: tokenId }).whereNull('claimed_at').andWhere('expires_at', '>', now).update({ claimed_at: now });
  return taken > 0;
}
