/**
 * The regulator's page: find an application and see its flow — a sequence diagram (SVG) of its
 * hops and receipts, the party × field matrix, consent and decision provenance, and a badge from
 * verifying the application's evidence bundle exactly as `dzl verify` would, with pinned keys.
 *
 * A browser cannot sign requests, so the page takes a short-lived link token signed by a
 * regulator's signing key (`dzl regulator-link`): token = base64url(JCS({party, keyId, exp})) "." sig.
 */
import Router from '@koa/router';
import { DzlError } from '../common/errors';
import type { EvidenceBundle } from '../evidence/bundle';
import { hopsOfApplication, whoSawWhat, type HopView } from '../ledger/ledger';
import { verifyBundle, type VerifyReport } from '../evidence/verify';
import type { NetworkDirectory } from '../registry/directory';
import { b64url, fromB64url } from '../seal/bytes';
import { canonicalJson, parseCanonical } from '../seal/canonical';
import { certificateValidAt, signBytes, verifyBytes, type SigningIdentity } from '../seal/hop';
import { statesOf } from '../store/applicationStates';
import { getApplication } from '../store/applications';
import { getConsent } from '../store/consents';
import { bundleForApplication, type RegulatorDeps } from './regulator';

export const LINK_TTL_MS = 60 * 60_000;

export function regulatorLinkToken(id: SigningIdentity, now = Date.now()): string {
  const body = canonicalJson({ party: id.partyId, keyId: id.keyId, exp: now + LINK_TTL_MS });
  return `${b64url(body)}.${b64url(signBytes(id, body))}`;
}

