/** (a) The bundle's shape: format, scope, checkpoint, leaves and certificates, before anything is trusted. */
import { withinBounds } from '../../common/bounds';
import { BUNDLE_FORMAT, isBundleScope } from '../bundle';
import { fromB64url } from '../../seal/bytes';
import { Timestamp, checker } from '../schema';
import type { Checks } from './report';
import { isObject, isString, isStringArray, type RawLeaf, type Shape } from './types';

const CHECK = 'bundle structure';
/** A bundle is shallow (leaves of canonical JSON strings); its width is the log's size. */
const BUNDLE_BOUNDS = { depth: 8, width: Number.MAX_SAFE_INTEGER, nodes: Number.MAX_SAFE_INTEGER };
const isTimestamp = checker(Timestamp);

export function checkStructure(bundle: unknown, checks: Checks): Shape {
  const shape: Shape = { complete: false, leaves: [], leafEntries: 0, certificates: [] };
  if (!isObject(bundle)) {
    checks.fail('BUNDLE_MALFORMED', CHECK, 'structure: the bundle is not a JSON object');
    return shape;
  }
  // no member is deeper than the format's: nothing below walks it into a stack overflow
  if (!withinBounds(bundle, BUNDLE_BOUNDS).ok) {
    checks.fail('BUNDLE_MALFORMED', CHECK, `structure: the bundle nests deeper than ${BUNDLE_BOUNDS.depth} levels; no bundle of ${BUNDLE_FORMAT} does`);
    return shape;
  }
  const mark = checks.list.length;
  // the bundle's own value is not quoted: it is the submitter's, whatever it holds
  if (bundle.format !== BUNDLE_FORMAT) checks.fail('BUNDLE_FORMAT_UNSUPPORTED', CHECK, `structure: format is not ${BUNDLE_FORMAT}`);
  if (isBundleScope(bundle.scope)) shape.scope = bundle.scope;
  else checks.fail('BUNDLE_SCOPE_INVALID', CHECK, 'structure: scope is not an application, party or direct-connection-audit scope');
  if (!isTimestamp(bundle.generatedAt)) checks.fail('BUNDLE_MALFORMED', CHECK, 'structure: generatedAt is not an RFC 3339 UTC timestamp');
  if (isString(bundle.checkpoint)) shape.checkpoint = bundle.checkpoint;
  else checks.fail('BUNDLE_MALFORMED', CHECK, 'structure: checkpoint is not a string (a signed note)');
  if (typeof bundle.complete === 'boolean') shape.complete = bundle.complete;
  else checks.fail('BUNDLE_MALFORMED', CHECK, 'structure: complete is not true or false');
  if (shape.scope?.kind === 'direct-connection-audit' && bundle.complete !== true) {
    checks.fail('BUNDLE_AUDIT_INCOMPLETE', CHECK, 'structure: a direct-connection-audit bundle must be complete: absence can only be shown over the whole log');
  }
  if (Array.isArray(bundle.certificates)) {
    bundle.certificates.forEach((c, i) => {
      if (isString(c)) shape.certificates.push(c);
      else checks.fail('BUNDLE_MALFORMED', CHECK, `structure: certificates[${i}] is not a PEM string`);
    });
  } else {
    checks.fail('BUNDLE_MALFORMED', CHECK, 'structure: certificates is not an array of PEM strings');
  }
  if (Array.isArray(bundle.leaves)) {
    shape.leafEntries = bundle.leaves.length;
    bundle.leaves.forEach((entry, i) => {
      const leaf = leafEntry(entry, i, checks);
      if (leaf) shape.leaves.push(leaf);
    });
  } else {
    checks.fail('BUNDLE_MALFORMED', CHECK, 'structure: leaves is not an array');
  }
  // Only a complete bundle of an empty log may be empty: anything else would pass vacuously.
  if (Array.isArray(bundle.leaves) && bundle.leaves.length === 0 && bundle.complete !== true) {
    checks.fail('BUNDLE_EMPTY', CHECK, 'structure: the bundle holds no leaves');
  }
  if (checks.failuresSince(mark) === 0) {
    checks.pass(CHECK, `${shape.leafEntries} leaves, ${shape.certificates.length} certificates, ${shape.complete ? 'complete' : 'with inclusion proofs'}`);
  }
  return shape;
}

function leafEntry(entry: unknown, i: number, checks: Checks): RawLeaf | undefined {
  const where = `structure: leaves[${i}]`;
  if (!isObject(entry)) {
    checks.fail('BUNDLE_LEAF_MALFORMED', CHECK, `${where} is not an object`);
    return undefined;
  }
  if (!Number.isSafeInteger(entry.index) || (entry.index as number) < 0) {
    checks.fail('BUNDLE_LEAF_MALFORMED', CHECK, `${where}.index is not a non-negative integer`);
    return undefined;
  }
  const index = entry.index as number;
  const data = fromB64url(entry.data);
  if (!data || data.length === 0) {
    checks.fail('BUNDLE_LEAF_MALFORMED', CHECK, `${where} (leaf ${index}): data is not non-empty canonical base64url`, index);
    return undefined;
  }
  if (entry.proof !== undefined && !isStringArray(entry.proof)) {
    checks.fail('BUNDLE_LEAF_MALFORMED', CHECK, `${where} (leaf ${index}): proof is not an array of base64url hashes`, index);
    return undefined;
  }
  return { index, data, ...(entry.proof !== undefined ? { proof: entry.proof as string[] } : {}) };
}
