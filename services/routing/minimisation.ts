/**
 * Data minimisation (contracts/minimisation.json): which fields each recipient may receive on a
 * hop kind, per model. The route table (./rules) says which origins a hop kind may carry at all;
 * this policy narrows that to what a named recipient needs. The router checks it on every hop it
 * carries (checkRoute); a channel uses the same lists to choose what it seals (minimalFieldsFor).
 *
 * The policy is validated against the field catalogue and the route table when first used, and
 * a policy that fails is never used: every hop a policy would cover is refused instead.
 */
import { DzlError } from '../common/errors';
import { CATALOGUE_VERSION, fieldSpec, type FieldSpec } from '../fields/catalogue';
import type { NetworkDirectory } from '../registry/directory';
import type { HopHeader, HopKind, Model } from '../seal/hop';
import shippedPolicyFile from '../../contracts/minimisation.json';
// rules imports this module too: ROUTES is only read inside functions, after both have loaded
import { ROUTES } from './routes';

export const MINIMISATION_FORMAT = 'dzl-minimisation/v1';
const SHIPPED_SOURCE = 'contracts/minimisation.json';

/** Every model, so that a policy covering a hop kind says what recipients get under each. */
const MODELS: Record<Model, true> = { data_channel: true, direct_redirect: true };
/** Hop kinds a policy must cover: the channel → bank hop is where a recipient could get more than it needs. */
const REQUIRED_KINDS: readonly HopKind[] = ['credit_report'];

/** The file's shape (what `setMinimisationPolicy` and `parseMinimisationPolicy` accept, once validated). */
export interface FieldListFile {
  why: string;
  fields: string[];
}
export interface RecipientFieldListFile extends FieldListFile {
  /** Fields this list has beyond the default, repeated so that a widening is deliberate and reviewed. */
  widens?: string[];
}
export interface ModelPolicyFile {
  default: FieldListFile;
  recipients?: Record<string, RecipientFieldListFile>;
}
export type HopPolicyFile = { why: string } & Record<Model, ModelPolicyFile>;
export interface MinimisationPolicyFile {
  format: typeof MINIMISATION_FORMAT;
  version: string;
  description: string;
  hops: Partial<Record<HopKind, HopPolicyFile>>;
}

interface ModelLists {
  readonly default: ReadonlySet<string>;
  readonly recipients: ReadonlyMap<string, ReadonlySet<string>>;
}

/** A validated policy. */
export interface MinimisationPolicy {
  readonly version: string;
  /** Where it came from, for messages: the contract file or an override. */
  readonly source: string;
  readonly hops: ReadonlyMap<HopKind, ReadonlyMap<Model, ModelLists>>;
}

