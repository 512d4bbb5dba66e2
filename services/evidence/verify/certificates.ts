/** (d) Every certificate the bundle carries is issued by the network CA, in the form its key id names. */
import { X509Certificate } from 'node:crypto';
import { parseCertificate, type CertificateInfo } from '../../pki/certificate';
import { b64url, sha256 } from '../../seal/bytes';
import type { Checks } from './report';
import type { Shape, VerifierCache } from './types';

/** The DER a PEM carries, read strictly: one base64 text, canonical, between the two markers. */
function pemDer(pem: string): Buffer | undefined {
  const m = /^-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END CERTIFICATE-----(?:\r?\n)?$/.exec(pem);
  if (!m) return undefined;
  const text = m[1]!.replace(/\r?\n/g, '');
  const der = Buffer.from(text, 'base64');
  return der.length > 0 && der.toString('base64') === text ? der : undefined;
}

function parseBundledCertificate(pem: string, caPem: string): CertificateInfo | string {
  const der = pemDer(pem);
  if (!der) return 'PEM is not one canonical base64 CERTIFICATE block';
  let info: CertificateInfo;
  try {
    info = parseCertificate(pem, caPem);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseCertificate's own reasons name the certificate; node-forge's parse errors do not.
    return message.startsWith('certificate ') ? message : `certificate does not parse as X.509 (${message})`;
  }
  // A key id is SHA-256 of the DER as issued (certificateFingerprint); parseCertificate must agree,
  // or one certificate would have two identities.
  if (b64url(sha256(der)) !== info.keyId) return 'certificate DER is not in the form its key id is computed from';
  return info;
}

export function checkCertificates(shape: Shape, caPem: string, cache: VerifierCache, checks: Checks): Map<string, CertificateInfo> {
  const byKeyId = new Map<string, CertificateInfo>();
  try {
    new X509Certificate(caPem);
  } catch {
    checks.fail('TRUST_CA_INVALID', 'trust root', 'CA certificate: the trust root given is not a PEM certificate');
    return byKeyId;
  }
  const mark = checks.list.length;
  shape.certificates.forEach((pem, i) => {
    const key = `${caPem}\n${pem}`;
    let result = cache.certificates.get(key);
    if (result === undefined) {
      result = parseBundledCertificate(pem, caPem);
      cache.certificates.set(key, result);
    }
    if (typeof result === 'string') checks.fail('CERTIFICATE_INVALID', 'certificate', `certificate ${i}: ${result}`);
    else byKeyId.set(result.keyId, result);
  });
  if (checks.failuresSince(mark) === 0) checks.pass('certificate', `${byKeyId.size} certificates are issued by the network CA`);
  return byKeyId;
}
