/**
 * The regulator page's link token (services/router/regulatorPage.ts verifyLinkToken): read from
 * a URL anyone can type, before anything else about the caller is known.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { loadPartyIdentity } from '../../../services/network/folder';
import type { PartyIdentity } from '../../../services/pki/identity';
import { regulatorLinkToken, verifyLinkToken } from '../../../services/router/regulatorPage';
import { b64url } from '../../../services/seal/bytes';
import { signBytes } from '../../../services/seal/hop';
import { ensureNetwork } from '../../support/env';
import { parties, type Parties } from '../../support/fixtures';
import { b64Edit, byteEdit, editB64, editBytes, editedJson, editText, jsonEdit, oddString, spelling, textEdit } from './mutations';
import { attempt, checkProperty, mustRefuse } from './properties';

describe('fuzz: regulator page link tokens', function () {
  this.timeout(120_000);
  let p: Parties;
  let regulator: PartyIdentity;
  let token: string;
  let now: number;

  const verify = (t: string | undefined) => verifyLinkToken(t, p.directory, now);

  before(() => {
    p = parties();
    regulator = loadPartyIdentity(ensureNetwork(), 'regulator-pboc');
    now = Date.now();
    token = regulatorLinkToken(regulator.signing, now);
    assert.equal(verify(token), 'regulator-pboc');
  });

  it('refuses random and edited tokens with a stable code, and refuses every change', () => {
    const input = fc.oneof(
      fc.record({ random: fc.option(fc.oneof(oddString, fc.string({ unit: fc.constantFrom('A', 'b', '-', '_', '.', '=') })), { nil: undefined }) }),
      fc.record({ part: fc.constantFrom(0, 1), edit: b64Edit }),
      fc.record({ text: fc.array(textEdit, { minLength: 1, maxLength: 2 }) }),
    );
    checkProperty(
      'verifyLinkToken(random and edited)',
      300,
      fc.property(input, (i) => {
        if ('random' in i) return void attempt('verifyLinkToken', () => verify(i.random));
        let changed: string;
        if ('text' in i) changed = i.text.reduce(editText, token);
        else {
          const parts = token.split('.');
          parts[i.part] = editB64(parts[i.part]!, i.edit);
          changed = parts.join('.');
        }
        fc.pre(changed !== token);
        // a third part after a second '.' is ignored by the reader: not a change of what is signed
        if (changed.split('.').slice(0, 2).join('.') === token) return void attempt('verifyLinkToken', () => verify(changed));
        mustRefuse('verifyLinkToken(edited token)', () => verify(changed));
      }),
    );
  });

  it('refuses, with a stable code, claims edited and signed with the regulator key', () => {
    const claimsText = Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8');
    checkProperty(
      'verifyLinkToken(edited claims, signed by the regulator)',
      100,
      fc.property(fc.oneof(fc.record({ edit: jsonEdit, how: spelling }), fc.record({ bytes: byteEdit })), (change) => {
        const claims = 'bytes' in change ? editBytes(Buffer.from(claimsText), change.bytes) : Buffer.from(editedJson(claimsText, change.edit, change.how), 'utf8');
        const outcome = attempt('verifyLinkToken', () => verify(`${b64url(claims)}.${b64url(signBytes(regulator.signing, claims))}`));
        if (outcome.accepted) assert.equal(outcome.value, 'regulator-pboc');
      }),
    );
  });
});
