import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../support/env';

/** `make demo`, as a user runs it, and its bundle verified offline with `dzl verify`. */
describe('the demo', function () {
  this.timeout(180_000);

  it('carries every sample through, finds no plaintext at rest, and its evidence bundle verifies offline', () => {
    const home = tempDir('demo');
    const demo = spawnSync(process.execPath, [join(ROOT, 'dist/services/demo/demo.js')], { env: { ...process.env, DZL_HOME: home }, encoding: 'utf8' });
    assert.equal(demo.status, 0, demo.stderr);
    assert.equal((demo.stdout.match(/^■ platform-huixin:app_/gm) ?? []).length, 6, 'three data-channel applications, a cascade, a redirect and a withdrawal');
    assert.match(demo.stdout, /provenance \(PIPL Art. 24\): bank-hangzhou approved with model DZL-RefBank-Policy 2026.11, on DZL-CreditScore 2026.11 from channel-baihang/);
    assert.match(demo.stdout, /consent platform-huixin:consent_\S+: withdrawn; workflow stopped: \[\{"applicationId":"platform-huixin:app_\S+","stopped":true\}\]/);
    assert.match(demo.stdout, /signed withdrawal notices: (channel-baihang|bank-ningbo) acknowledged, (channel-baihang|bank-ningbo) acknowledged; bank-ningbo never sent its decision/);
    assert.match(demo.stdout, /retention: sealed payloads of 3 applications that ended without a loan erased after 3 s/);
    assert.match(demo.stdout, /funding cascade: bank-hangzhou declined \(AMOUNT_ABOVE_APPETITE\) → bank-suzhou approved/);
    assert.match(demo.stdout, /the platform learned: approved \(fields it can open: decision.status\)/);
    assert.match(demo.stdout, /\(3 approved\), 3 disbursements reported; the platform opened 3 disbursement notices/);
    assert.match(demo.stdout, /no customer name, ID number or mobile found/);
    assert.match(demo.stdout, /offline verification: PASS/);

    const bundle = readdirSync(join(home, 'demo')).find((f) => f.startsWith('bundle-'))!;
    const network = join(home, 'network');
    const witness = (JSON.parse(readFileSync(join(network, 'network.json'), 'utf8')) as { log: { witnesses: { vkey: string }[] } }).log.witnesses[0]!.vkey;
    const cli = (file: string) =>
      spawnSync(process.execPath, [join(ROOT, 'dist/services/cli/dzl.js'), 'verify', file, '--network', network, '--witness-key', witness], { encoding: 'utf8' });
    const ok = cli(join(home, 'demo', bundle));
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^PASS/);
  });
});
