import type { Knex } from 'knex';
import * as m001 from './001_foundation';
import * as m002 from './002_evidence_log';
import * as m003 from './003_funding_routes';
import * as m004 from './004_redirects';
import * as m005 from './005_lifecycle';
import * as m006 from './006_retention_sweep';
import * as m007 from './007_application_states';
import * as m008 from './008_log_tiles';
import * as m009 from './009_tenancy';
import * as m010 from './010_several_routers';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: Record<string, Migration> = {
  '001_foundation': m001,
  '002_evidence_log': m002,
  '003_funding_routes': m003,
  '004_redirects': m004,
  '005_lifecycle': m005,
  '006_retention_sweep': m006,
  '007_application_states': m007,
  '008_log_tiles': m008,
  '009_tenancy': m009,
  '010_several_routers': m010,
};

/** Migrations are modules compiled with the code, not files found at run time. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};
