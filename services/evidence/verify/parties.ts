/** (e) Party leaves name only certificates the bundle carries, issued to that party in that role; each becomes a registry snapshot. */
import type { CertificateInfo } from '../../pki/certificate';
import type { Registry } from './registry';
import type { Checks, Progress } from './report';
import { leavesOfType, type DecodedLeaf } from './types';

export function checkParties(leaves: DecodedLeaf[], certs: Map<string, CertificateInfo>, registry: Registry, checks: Checks, progress: Progress): void {
  const mark = checks.list.length;
  let count = 0;
  for (const { index, leaf } of leavesOfType(leaves, 'party')) {
    count++;
    const p = leaf.party;
    const pems: string[] = [];
    for (const keyId of p.certificates) {
      const c = certs.get(keyId);
      if (!c) {
        checks.fail('PARTY_CERTIFICATE_MISSING', 'party certificates', `leaf ${index} (party ${p.id}): certificate ${keyId} is not in the bundle or not issued by the network CA`, index);
      } else if (c.partyId !== p.id || c.role !== p.role) {
        checks.fail('PARTY_CERTIFICATE_MISMATCH', 'party certificates', `leaf ${index} (party ${p.id}): certificate ${keyId} names ${c.partyId}/${c.role}, not ${p.id}/${p.role}`, index);
      } else {
        pems.push(c.pem);
      }
    }
    registry.add({
      index,
      record: {
        id: p.id,
        role: p.role,
        legalName: p.legalName,
        ...(p.licence ? { licence: p.licence } : {}),
        certificates: pems,
        ...(p.revoked ? { revoked: p.revoked } : {}),
      },
    });
    progress.advance();
  }
  if (checks.failuresSince(mark) === 0) checks.pass('party certificates', `${count} party leaves; every certificate they name is in the bundle`);
}
