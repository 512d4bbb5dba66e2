/**
 * The reference bank's own application page (H5) for the direct-redirect model, server-rendered
 * by koa. The customer arrives with the router's one-time token, fills in the application and
 * gives consent to the bank; the bank claims the token at the router and decides on its own data
 * plus the channel's credit product. The platform never sees what is typed here.
 */
import Koa from 'koa';
import getRawBody from 'raw-body';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { DzlError, toDzlError } from '../common/errors';
import { readRedirectToken } from '../seal/redirectToken';
import type { ReferenceBank } from './bank';
import type { NetworkDirectory } from '../registry/directory';
import { listenBounded } from '../common/http';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string, refresh = false): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${refresh ? '<meta http-equiv="refresh" content="1">' : ''}
<title>${esc(title)}</title><style>body{font:16px/1.5 system-ui,"Noto Sans CJK SC",sans-serif;margin:0;background:#f3f6fa}header{background:#a4161a;color:#fff;padding:14px 18px;font-weight:600}
main{padding:18px;max-width:480px;margin:auto}label{display:block;margin:12px 0 4px}input,select{width:100%;padding:8px;font:inherit;box-sizing:border-box}
button{margin-top:18px;width:100%;padding:12px;background:#a4161a;color:#fff;border:0;border-radius:6px;font:inherit}.card{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 3px #0002}
.ok{color:#116329}.no{color:#82071e}</style></head><body><header>${esc(title)}</header><main>${body}</main></body></html>`;
}

const CONSENT_TEXT_VERSION = 'bank-h5-consent-2026.11';
const CONSENT_TEXT = '本人同意贵行收集本人的申请信息，并向下列持牌征信机构查询本人的信用信息，用于本次贷款审批。';

export function bankH5App(bank: ReferenceBank, directory: () => NetworkDirectory, legalName: string): Koa {
  const app = new Koa();
  const deviceKey = randomBytes(32);
  app.use(async (ctx) => {
    try {
      if (ctx.method === 'GET' && ctx.path === '/h5/apply') {
        const token = String(ctx.query.token ?? '');
        const claims = readRedirectToken(token, directory().signerOf);
        if (claims.b !== bank.partyId) throw new DzlError('REDIRECT_TOKEN_INVALID', 'this link is for another bank');
        ctx.type = 'html';
        ctx.body = page(
          `${legalName} · 贷款申请`,
          `<form class="card" method="post" action="/h5/apply"><input type="hidden" name="token" value="${esc(token)}">
           <label>姓名<input name="name" required></label><label>身份证号<input name="idNumber" required pattern="[0-9]{17}[0-9X]"></label>
           <label>手机号<input name="mobile" required pattern="1[0-9]{10}"></label><label>申请金额（元）<input name="amount" type="number" min="1000" required></label>
           <label>期限<select name="term"><option value="6">6 个月</option><option value="12" selected>12 个月</option><option value="24">24 个月</option></select></label>
           <label><input type="checkbox" name="consent" value="yes" required style="width:auto"> ${esc(CONSENT_TEXT)}</label>
           <button type="submit" id="submit">提交申请</button></form>`,
        );
        return;
      }
      if (ctx.method === 'POST' && ctx.path === '/h5/apply') {
        const form = new URLSearchParams((await getRawBody(ctx.req, { limit: '16kb' })).toString('utf8'));
        const claims = readRedirectToken(form.get('token'), directory().signerOf);
        if (form.get('consent') !== 'yes') throw new DzlError('CONSENT_MISSING', '请阅读并同意授权书');
        await bank.saveH5Application(claims.a, {
          'customer.name': form.get('name') ?? '',
          'customer.idNumber': form.get('idNumber') ?? '',
          'customer.mobile': form.get('mobile') ?? '',
          'loan.amount': Math.round(Number(form.get('amount') ?? 0) * 100),
          'loan.termMonths': Number(form.get('term') ?? 12),
        });
        // the customer's consent to us, on our page: recorded at the router beside the platform's
        // keyed with the bank's own secret: the digest identifies the device to the bank, and to no one else
        const device = createHmac('sha256', deviceKey).update(`${ctx.get('user-agent')}|${ctx.ip}`).digest('base64url');
        await bank.registerConsent(claims.a, { version: CONSENT_TEXT_VERSION, sha256: createHash('sha256').update(CONSENT_TEXT).digest('hex') }, device);
        const applicationId = await bank.claim(String(form.get('token')));
        ctx.redirect(`/h5/status?application=${encodeURIComponent(applicationId)}`);
        return;
      }
      if (ctx.method === 'GET' && ctx.path === '/h5/status') {
        const id = String(ctx.query.application ?? '');
        if (!(await bank.h5Application(id))) throw new DzlError('APPLICATION_NOT_FOUND', '没有这笔申请');
        const d = await bank.fullDecision(id);
        ctx.type = 'html';
        ctx.body = d
          ? page(`${legalName} · 审批结果`, d.outcome.status === 'approved'
              ? `<div class="card ok" id="result" data-status="approved">审批通过：额度 ¥${(Number(d.fields['decision.limit']) / 100).toLocaleString('en')}，年化利率 ${(Number(d.fields['decision.aprBasisPoints']) / 100).toFixed(2)}%，期限 ${esc(d.fields['decision.termMonths'])} 个月</div>`
              : `<div class="card no" id="result" data-status="declined">很抱歉，本次申请未通过（${esc(d.outcome.reasonCode)}）</div>`)
          : page(`${legalName} · 审批中`, '<div class="card" id="result" data-status="pending">审批中，请稍候…</div>', true);
        return;
      }
      ctx.status = 404;
    } catch (err) {
      const e = toDzlError(err);
      ctx.status = e.httpStatus;
      ctx.type = 'html';
      ctx.body = page('出错了', `<div class="card no" id="error" data-code="${esc(e.code)}">${esc(e.message)}</div>`);
    }
  });
  return app;
}

export async function listenH5(app: Koa, port = 0, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
  const server = await listenBounded(app.callback(), port, host);
  return { url: `http://${host}:${(server.address() as AddressInfo).port}/h5/apply`, server };
}
