/**
 * deploy/grafana/dzl-dashboard.json asks only for metrics dzl serves: every dzl_* name its
 * queries use is in the registry the ops endpoint exposes (a renamed metric breaks this, not a
 * dashboard nobody looks at until the night it is needed).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metrics } from '../../services/common/metrics';
import { ROOT } from '../support/env';

describe('the Grafana dashboard', () => {
  it('queries only metrics dzl exports', async () => {
    const dash = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'dzl-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const served = new Set((await metrics.getMetricsAsJSON()).map((m) => m.name));
    const asked = dash.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bdzl_[a-z_]+/g)].map((m) => ({ panel: p.title, name: m[0] }))));
    assert.ok(asked.length >= 10, 'the dashboard asks for dzl metrics');
    for (const { panel, name } of asked) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(served.has(base), `${panel}: ${name} is not a metric dzl serves`);
    }
  });
});
