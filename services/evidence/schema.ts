/**
 * How evidence formats are declared: each once, as a TypeBox schema (JSON Schema) from which
 * `Static<>` gives the TypeScript type and ajv compiles the runtime check. TypeBox because its
 * schemas are plain JSON Schema objects that carry their static type, so the producer's type and
 * the verifier's check cannot drift apart, and the schema itself can be published; ajv because it
 * is already the project's JSON Schema validator (contract tests) and compiles a schema to one
 * fast function, strict about unknown keywords.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { Type, type TSchema, type Static } from '@sinclair/typebox';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: true });
// RFC 3339 in UTC, and a date that exists (2024-02-30 passes the pattern, not Date.parse)
ajv.addFormat('dzl-utc-timestamp', { type: 'string', validate: (s: string) => TIMESTAMP.test(s) && !Number.isNaN(Date.parse(s)) });
ajv.addFormat('dzl-date', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });

/** An RFC 3339 UTC timestamp as the router writes them (`toISOString`). */
export const Timestamp = Type.String({ format: 'dzl-utc-timestamp' });
/** Any date Date.parse reads (a licence's validity, as the registry holds it). */
export const DateText = Type.String({ format: 'dzl-date' });
/** A party, application, consent, hop or notice id. */
export const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' });
/** base64url SHA-256 in the form a party sends it (43 characters of the alphabet). */
export const Digest = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });

/** A union of string literals from one of the domain's `as const` lists. */
export function OneOf<const T extends readonly string[]>(values: T): TSchema & { static: T[number] } {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}

export interface Checker<S extends TSchema> {
  /** True when `value` is exactly of the format (no member the format does not define). */
  (value: unknown): value is Static<S>;
  /** Why the last value checked was not: the first problem, as "at <path>: <what>". */
  problem(): string;
}

/** The one compiled check of a schema. */
export function checker<S extends TSchema>(schema: S): Checker<S> {
  const validate: ValidateFunction = ajv.compile(schema);
  const check = ((value: unknown) => validate(value)) as Checker<S>;
  check.problem = () => {
    const e = validate.errors?.[0];
    if (!e) return 'no problem';
    const where = e.instancePath || '/';
    if (e.keyword === 'additionalProperties') return `at ${where}: has member ${String((e.params as { additionalProperty: string }).additionalProperty)}, which the format does not define`;
    if (e.keyword === 'required') return `at ${where}: lacks member ${String((e.params as { missingProperty: string }).missingProperty)}`;
    return `at ${where}: ${e.message ?? e.keyword}`;
  };
  return check;
}
