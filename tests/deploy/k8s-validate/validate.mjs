// Offline validation of rendered Kubernetes manifests: each YAML document becomes `const doc_N: Type = {...}`
// against the kubernetes-types (or crds/) interface of its apiVersion/kind, and the TypeScript compiler checks
// it with --strict, so unknown fields, wrong types and missing required fields fail, named by document and path.
// The compiler stops at the first error inside one document: fix it and rerun to see the next.
//
//   node validate.mjs --modules DIR --work DIR [--restricted] FILE.yaml
//
// --restricted also requires every pod to meet the "restricted" Pod Security Standard with a read-only root
// filesystem (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp).
// DIR/node_modules holds kubernetes-types@1.30.0, typescript@5 and yaml@2; --work receives the generated .ts.
// Prints "N documents valid (Kind xN, ...)" and exits 0, or lists every error and exits 1.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) throw new Error(`missing ${name} DIR`);
  return resolve(args.splice(i, 2)[1]);
};
const modules = join(option('--modules'), 'node_modules');
const work = option('--work');
const restricted = args.includes('--restricted') && args.splice(args.indexOf('--restricted'), 1).length > 0;
if (args.length !== 1) throw new Error('usage: node validate.mjs --modules DIR --work DIR FILE.yaml');
const input = resolve(args[0]);

// The tools live in the cache directory, not beside this script: load them from there.
const require = createRequire(join(modules, 'index.js'));
const ts = require('typescript');
const YAML = require('yaml');

// apiVersion/kind -> [module, interface]. Anything else is refused: an unvalidated kind must not pass silently.
const TYPES = {
  'v1/Service': ['kubernetes-types/core/v1', 'Service'],
  'v1/Secret': ['kubernetes-types/core/v1', 'Secret'],
  'v1/ConfigMap': ['kubernetes-types/core/v1', 'ConfigMap'],
  'v1/PersistentVolumeClaim': ['kubernetes-types/core/v1', 'PersistentVolumeClaim'],
  'v1/ServiceAccount': ['kubernetes-types/core/v1', 'ServiceAccount'],
  'apps/v1/StatefulSet': ['kubernetes-types/apps/v1', 'StatefulSet'],
  'apps/v1/Deployment': ['kubernetes-types/apps/v1', 'Deployment'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-types/policy/v1', 'PodDisruptionBudget'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-types/networking/v1', 'NetworkPolicy'],
  'networking.k8s.io/v1/Ingress': ['kubernetes-types/networking/v1', 'Ingress'],
  'batch/v1/Job': ['kubernetes-types/batch/v1', 'Job'],
  'monitoring.coreos.com/v1/ServiceMonitor': ['crds/servicemonitor', 'ServiceMonitor'],
};

// Pretty-prints JSON one member per line and records the path of each line, so a compiler error's line
// names the field.
function toLines(value, path, prefix, indent, out) {
  const pad = '  '.repeat(indent);
  if (value === null || typeof value !== 'object') {
    out.push([pad + prefix + JSON.stringify(value), path]);
    return;
  }
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (entries.length === 0) {
    out.push([pad + prefix + (isArray ? '[]' : '{}'), path]);
    return;
  }
  out.push([pad + prefix + (isArray ? '[' : '{'), path]);
  entries.forEach(([k, v], i) => {
    const child = isArray ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    toLines(v, child, isArray ? '' : JSON.stringify(k) + ': ', indent + 1, out);
    if (i < entries.length - 1) out[out.length - 1][0] += ',';
  });
  out.push([pad + (isArray ? ']' : '}'), path]);
}

// What --restricted demands of a pod template (spec.template.spec) and each of its containers.
function podSecurity(obj) {
  const pod = obj.spec?.template?.spec;
  if (!pod) return [];
  const found = [];
  const podSc = pod.securityContext ?? {};
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = { ...podSc, ...(c.securityContext ?? {}) };
    const where = `container ${c.name}: securityContext`;
    if (sc.runAsNonRoot !== true) found.push(`${where}.runAsNonRoot is not true`);
    if (!(sc.runAsUser > 0)) found.push(`${where}.runAsUser is not a non-root uid`);
    if (c.securityContext?.readOnlyRootFilesystem !== true) found.push(`${where}.readOnlyRootFilesystem is not true`);
    if (c.securityContext?.allowPrivilegeEscalation !== false) found.push(`${where}.allowPrivilegeEscalation is not false`);
    if (!c.securityContext?.capabilities?.drop?.includes('ALL')) found.push(`${where}.capabilities.drop lacks ALL`);
    if (sc.seccompProfile?.type !== 'RuntimeDefault') found.push(`${where}.seccompProfile.type is not RuntimeDefault`);
  }
  return found;
}