export class MinimisationPolicyError extends Error {
  override readonly name = 'MinimisationPolicyError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} is not a valid minimisation policy (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Json, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const isHopKind = (k: string): k is HopKind => has(ROUTES, k);
const isModel = (k: string): k is Model => has(MODELS, k);
const NOTHING: ReadonlySet<string> = new Set<string>();

function onlyKeys(o: Json, allowed: readonly string[], path: string, problems: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${path}: unexpected key "${k}" (allowed: ${allowed.join(', ')})`);
}

function requireWhy(o: Json, path: string, problems: string[]): void {
  if (typeof o.why !== 'string' || o.why.trim() === '') problems.push(`${path}: "why" must say why these fields are needed`);
}

function specOf(field: string): FieldSpec | undefined {
  try {
    return fieldSpec(field);
  } catch (err) {
    if (err instanceof DzlError && err.code === 'FIELD_UNKNOWN') return undefined;
    throw err;
  }
}

function parseFields(kind: HopKind, raw: unknown, path: string, problems: string[]): Set<string> {
  const fields = new Set<string>();
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`${path}: must be a non-empty array of field names`);
    return fields;
  }
  const lawful = ROUTES[kind].origins;
  for (const field of raw) {
    if (typeof field !== 'string') {
      problems.push(`${path}: ${JSON.stringify(field)} is not a field name`);
      continue;
    }
    if (fields.has(field)) problems.push(`${path}: ${field} is listed twice`);
    fields.add(field);
    const spec = specOf(field);
    if (!spec) problems.push(`${path}: ${field} is not in the field catalogue ${CATALOGUE_VERSION}`);
    else if (spec.class === 'C3') problems.push(`${path}: ${field} is C3 (authentication data); it may never be sent`);
    else if (!lawful.includes(spec.origin)) {
      problems.push(`${path}: ${field} is of origin ${spec.origin}; a ${kind} hop may carry only ${lawful.join(', ')} fields`);
    }
  }
  return fields;
}

function parseList(kind: HopKind, raw: unknown, path: string, problems: string[], defaults?: ReadonlySet<string>): ReadonlySet<string> {
  if (!isObject(raw)) {
    problems.push(`${path}: must be an object {"why": ..., "fields": [...]}`);
    return NOTHING;
  }
  onlyKeys(raw, defaults ? ['why', 'fields', 'widens'] : ['why', 'fields'], path, problems);
  requireWhy(raw, path, problems);
  const fields = parseFields(kind, raw.fields, `${path}.fields`, problems);
  if (defaults) {
    const wider = [...fields].filter((f) => !defaults.has(f));
    const declared = raw.widens === undefined ? [] : raw.widens;
    if (!Array.isArray(declared) || !declared.every((f): f is string => typeof f === 'string')) {
      problems.push(`${path}.widens: must be an array of field names`);
    } else {
      const undeclared = wider.filter((f) => !declared.includes(f));
      const spurious = declared.filter((f) => !wider.includes(f));
      if (undeclared.length > 0) problems.push(`${path}: ${undeclared.join(', ')} widen${undeclared.length === 1 ? 's' : ''} the default; list ${undeclared.length === 1 ? 'it' : 'them'} in "widens" and say why`);
      if (spurious.length > 0) problems.push(`${path}.widens: ${spurious.join(', ')} ${spurious.length === 1 ? 'is' : 'are'} not a field this list adds to the default`);
    }
  }
  return fields;
}

function parseModel(kind: HopKind, raw: unknown, path: string, problems: string[]): ModelLists {
  const recipients = new Map<string, ReadonlySet<string>>();
  if (!isObject(raw)) {
    problems.push(`${path}: must be an object {"default": ..., "recipients": {...}}`);
    return { default: NOTHING, recipients };
  }
  onlyKeys(raw, ['default', 'recipients'], path, problems);
  const defaults = parseList(kind, raw.default, `${path}.default`, problems);
  if (raw.recipients !== undefined && !isObject(raw.recipients)) problems.push(`${path}.recipients: must be an object keyed by party id`);
  else {
    for (const [party, list] of Object.entries(raw.recipients ?? {})) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(party)) problems.push(`${path}.recipients: "${party}" is not a party id`);
      recipients.set(party, parseList(kind, list, `${path}.recipients.${party}`, problems, defaults));
    }
  }
  return { default: defaults, recipients };
}

function parseHop(kind: HopKind, raw: unknown, path: string, problems: string[]): ReadonlyMap<Model, ModelLists> {
  const models = new Map<Model, ModelLists>();
  if (!isObject(raw)) {
    problems.push(`${path}: must be an object with "why" and a policy per model (${Object.keys(MODELS).join(', ')})`);
    return models;
  }
  onlyKeys(raw, ['why', ...Object.keys(MODELS)], path, problems);
  requireWhy(raw, path, problems);
  for (const model of Object.keys(MODELS).filter(isModel)) {
    if (!has(raw, model)) problems.push(`${path}: no policy for the ${model} model; each model must say what its recipients get`);
    else models.set(model, parseModel(kind, raw[model], `${path}.${model}`, problems));
  }
  return models;
}

/** Validates a policy file and compiles it; throws MinimisationPolicyError listing every problem. */
export function parseMinimisationPolicy(raw: unknown, source = 'minimisation policy'): MinimisationPolicy {
  const problems: string[] = [];
  const hops = new Map<HopKind, ReadonlyMap<Model, ModelLists>>();
  let version = '';
  if (!isObject(raw)) problems.push('the policy must be a JSON object');
  else {
    onlyKeys(raw, ['format', 'version', 'description', 'hops'], 'policy', problems);
    if (raw.format !== MINIMISATION_FORMAT) problems.push(`format must be "${MINIMISATION_FORMAT}", not ${JSON.stringify(raw.format)}`);
    if (typeof raw.version === 'string' && raw.version.trim() !== '') version = raw.version;
    else problems.push('version must be a non-empty string: refusals name it');
    if (typeof raw.description !== 'string' || raw.description.trim() === '') problems.push('description must say what the policy is for');
    if (!isObject(raw.hops)) problems.push('hops must be an object keyed by hop kind');
    else {
      for (const [kind, hop] of Object.entries(raw.hops)) {
        if (!isHopKind(kind)) problems.push(`hops.${kind}: not a hop kind (${Object.keys(ROUTES).join(', ')})`);
        else hops.set(kind, parseHop(kind, hop, `hops.${kind}`, problems));
      }
      for (const kind of REQUIRED_KINDS) if (!has(raw.hops, kind)) problems.push(`hops.${kind} is required: it carries the customer's data to a lender`);
    }
  }
  if (problems.length > 0) throw new MinimisationPolicyError(source, problems);
  return { version, source, hops };
}

