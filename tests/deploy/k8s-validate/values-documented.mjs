// Fails when a key of the chart's values.yaml is missing from the values table of its README.md: each leaf key
// must appear in backquotes; resources and probes are documented as a whole (`silo.resources`).
//   node values-documented.mjs --modules DIR CHART_DIR
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [flag, modulesDir, chart] = process.argv.slice(2);
if (flag !== '--modules' || !chart) throw new Error('usage: node values-documented.mjs --modules DIR CHART_DIR');
const YAML = createRequire(join(resolve(modulesDir), 'node_modules', 'index.js'))('yaml');
const values = YAML.parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
const readme = readFileSync(join(chart, 'README.md'), 'utf8');
const documented = new Set([...readme.matchAll(/`([A-Za-z0-9_.]+)`/g)].map((m) => m[1]));

const wholes = new Set(['resources', 'livenessProbe', 'readinessProbe']);
const leaves = [];
(function walk(value, path) {
  const isMap = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isMap || Object.keys(value).length === 0 || wholes.has(path.split('.').pop())) return leaves.push(path);
  for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
})(values, '');

const missing = leaves.filter((leaf) => !documented.has(leaf));
if (missing.length > 0) {
  console.log(`README.md does not document: ${missing.join(', ')}`);
  process.exit(1);
}
console.log(`${leaves.length} values documented`);