const problems = [];
const docs = [];
// Kubernetes reads YAML 1.1 (yes/on are booleans): parse the same way.
for (const doc of YAML.parseAllDocuments(readFileSync(input, 'utf8'), { version: '1.1' })) {
  const source = /Source: (\S+)/.exec(doc.commentBefore ?? doc.contents?.commentBefore ?? '')?.[1] ?? basename(input);
  for (const e of doc.errors) problems.push(`${source}: YAML: ${e.message}`);
  const obj = doc.toJS();
  if (obj === null || obj === undefined) continue; // empty document between "---" lines
  docs.push({ obj, source });
}

if (docs.length === 0) problems.push(`${basename(input)}: no documents`);
const imports = new Map();
const lines = [];
const seen = new Set();
const kinds = new Map();
docs.forEach(({ obj, source }, n) => {
  const id = `${obj?.kind ?? '?'} ${obj?.metadata?.name ?? '?'} (${source})`;
  const type = TYPES[`${obj?.apiVersion}/${obj?.kind}`];
  if (typeof obj !== 'object' || Array.isArray(obj)) return problems.push(`document ${n + 1} (${source}): not an object`);
  if (!type) return problems.push(`${id}: no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`);
  if (!obj.metadata?.name) problems.push(`${id}: metadata.name is missing`);
  const key = `${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
  if (seen.has(key)) problems.push(`${id}: a second ${obj.kind} with this name`);
  seen.add(key);
  kinds.set(obj.kind, (kinds.get(obj.kind) ?? 0) + 1);
  const typeKey = type.join('#');
  if (!imports.has(typeKey)) imports.set(typeKey, { module: type[0], name: type[1], alias: `T${imports.size}_${type[1]}` });
  const a = imports.get(typeKey).alias;
  if (restricted) problems.push(...podSecurity(obj).map((p) => `${id}: ${p}`));
  const body = [];
  toLines(obj, '', '', 0, body);
  body[0][0] = `const doc_${n + 1}: ${a} = ${body[0][0]}`;
  body[body.length - 1][0] += ';';
  lines.push(...body.map(([text, path]) => [text, id, path || '(document)']));
});

const header = [...imports.values()].map((i) => [`import type { ${i.name} as ${i.alias} } from ${JSON.stringify(i.module)};`, 'imports', '']);
const all = [...header, ...lines, ['export {};', '', '']];
mkdirSync(work, { recursive: true });
const tsFile = join(work, basename(input).replace(/\.ya?ml$/, '') + '.ts');
writeFileSync(tsFile, all.map(([t]) => t).join('\n') + '\n');

// Compiler options come from tsconfig.json beside this script; module paths point at the cache and at crds/.
const config = ts.readConfigFile(join(here, 'tsconfig.json'), ts.sys.readFile);
if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, here);
options.noEmit = true;
options.paths = { 'kubernetes-types/*': [join(modules, 'kubernetes-types/*')], 'crds/*': [join(here, 'crds/*')] };
const program = ts.createProgram([tsFile], options);
for (const d of ts.getPreEmitDiagnostics(program)) {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
  if (d.file && d.file.fileName === tsFile.replaceAll('\\', '/') && d.start !== undefined) {
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const [, id, path] = all[line] ?? ['', 'generated code', ''];
    problems.push(`${id}: ${path}: ${text}`);
  } else {
    problems.push(`${d.file?.fileName ?? 'compiler'}: ${text}`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.log(`  ${p}`);
  console.log(`${problems.length} problem(s) in ${docs.length} documents`);
  process.exit(1);
}
console.log(`${docs.length} documents valid (${[...kinds].map(([k, c]) => (c > 1 ? `${k} x${c}` : k)).join(', ')})`);
