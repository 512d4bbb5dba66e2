/**
 * The house rules that the linter cannot see: every table is named only under services/store,
 * and the states the database accepts are the domain's states.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { APPLICATION_STATES } from '../../services/domain/applications';
import { openDb } from '../../services/store/db';
import { ROOT, tempDir, sqliteUrl } from '../support/env';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the layout of the house', () => {
  it('names tables only under services/store: no query builder or SQL outside it mentions one', async () => {
    const db = await openDb(sqliteUrl(tempDir('layout')));
    const tables = (await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'knex_%'")).map((r: { name: string }) => r.name);
    await db.destroy();
    assert.ok(tables.includes('applications') && tables.includes('evidence_leaves'), 'the migrated schema is the one checked');
    const offenders: string[] = [];
    for (const file of [...sources(join(ROOT, 'services')), ...sources(join(ROOT, 'workflows'))]) {
      const rel = relative(ROOT, file);
      if (rel.startsWith('services/store/')) continue;
      const text = readFileSync(file, 'utf8');
      for (const t of tables) {
        // a knex call db('t') / trx('t'), or the table in SQL text
        const q = `['"\`]${t}['"\`]`;
        const builder = new RegExp(`(\\bdb|\\btrx|\\bknex|\\.db|\\b(from|into|inTable|table|createTable|hasTable|alterTable|renameTable|dropTable\\w*))\\s*\\(\\s*${q}`);
        const sql = new RegExp(`\\b(FROM|INTO|UPDATE|JOIN|TABLE)\\s+\`?${t}\\b`);
        if (builder.test(text) || sql.test(text)) offenders.push(`${rel}: ${t}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('the database accepts exactly the domain’s application states, and refuses any other', async () => {
    const db = await openDb(sqliteUrl(tempDir('states')));
    try {
      const names = (await db('application_state_names').select('name')).map((r) => r.name as string).sort();
      assert.deepEqual(names, [...APPLICATION_STATES].sort());
      await assert.rejects(db('application_states').insert({ application_id: 'app_x', state: 'approved_maybe', at: Date.now() }), /FOREIGN KEY/);
    } finally {
      await db.destroy();
    }
  });
});
