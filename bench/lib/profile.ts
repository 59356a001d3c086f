/**
 * Reads V8 .cpuprofile files (node --cpu-prof) and lists the functions with
 * the most self time, so a benchmark run shows where the server spends it.
 */
import fs from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** a package name, a project directory, or the kind of native frame */
function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0];
  if (url.startsWith("wasm://")) return "(wasm)";
  const proj = /\/(server|app|components|agent)\/(.*?)[^/]*$/.exec(url);
  return proj ? `${proj[1]}/${proj[2]}` : url.replace(/^file:\/\//, "");
}

export function summarizeProfiles(dir: string, top = 25): string {
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  } catch {
    // no profile
  }
  if (files.length === 0) return `(no CPU profile in ${dir})`;
  const lines: string[] = [];
  for (const f of files) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    // self time per node from samples and their time deltas
    const self = new Map<number, number>();
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (deltas[i] ?? 0));
    const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
    const agg = new Map<string, number>();
    const byModule = new Map<string, number>();
    for (const [id, us] of self) {
      const n = byId.get(id);
      if (!n) continue;
      const cf = n.callFrame;
      const where = cf.url ? `${cf.url.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "~/")}:${cf.lineNumber + 1}` : "";
      const key = `${cf.functionName || "(anonymous)"} ${where}`.trim();
      agg.set(key, (agg.get(key) ?? 0) + us);
      const mod = moduleOf(cf.url, cf.functionName);
      byModule.set(mod, (byModule.get(mod) ?? 0) + us);
    }
    const idle = [...agg].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
    lines.push(`CPU profile ${f}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, busy ${(((total - idle) / total) * 100).toFixed(0)}%; top self time:`);
    for (const [k, us] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      lines.push(`  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
    }
    lines.push("  by module (self time):");
    for (const [k, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      lines.push(`  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
    }
  }
  return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  console.log(summarizeProfiles(process.argv[2] ?? ".", Number(process.argv[3] ?? 40)));
}
