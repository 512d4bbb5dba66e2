import { DzlError } from '../common/errors';
import type { FieldClass } from '../domain/hops';
import catalogueFile from '../../contracts/fields.json';

export type FieldOrigin = 'application' | 'platform_risk' | 'credit_product' | 'decision' | 'redirect' | 'disbursement' | 'forbidden';

export interface FieldSpec {
  class: FieldClass;
  origin: FieldOrigin;
  description: string;
}

const FIELDS = catalogueFile.fields as Record<string, FieldSpec>;

export const CATALOGUE_VERSION = catalogueFile.version;

export function fieldSpec(field: string): FieldSpec {
  const spec = Object.prototype.hasOwnProperty.call(FIELDS, field) ? FIELDS[field] : undefined;
  if (!spec) throw new DzlError('FIELD_UNKNOWN', `field ${field} is not in the field catalogue ${CATALOGUE_VERSION}`, { field });
  return spec;
}

export function classOf(field: string): FieldClass {
  return fieldSpec(field).class;
}

/** Every field name the catalogue defines. */
export function catalogueFields(): string[] {
  return Object.keys(FIELDS);
}

export function fieldsOfOrigin(origin: FieldOrigin): string[] {
  return Object.keys(FIELDS).filter((f) => FIELDS[f]!.origin === origin);
}
