/**
 * A party process's configuration and plug-ins (contracts/parties.md): the configuration is
 * refused with the member's path, and a plug-in's answer is checked before anything is sealed —
 * an organisation's system that answers badly, slowly or not at all gets a stable code, never an
 * exception and never its words in the message. HTTP plug-ins are called over real loopback HTTP.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DzlError } from '../../services/common/errors';
import { readPartyConfig } from '../../services/parties/config';
import { loadChannelPolicy, loadDecisionEngine } from '../../services/parties/pluginLoader';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { ROOT, tempDir } from '../support/env';

const FIELDS = SAMPLE_CUSTOMERS[0]!.fields;
const refusedWith = (code: string) => (err: unknown) => err instanceof DzlError && err.code === code;

describe('party process configuration and plug-ins', () => {
  let server: Server;
  let answer: (body: unknown) => { status: number; body: string; delayMs?: number; location?: string };
  let url = '';
  let followed = 0;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.includes('followed')) followed++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const a = answer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        setTimeout(() => res.writeHead(a.status, { 'content-type': 'application/json', ...(a.location ? { location: a.location } : {}) }).end(a.body), a.delayMs ?? 0);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/decide`;
  });
  after(() => server.close());

  const engine = (timeoutMs = 1_000) => loadDecisionEngine({ url, provenance: { name: 'Own', version: '1' }, timeoutMs }, ROOT);

  it('takes an HTTP decision engine that answers by its contract, and passes it the fields', async () => {
    let seen: unknown;
    answer = (body) => {
      seen = body;
      return { status: 200, body: JSON.stringify({ outcome: { status: 'approved' }, fields: { 'decision.status': 'approved', 'decision.limit': 100, 'decision.aprBasisPoints': 800, 'decision.termMonths': 12 } }) };
    };
    const d = await engine().decide(FIELDS);
    assert.equal(d.outcome.status, 'approved');
    assert.deepEqual(seen, { fields: FIELDS });
    assert.deepEqual(engine().model, { name: 'Own', version: '1' });
  });

  for (const [what, reply, code] of [
    ['an outcome and a status that disagree', { status: 200, body: JSON.stringify({ outcome: { status: 'approved' }, fields: { 'decision.status': 'declined' } }) }, 'PARTY_ANSWER_INVALID'],
    ['a member the contract does not define', { status: 200, body: JSON.stringify({ outcome: { status: 'approved' }, fields: { 'decision.status': 'approved' }, note: '张三 330106199003154821' }) }, 'PARTY_ANSWER_INVALID'],
    ['a reason code that is a sentence', { status: 200, body: JSON.stringify({ outcome: { status: 'declined', reasonCode: 'customer 张三 failed' }, fields: { 'decision.status': 'declined' } }) }, 'PARTY_ANSWER_INVALID'],
    ['text that is not JSON', { status: 200, body: 'NullPointerException at 张三' }, 'PARTY_ANSWER_INVALID'],
    ['a reason code in the fields that is not the outcome\'s', { status: 200, body: JSON.stringify({ outcome: { status: 'declined', reasonCode: 'SCORE_LOW' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'ZHANG_SAN_330106' } }) }, 'PARTY_ANSWER_INVALID'],
    ['a field a decision does not have', { status: 200, body: JSON.stringify({ outcome: { status: 'approved' }, fields: { 'decision.status': 'approved', 'customer.name': '张三' } }) }, 'PARTY_ANSWER_INVALID'],
    ['a limit that is not a whole number', { status: 200, body: JSON.stringify({ outcome: { status: 'approved' }, fields: { 'decision.status': 'approved', 'decision.limit': '100 张三' } }) }, 'PARTY_ANSWER_INVALID'],
    ['a redirect elsewhere (never followed: the fields go nowhere else)', { status: 307, body: '{}', location: '/collect?followed=1' }, 'PARTY_UNAVAILABLE'],
    ['an HTTP 500', { status: 500, body: '{}' }, 'PARTY_UNAVAILABLE'],
    ['nothing within its timeout', { status: 200, body: '{}', delayMs: 1_500 }, 'PARTY_UNAVAILABLE'],
  ] as const) {
    it(`refuses a decision engine that answers ${what} with ${code}, quoting nothing`, async () => {
      answer = () => reply;
      await assert.rejects(Promise.resolve(engine(300).decide(FIELDS)), (err: unknown) => refusedWith(code)(err) && !/张三|Null|330106/.test((err as Error).message));
      assert.equal(followed, 0, 'a redirect was followed: the fields went elsewhere');
    });
  }

  it('refuses a scoring system that slips a field outside product.* into the product', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ fields: { 'product.score': 700, 'customer.idNumber': '330106199003154821' } }) });
    const policy = loadChannelPolicy({ url, provenance: { name: 'Score', version: '2' } }, ROOT);
    await assert.rejects(Promise.resolve(policy.score(FIELDS)), refusedWith('PARTY_ANSWER_INVALID'));
    answer = () => ({ status: 200, body: JSON.stringify({ fields: { 'product.score': 700 } }) });
    assert.deepEqual(await policy.score(FIELDS), { 'product.score': 700 });
  });

  it('loads a module plug-in by its factory, and refuses a module that exports none', () => {
    const dir = tempDir('plugins');
    const e = loadDecisionEngine({ module: join(ROOT, 'dist', 'test', 'support', 'plugins', 'decliningEngine.js'), options: { reasonCode: 'OWN_RULE' } }, ROOT);
    assert.equal(e.model.name, 'Test-DecliningEngine');
    writeFileSync(join(dir, 'empty.js'), 'module.exports = {};');
    assert.throws(() => loadDecisionEngine({ module: './empty.js' }, dir), /exports no decisionEngine/);
  });

  it('checks the configuration file: an unknown member or a wrong type stops the start, naming where', () => {
    const dir = tempDir('config');
    const write = (c: unknown) => {
      const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify(c));
      return f;
    };
    const good = { role: 'bank', folder: './bank', routerUrl: 'http://127.0.0.1:8080' };
    assert.equal(readPartyConfig(write(good)).config.role, 'bank');
    assert.equal(readPartyConfig(write(good)).path('./bank'), join(dir, 'bank'));
    assert.throws(() => readPartyConfig(write({ ...good, engine: {} })), /has member engine/);
    assert.throws(() => readPartyConfig(write({ ...good, listen: { grpc: 7443 } })), /listen\/grpc/);
    assert.throws(() => readPartyConfig(write({ ...good, role: 'platform' })), /platform\.channel/);
    assert.throws(() => readPartyConfig(write({ ...good, bank: { engine: { url: 'ftp://x', provenance: { name: 'a', version: '1' } } } })), /bank\/engine/);
  });
});
