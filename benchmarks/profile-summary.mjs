// Reads a V8 .cpuprofile (from `node --cpu-prof`) and prints where the time went: self time
// per function, self time per package, and inclusive time of the functions compiled from lib/.
// Given the server's measured CPU time per request, it also turns each share of the busy
// (non-idle) samples into microseconds per request.
//   node benchmarks/profile-summary.mjs benchmarks/.profiles/config-6.cpuprofile [top] [cpuUsPerReq]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function owner(url) {
  if (!url) return '(vm)';
  if (url.includes('/benchmarks/.build/')) return 'express-multiauth (lib/)';
  if (url.includes('/benchmarks/')) return 'benchmark harness';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)(?!.*node_modules)/.exec(url);
  if (pkg) {
    // jose 4 nested under express-oauth2-jwt-bearer is not the same package as jose 6.
    return url.includes('express-oauth2-jwt-bearer/node_modules/jose') ? 'jose@4 (via express-oauth2-jwt-bearer)' : pkg[1];
  }
  if (url.startsWith('node:')) return 'node core (JS)';
  return url;
}

function shortUrl(url) {
  return url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/benchmarks\/\.build\//, 'lib-bundle/');
}

export function summarize(file, top = 25, cpuUsPerReq) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
    totalUs += dt;
  }
  const key = ({ callFrame: f }) => `${f.functionName || '(anonymous)'}  ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
  const byFunction = new Map();
  const byOwner = new Map();
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    byFunction.set(key(node), (byFunction.get(key(node)) ?? 0) + us);
    const who = node.callFrame.url ? owner(node.callFrame.url) : node.callFrame.functionName || '(native)';
    byOwner.set(who, (byOwner.get(who) ?? 0) + us);
    // Inclusive time of lib functions: count each function once per stack.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const n = nodes.get(at);
      if (!n.callFrame.url.includes('/benchmarks/.build/')) continue;
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const busyUs = totalUs - (byOwner.get('(idle)') ?? 0);
  const pct = (us) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms` + (cpuUsPerReq ? `${((us / busyUs) * cpuUsPerReq).toFixed(1).padStart(8)} µs/req` : '');
  const lines = [
    `${file}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s busy` +
      (cpuUsPerReq ? `; µs/req = share of busy time x ${cpuUsPerReq.toFixed(1)} µs server CPU per request` : ''),
    '',
    'self time by package:',
  ];
  for (const [who, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`  ${pct(us)} ${ms(us)}  ${who}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)} ${ms(us)}  ${k}`);
  lines.push('', 'lib/ functions by inclusive time:');
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)} ${ms(us)}  ${k}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) {
    console.error('usage: node benchmarks/profile-summary.mjs <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarize(process.argv[2], Number(process.argv[3] ?? 25), process.argv[4] ? Number(process.argv[4]) : undefined));
}