export function verifyLinkToken(token: string | undefined, directory: NetworkDirectory, now = Date.now()): string {
  const [b, s] = (token ?? '').split('.');
  const body = fromB64url(b);
  const sig = fromB64url(s);
  const claims = body ? (parseCanonical(body) as { party?: string; keyId?: string; exp?: number } | undefined) : undefined;
  const cert = claims?.keyId ? directory.signerOf(claims.keyId) : undefined;
  if (!body || !sig || !claims || !cert || cert.partyId !== claims.party || !verifyBytes(cert.publicKey, body, sig)) {
    throw new DzlError('REQUEST_UNAUTHENTICATED', 'this page needs a link signed by a regulator: run `dzl regulator-link`');
  }
  if (typeof claims.exp !== 'number' || claims.exp < now) throw new DzlError('REQUEST_UNAUTHENTICATED', 'the link has expired: run `dzl regulator-link` again');
  if (!certificateValidAt(cert, new Date(now))) {
    throw new DzlError('REQUEST_UNAUTHENTICATED', `the certificate that signed this link (${claims.keyId}) is not valid now`);
  }
  if (directory.party(cert.partyId)?.role !== 'regulator') throw new DzlError('PARTY_ROLE_MISMATCH', `${cert.partyId} is not a regulator`);
  return cert.partyId;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Noto Sans CJK SC",sans-serif;margin:24px;color:#1b1f24;max-width:1100px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a} table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
th{background:#f6f8fa} td.saw{background:#fff3cd;font-weight:600} td.no{color:#8c959f;text-align:center}
.badge{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:600;margin:10px 0}
.pass{background:#dafbe1;color:#116329;border:1px solid #4ac26b}.fail{background:#ffebe9;color:#82071e;border:1px solid #ff8182}
code{font-size:12px;background:#f6f8fa;padding:1px 4px;border-radius:4px} form input{font:inherit;padding:4px 8px;width:420px}
ul.fail{margin:4px 0}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** Lifelines for the parties, an arrow per hop and a dashed arrow per receipt, in ledger order. */
export function sequenceDiagram(hops: HopView[], parties: string[]): string {
  const colW = 210;
  const rowH = 46;
  const top = 56;
  const x = (p: string) => 110 + parties.indexOf(p) * colW;
  const rows = hops.flatMap((h) => [{ kind: 'hop' as const, h }, ...h.receipts.map((r) => ({ kind: 'receipt' as const, h, r }))]);
  const height = top + rows.length * rowH + 30;
  const width = 110 * 2 + (parties.length - 1) * colW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="sequence of hops" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#1f6feb"/></marker>',
    '<marker id="ack" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#57606a"/></marker></defs>',
  ];
  for (const p of parties) {
    parts.push(`<rect x="${x(p) - 90}" y="8" width="180" height="30" rx="5" fill="#f6f8fa" stroke="#d0d7de"/>`);
    parts.push(`<text x="${x(p)}" y="28" text-anchor="middle" font-size="13" font-weight="600">${esc(p)}</text>`);
    parts.push(`<line x1="${x(p)}" y1="38" x2="${x(p)}" y2="${height - 10}" stroke="#d0d7de" stroke-dasharray="4 3"/>`);
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH + 20;
    if (row.kind === 'hop') {
      const { from, to, kind, manifest, hopId } = row.h.header;
      const via = x('router');
      // a hop travels sender → router → recipient: the router carries it sealed
      parts.push(`<g class="hop" data-hop="${esc(hopId)}"><line x1="${x(from)}" y1="${y}" x2="${via}" y2="${y}" stroke="#1f6feb" stroke-width="2"/>`);
      parts.push(`<line x1="${via}" y1="${y}" x2="${x(to)}" y2="${y}" stroke="#1f6feb" stroke-width="2" marker-end="url(#arrow)"/>`);
      parts.push(`<text x="${(x(from) + x(to)) / 2}" y="${y - 7}" text-anchor="middle" font-size="12">${esc(kind)} · ${manifest.length} fields (sealed for ${esc(to)})</text></g>`);
    } else {
      const { by, status } = row.r;
      const back = row.h.header.from;
      parts.push(`<g class="receipt"><line x1="${x(by)}" y1="${y}" x2="${x(back)}" y2="${y}" stroke="#57606a" stroke-dasharray="6 4" marker-end="url(#ack)"/>`);
      parts.push(`<text x="${(x(by) + x(back)) / 2}" y="${y - 7}" text-anchor="middle" font-size="12" fill="#57606a">signed receipt: ${esc(status)}</text></g>`);
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

function badge(report: VerifyReport, bundle: EvidenceBundle): string {
  const passed = report.checks.filter((c) => c.ok).length;
  if (report.ok) {
    const witnessed = report.summary.witnessedBy.length ? `, witnessed by ${report.summary.witnessedBy.map(esc).join(', ')}` : '';
    return `<div class="badge pass" id="verification">✔ Evidence verified — ${passed} checks passed against checkpoint of tree size ${esc(report.treeSize)}${witnessed}</div>`;
  }
  return `<div class="badge fail" id="verification">✘ Evidence does NOT verify</div><ul class="fail">${report.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul><p class="meta">${esc(bundle.leaves.length)} leaves</p>`;
}

export function regulatorPageRoutes(deps: RegulatorDeps): Router {
  const router = new Router();
  const pinned = () => ({ caPem: deps.directory().caPem, routerVkey: deps.trust.routerVkey, origin: deps.trust.origin });

  router.get('/regulator', async (ctx) => {
    verifyLinkToken(ctx.query.token as string | undefined, deps.directory());
    const token = esc(ctx.query.token);
    ctx.type = 'html';
    ctx.body = page(
      'dzl — regulator',
      `<h1>dzl · 断直连 evidence</h1><p class="meta">Find an application to see who saw what.</p>
       <form method="get" action="/regulator/application"><input type="hidden" name="token" value="${token}">
       <input name="id" placeholder="application id (app_…)" autofocus> <button type="submit">Show</button></form>`,
    );
  });

  router.get('/regulator/application', async (ctx) => {
    verifyLinkToken(ctx.query.token as string | undefined, deps.directory());
    const id = String(ctx.query.id ?? '');
    const app = await getApplication(deps.db, id);
    if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `no application ${id}`);
    const [hops, states, consent, bundle] = await Promise.all([
      hopsOfApplication(deps.db, id),
      statesOf(deps.db, id),
      getConsent(deps.db, app.consentId),
      bundleForApplication(deps, id),
    ]);
    const report = verifyBundle({ bundle, ...pinned() });
    const parties = [app.platformId, 'router', app.channelId, app.bankId];
    const matrix = whoSawWhat(hops, parties);
    const decision = hops.find((h) => h.header.kind === 'decision');
    const report_ = hops.find((h) => h.header.kind === 'credit_report');
    ctx.type = 'html';
    ctx.body = page(
      `dzl — ${id}`,
      `<h1>Application <code>${esc(id)}</code></h1>
       <p class="meta">${esc(app.model)} · platform ${esc(app.platformId)} · channel ${esc(app.channelId)} · bank ${esc(app.bankId)} · state <b id="state">${esc(states.at(-1)?.state ?? 'accepted')}</b></p>
       ${badge(report, bundle)}
       <h2>Flow</h2>${sequenceDiagram(hops, parties)}
       <h2>Who saw what</h2>
       <table id="matrix"><tr><th>field</th><th>class</th>${parties.map((p) => `<th>${esc(p)}</th>`).join('')}</tr>
       ${matrix.fields.map((f) => `<tr data-field="${esc(f.field)}"><td>${esc(f.field)}</td><td>${esc(f.class)}</td>${parties.map((p) => (f.seenBy.includes(p) ? '<td class="saw">saw</td>' : '<td class="no">—</td>')).join('')}</tr>`).join('')}</table>
       <h2>Consent</h2>
       ${consent ? `<table id="consent"><tr><th>id</th><td>${esc(consent.id)}</td></tr><tr><th>text</th><td>${esc(consent.textVersion)} · sha256 <code>${esc(consent.textSha256.slice(0, 16))}…</code></td></tr>
       <tr><th>purposes</th><td>${consent.purposes.map(esc).join(', ')}</td></tr><tr><th>recipients</th><td>${consent.recipients.map(esc).join(', ')}</td></tr>
       <tr><th>valid</th><td>${esc(consent.grantedAt)} → ${esc(consent.expiresAt)}</td></tr></table>` : '<p>no consent on record</p>'}
       <h2>Decision provenance</h2>
       <table id="provenance"><tr><th>credit product</th><td>by ${esc(report_?.header.from ?? '—')} (fields ${esc(report_?.header.manifest.filter((m) => m.field.startsWith('product.')).map((m) => m.field).join(', ') ?? '—')}), hop <code>${esc(report_?.header.hopId ?? '—')}</code></td></tr>
       <tr><th>decision</th><td>${decision ? `${esc(decision.header.outcome?.status)}${decision.header.outcome?.reasonCode ? ` (${esc(decision.header.outcome.reasonCode)})` : ''} by ${esc(decision.header.from)} at ${esc(decision.header.issuedAt)}` : 'pending'}</td></tr>
       <tr><th>history</th><td>${states.map((s) => `${esc(s.state)} ${esc(new Date(s.at).toISOString())}`).join('<br>')}</td></tr></table>
       <h2>Hops</h2><table id="hops"><tr><th>hop</th><th>kind</th><th>from → to</th><th>issued</th><th>receipts</th></tr>
       ${hops.map((h) => `<tr><td><code>${esc(h.header.hopId)}</code></td><td>${esc(h.header.kind)}</td><td>${esc(h.header.from)} → ${esc(h.header.to)}</td><td>${esc(h.header.issuedAt)}</td><td>${h.receipts.map((r) => `${esc(r.by)}: ${esc(r.status)}`).join(', ')}</td></tr>`).join('')}</table>`,
    );
  });
  return router;
}

export function errorPage(code: string, message: string): string {
  return page('dzl — error', `<h1>${esc(code)}</h1><p>${esc(message)}</p>`);
}