let shipped: MinimisationPolicy | undefined;
let override: MinimisationPolicy | undefined;

/**
 * The policy in force: an override if one is set, else contracts/minimisation.json, validated on
 * first use. Call it once at startup so that an invalid policy stops the process there.
 */
export function minimisationPolicy(): MinimisationPolicy {
  if (override) return override;
  shipped ??= parseMinimisationPolicy(shippedPolicyFile, SHIPPED_SOURCE);
  return shipped;
}

/**
 * Replaces the policy in force (tests, or operations trying a policy before shipping it),
 * validated as the contract file is. Returns the function that puts the previous one back.
 */
export function setMinimisationPolicy(raw: unknown, source = 'minimisation policy override'): () => void {
  const next = parseMinimisationPolicy(raw, source);
  const previous = override;
  override = next;
  return () => {
    if (override === next) override = previous;
  };
}

function listFor(policy: MinimisationPolicy, kind: HopKind, model: Model, recipientId: string): { fields: ReadonlySet<string>; own: boolean } | undefined {
  const models = policy.hops.get(kind);
  if (!models) return undefined;
  const lists = models.get(model);
  if (!lists) return { fields: NOTHING, own: false };
  const own = lists.recipients.get(recipientId);
  return own ? { fields: own, own: true } : { fields: lists.default, own: false };
}

/** The fields `recipientId` may receive on a `kind` hop in `model`; undefined when the policy does not cover the hop kind. */
export function allowedFields(kind: HopKind, model: Model, recipientId: string): ReadonlySet<string> | undefined {
  return listFor(minimisationPolicy(), kind, model, recipientId)?.fields;
}

/**
 * For a channel choosing what to seal in a credit report for `recipientId`: whether a field may
 * go. Fixed when called, so one report is sealed under one policy.
 */
export function minimalFieldsFor(model: Model, recipientId: string): (field: string) => boolean {
  // every valid policy covers credit_report (REQUIRED_KINDS); were it not, nothing would go
  const allowed = allowedFields('credit_report', model, recipientId) ?? NOTHING;
  return (field) => allowed.has(field);
}

/** Refuses a hop whose manifest names a field the policy (by default the one in force) does not give its recipient. */
export function checkMinimisation(header: HopHeader, policy: MinimisationPolicy = minimisationPolicy()): void {
  const list = listFor(policy, header.kind, header.model, header.to);
  if (!list) return;
  const extra = [...new Set(header.manifest.map((m) => m.field))].filter((f) => !list.fields.has(f));
  if (extra.length === 0) return;
  const whose = list.own ? `its own list` : `the ${header.model} default`;
  throw new DzlError(
    'FIELD_EXCEEDS_MINIMISATION',
    `hop ${header.hopId} gives ${header.to} ${extra.join(', ')} on a ${header.model} ${header.kind} hop; under minimisation policy ` +
      `${policy.version} (${whose}) ${header.to} may receive only ${[...list.fields].join(', ')}; leave the rest out of the hop`,
    { hopId: header.hopId, fields: extra, to: header.to, model: header.model, policyVersion: policy.version },
  );
}

/**
 * Every recipient a policy names is a registered party of the role its hop kind goes to: a
 * misspelt bank id would otherwise leave that bank on the default list. For startup, once the
 * directory is loaded.
 */
export function checkPolicyRecipients(directory: NetworkDirectory, policy: MinimisationPolicy = minimisationPolicy()): void {
  const problems: string[] = [];
  for (const [kind, models] of policy.hops) {
    for (const [model, lists] of models) {
      for (const id of lists.recipients.keys()) {
        const party = directory.party(id);
        const want = ROUTES[kind].to;
        if (!party) problems.push(`hops.${kind}.${model}.recipients.${id}: no such party in the directory`);
        else if (party.role !== want) problems.push(`hops.${kind}.${model}.recipients.${id}: is a ${party.role}; ${kind} hops go to a ${want}`);
      }
    }
  }
  if (problems.length > 0) throw new MinimisationPolicyError(policy.source, problems);
}
