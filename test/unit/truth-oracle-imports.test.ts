/**
 * The truth lab's oracle must not trust the product: test/truth/oracle*.ts,
 * and everything they import (transitively), import nothing from server/
 * except the wire protocol's types (server/protocol.ts).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "../helpers/server";

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null; // packages and node: builtins
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  throw new Error(`${from}: cannot resolve ${spec}`);
}

/** every file reachable from the entries, and the server/ files among them that are not allowed */
export function forbiddenServerImports(root: string, entries: string[], allowed: string[]): { reached: string[]; forbidden: string[] } {
  const seen = new Set<string>();
  const forbidden: string[] = [];
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const rel = path.relative(root, f);
    if (rel.startsWith(`server${path.sep}`) && !allowed.includes(rel)) forbidden.push(rel);
    if (rel.startsWith(`server${path.sep}`)) return; // an allowed server file: its own imports are its business (protocol.ts imports zod only)
    const src = fs.readFileSync(f, "utf8");
    for (const m of src.matchAll(IMPORT)) {
      const r = resolve(f, m[1] ?? m[2]);
      if (r) walk(r);
    }
  };
  entries.forEach(walk);
  return { reached: [...seen].map((f) => path.relative(root, f)), forbidden };
}

test("the oracle modules import nothing from server/ but server/protocol.ts", () => {
  const dir = path.join(ROOT, "test/truth");
  const entries = fs.readdirSync(dir).filter((f) => /^oracle.*\.ts$/.test(f)).map((f) => path.join(dir, f));
  assert.ok(entries.length >= 2, `oracle modules found: ${entries.join(", ")}`);
  const { reached, forbidden } = forbiddenServerImports(ROOT, entries, ["server/protocol.ts"]);
  assert.deepEqual(forbidden, [], `the oracle reaches ${forbidden.join(", ")}`);
  assert.ok(reached.includes("server/protocol.ts"), "it does use the protocol's types");
  // server/protocol.ts itself imports nothing from server/
  const proto = fs.readFileSync(path.join(ROOT, "server/protocol.ts"), "utf8");
  assert.doesNotMatch(proto, /from\s+["']\.\.?\//, "server/protocol.ts imports only packages");
});

test("the import check fails on an oracle that imports the detectors, also through another file", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "truth-imports-"));
  try {
    fs.mkdirSync(path.join(root, "server/detect"), { recursive: true });
    fs.mkdirSync(path.join(root, "test/truth"), { recursive: true });
    fs.writeFileSync(path.join(root, "server/protocol.ts"), "export type X = 1;\n");
    fs.writeFileSync(path.join(root, "server/detect/engine.ts"), "export const E = 1;\n");
    fs.writeFileSync(path.join(root, "test/truth/helper.ts"), 'import { E } from "../../server/detect/engine";\nexport const H = E;\n');
    fs.writeFileSync(path.join(root, "test/truth/oracle.ts"), 'import type { X } from "../../server/protocol";\nimport { H } from "./helper";\nexport const O: X | number = H;\n');
    const r = forbiddenServerImports(root, [path.join(root, "test/truth/oracle.ts")], ["server/protocol.ts"]);
    assert.deepEqual(r.forbidden, ["server/detect/engine.ts"]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
