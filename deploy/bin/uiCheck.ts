/**
 * `make cluster-ui-check`: the operators' Web UI in headless Chromium (Debian's, driven by
 * playwright-core), against the running cluster and codec server (make cluster-up cluster-ui,
 * after make cluster-smoke so that there are applications to look at).
 *  1. not signed in: the workflow page shows the input as stored — ciphertext — and never the
 *     application id the input holds; the codec server recorded the refusals;
 *  2. signed in as an operator (the link operatorLink.js prints): the same page shows the
 *     decoded input, with the application id; the codec server recorded that this operator
 *     decoded that application.
 * Screenshots in $DZL_CLUSTER_DIR/ui/.
 */
import { Client, Connection } from '@temporalio/client';
import { readFileSync, mkdirSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadPayloadKeys } from '../../services/network/folder';
import { temporalTlsConfig, temporalTlsFromEnv } from '../../services/runtime/stack';
import { AesGcmPayloadCodec } from '../../services/temporal/codec';
import { issueOperatorToken } from '../../services/temporal/codecServer';
import { ensureDevOperator } from './operatorLink';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const say = (s: string) => process.stdout.write(`${s}\n`);

interface AuditLine {
  at: string;
  event: string;
  operator?: string;
  code?: string;
  applicationIds?: string[];
}

async function main(): Promise<void> {
  const runDir = env('DZL_CLUSTER_DIR', '.dzl/cluster');
  const networkDir = env('DZL_NETWORK_DIR', join(runDir, 'network'));
  const namespace = env('TEMPORAL_NAMESPACE', 'default');
  const uiUrl = `http://127.0.0.1:${env('TEMPORAL_UI_PORT', '17280')}`;
  const codecUrl = `http://127.0.0.1:${env('DZL_CODEC_PORT', '17281')}`;
  const auditFile = join(runDir, 'codec-audit.jsonl');
  const shots = join(runDir, 'ui');
  mkdirSync(shots, { recursive: true });

  // the newest application, and what its input holds once decoded
  const tls = temporalTlsConfig(temporalTlsFromEnv());
  const connection = await Connection.connect({ address: env('TEMPORAL_FRONTEND_ADDRESS', '127.0.0.1:17233'), ...(tls ? { tls } : {}) });
  const raw = new Client({ connection, namespace });
  let execution: { workflowId: string; runId: string } | undefined;
  for await (const w of raw.workflow.list({ query: "WorkflowType = 'dataChannelApplication' AND ExecutionStatus = 'Completed'" })) {
    execution = { workflowId: w.workflowId, runId: w.runId };
    break;
  }
  if (!execution) throw new Error('no completed application on the cluster: run `make cluster-smoke` first');
  const history = await raw.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
  await connection.close();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!input) throw new Error(`${execution.workflowId} has no input`);
  const { current, previous } = loadPayloadKeys(networkDir);
  const [plain] = await new AesGcmPayloadCodec(current, previous).decode([input]);
  const applicationId = (JSON.parse(Buffer.from(plain!.data ?? []).toString()) as { applicationId: string }).applicationId;
  const cipherPrefix = Buffer.from(input.data ?? []).toString('base64').slice(0, 16);
  const page = `${uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(execution.workflowId)}/${execution.runId}/history`;
  say(`dzl Web UI check — ${page}`);
  say(`  workflow input: ${Buffer.from(input.metadata?.encoding ?? []).toString()} (${cipherPrefix}…), which decodes to application ${applicationId}`);

  const auditBefore = readAudit(auditFile).length;
  const browser: Browser = await chromium.launch({
    executablePath: env('DZL_CHROMIUM', '/usr/bin/chromium'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const failures: string[] = [];
  try {
    // 1. nobody signed in
    const anon = await browser.newContext({ viewport: { width: 1400, height: 2000 } });
    const p1 = await anon.newPage();
    const seen1 = await inputAsShown(p1, page, cipherPrefix, applicationId, cipherPrefix);
    await p1.screenshot({ path: join(shots, 'not-signed-in.png'), fullPage: true });
    say(`  not signed in: the page ${seen1.hasId ? 'SHOWS' : 'does not show'} ${applicationId}; it ${seen1.hasCipher ? 'shows' : 'does NOT show'} the ciphertext (${cipherPrefix}…)`);
    if (seen1.hasId) failures.push('the application id is visible without signing in');
    if (!seen1.hasCipher) failures.push('the ciphertext is not what an operator who has not signed in sees');
    await anon.close();

    // 2. an operator signs in with the link and opens the same page
    const operator = env('DZL_UI_CHECK_OPERATOR', 'ops-ui-check');
    const keyFile = ensureDevOperator(networkDir, operator);
    const token = issueOperatorToken(operator, createPrivateKey(readFileSync(keyFile)), 5 * 60_000);
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 2000 } });
    const p2 = await ctx.newPage();
    await p2.goto(`${codecUrl}/login?token=${token}&next=${encodeURIComponent(`${uiUrl}/namespaces/${namespace}/workflows`)}`, { waitUntil: 'domcontentloaded' });
    const landed = p2.url();
    const seen2 = await inputAsShown(p2, page, applicationId, applicationId, cipherPrefix);
    await p2.screenshot({ path: join(shots, 'signed-in.png'), fullPage: true });
    say(`  signed in as ${operator} (the link led to ${landed}): the page ${seen2.hasId ? 'shows' : 'does NOT show'} ${applicationId}, decoded${seen2.hasCipher ? ', and STILL the ciphertext' : ''}`);
    if (!seen2.hasId) failures.push('a signed-in operator does not see the decoded application id');
    if (seen2.hasCipher) failures.push('a signed-in operator still sees the ciphertext of the input');
    await ctx.close();

    const audit = readAudit(auditFile).slice(auditBefore);
    const refused = audit.filter((a) => a.event === 'refused' && a.code === 'OPERATOR_UNAUTHENTICATED').length;
    const decodedIt = audit.filter((a) => a.event === 'decoded' && a.operator === operator && a.applicationIds?.includes(applicationId));
    say(`  codec audit (${auditFile}): ${refused} decodes refused as OPERATOR_UNAUTHENTICATED, ${audit.filter((a) => a.event === 'signed_in').length} sign-in, ${decodedIt.length} decode(s) by ${operator} naming ${applicationId}`);
    if (!refused) failures.push('the refused decodes were not recorded');
    if (!decodedIt.length) failures.push(`no audit record says ${operator} decoded ${applicationId}`);
  } finally {
    await browser.close();
  }
  say(`  screenshots: ${join(shots, 'not-signed-in.png')}, ${join(shots, 'signed-in.png')}`);
  if (failures.length) {
    say(`ui check: FAIL\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  say('ui check: PASS');
}

/**
 * Opens the workflow page and reads what it shows once the codec server has answered: the UI
 * may render the stored payload before the decoded one arrives, so wait for what is expected
 * (the id when signed in, the ciphertext when not), then read again a moment later.
 */
async function inputAsShown(p: Page, url: string, expect: string, applicationId: string, cipherPrefix: string): Promise<{ hasId: boolean; hasCipher: boolean }> {
  await p.goto(url, { waitUntil: 'networkidle' });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !(await p.innerText('body')).includes(expect)) await p.waitForTimeout(250);
  await p.waitForTimeout(2000);
  const text = await p.innerText('body');
  return { hasId: text.includes(applicationId), hasCipher: text.includes(cipherPrefix) };
}

function readAudit(file: string): AuditLine[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditLine);
  } catch {
    return [];
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`ui check: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
