import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A fresh directory under the system temp dir (name starting with `prefix`), deleted after test `t`. */
export function tmpDir(t: { after: (fn: () => void) => void }, prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}
