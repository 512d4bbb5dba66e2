import { generateKeyPairSync } from 'node:crypto';
import { classOf } from '../../services/fields/catalogue';
import { loadDirectory, loadPartyIdentity, type PartyIdentity } from '../../services/network/folder';
import type { NetworkDirectory } from '../../services/registry/directory';
import { newSalt, sealHop, type Fields, type SealRequest } from '../../services/seal/hop';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { ensureNetwork } from './env';

export interface Parties {
  directory: NetworkDirectory;
  platform: PartyIdentity;
  channel: PartyIdentity;
  bank: PartyIdentity;
  otherBank: PartyIdentity;
  router: PartyIdentity;
}

export function parties(): Parties {
  const dir = ensureNetwork();
  return {
    directory: loadDirectory(dir),
    platform: loadPartyIdentity(dir, 'platform-huixin'),
    channel: loadPartyIdentity(dir, 'channel-baihang'),
    bank: loadPartyIdentity(dir, 'bank-hangzhou'),
    otherBank: loadPartyIdentity(dir, 'bank-suzhou'),
    router: loadPartyIdentity(dir, 'router'),
  };
}

export const SAMPLE_FIELDS: Fields = SAMPLE_CUSTOMERS[0]!.fields;

export function sealApplication(p: Parties, over: Partial<SealRequest> = {}) {
  return sealHop(p.platform.signing, {
    applicationId: 'platform-huixin:app_unit_1',
    kind: 'application',
    model: 'data_channel',
    to: p.directory.encryptionCertificate('channel-baihang'),
    platform: 'platform-huixin',
    channel: 'channel-baihang',
    consentRef: 'consent_unit_1',
    fields: SAMPLE_FIELDS,
    salt: newSalt(),
    classOf,
    ...over,
  });
}

/** A signing identity whose certificate no one registered. */
export function strangerIdentity(partyId = 'platform-huixin') {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { partyId, keyId: 'unregistered-key-id-0000000000000000000000', privateKey };
}
