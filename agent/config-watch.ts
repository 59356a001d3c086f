/**
 * Keeps the config snapshot current: parses keepalived.conf at start, when a
 * read file or an include directory changes (fs.watch, debounced) and on a
 * periodic mtime/size check (fs.watch misses edits on some filesystems, and
 * editors replace files). A config record is produced only when the hash
 * differs from the last one sent (kept as this source's outbox position, so a
 * restart does not resend an unchanged config).
 */
import fs from "node:fs";
import path from "node:path";
import type { ConfigRecordMsg } from "../server/protocol";
import type { Logger } from "./log";
import { configHash, parseKeepalivedConf, type ConfFs, type ParsedConf } from "./keepalived-conf";
import type { Position } from "./outbox";
import { every, type Periodic } from "./ticker";

type ConfigRecord = Omit<ConfigRecordMsg, "seq">;

function globToRegExp(seg: string): RegExp {
  let re = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = seg.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        const body = seg.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** glob(3) subset: * ? [...] in any path component; dot files match only an explicit dot */
export function globSync(pattern: string): string[] {
  const parts = path.resolve(pattern).split("/").filter(Boolean);
  let bases = ["/"];
  for (const part of parts) {
    const next: string[] = [];
    if (!/[*?[]/.test(part)) {
      for (const b of bases) next.push(path.join(b, part));
    } else {
      const re = globToRegExp(part);
      for (const b of bases) {
        let names: string[] = [];
        try {
          names = fs.readdirSync(b);
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n) && (!n.startsWith(".") || part.startsWith("."))) next.push(path.join(b, n));
      }
    }
    bases = next;
  }
  return bases.filter((p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

export const nodeConfFs: ConfFs = {
  readFile: (f) => fs.readFileSync(f, "utf8"),
  glob: globSync,
};

export interface ConfigWatcherOptions {
  file: string;
  log: Logger;
  emit: (rec: ConfigRecord, pos: Position) => void;
  /** hash of the last snapshot sent (from the outbox), to skip an unchanged config after a restart */
  lastHash?: string | null;
  checkIntervalMs?: number;
  configId?: string | null;
}

export class ConfigWatcher {
  private lastHash: string | null;
  private signature = "";
  private watchers = new Map<string, fs.FSWatcher>();
  private timer: Periodic | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private problem: string | null = null;
  /** parses that threw (never expected) and config limits hit, per code, since start */
  readonly stats: { parseFailures: number; limits: Record<string, number> } = { parseFailures: 0, limits: {} };

  constructor(private readonly o: ConfigWatcherOptions) {
    this.lastHash = o.lastHash ?? null;
  }

  start(): void {
    this.check(false);
    this.timer = every(this.o.checkIntervalMs ?? 5000, () => this.poll());
  }

  stop(): void {
    this.timer?.cancel();
    if (this.debounce) clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  status(): string {
    return this.problem ?? "ok";
  }

  /** re-read now; force: send even when unchanged (server resync) */
  check(force: boolean): void {
    let parsed: ParsedConf;
    try {
      parsed = parseKeepalivedConf(this.o.file, nodeConfFs, { configId: this.o.configId ?? null });
    } catch (e) {
      // the reader is written never to throw; if it does, the watcher keeps running and says so
      this.stats.parseFailures++;
      this.problem = `cannot parse the config: ${(e as Error).message}`.slice(0, 500);
      this.o.log.error({ err: (e as Error).message }, "config parse failed");
      return;
    }
    const hash = configHash(parsed);
    this.signature = this.computeSignature(parsed.files, parsed.includes);
    this.rewatch([...parsed.files, ...parsed.includes, this.o.file]);
    const limits = Object.entries(parsed.limits);
    for (const [code, n] of limits) this.stats.limits[code] = (this.stats.limits[code] ?? 0) + (n ?? 0);
    this.problem = parsed.errors.length
      ? `${parsed.errors.length} problem(s)${limits.length ? ` (limits: ${limits.map(([c, n]) => `${c} ${n}`).join(", ")})` : ""}: ${parsed.errors[0]}`.slice(0, 500)
      : null;
    if (!force && hash === this.lastHash) return;
    this.lastHash = hash;
    this.o.log.info({ hash, instances: parsed.instances.length, errors: parsed.errors.length, ...(limits.length ? { limits: parsed.limits } : {}) }, "keepalived config snapshot");
    this.o.emit(
      {
        kind: "config",
        ts: Date.now(),
        path: this.o.file.slice(0, 4096),
        hash,
        routerId: parsed.routerId,
        netNamespace: parsed.netNamespace,
        instances: parsed.instances,
        errors: parsed.errors,
      },
      { key: "config", value: hash },
    );
  }

  private sigPaths: string[] = [];

  private computeSignature(files: string[], includes: string[]): string {
    const dirs = new Set([path.dirname(this.o.file), ...includes.map((p) => path.dirname(p))]);
    this.sigPaths = [...new Set([this.o.file, ...files, ...dirs])];
    return this.statAll();
  }

  private statAll(): string {
    return this.sigPaths
      .map((p) => {
        try {
          const s = fs.statSync(p);
          return `${p}:${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return `${p}:-`;
        }
      })
      .join("|");
  }

  /** cheap periodic check: stat only what the last parse read (and the include directories) */
  private poll(): void {
    if (this.statAll() !== this.signature) this.schedule();
  }

  /** re-read 200 ms after the first sign of change (a burst of events gives one re-read) */
  private schedule(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      try {
        this.check(false);
      } catch (e) {
        this.problem = `cannot read the config: ${(e as Error).message}`;
        this.o.log.error({ err: (e as Error).message }, "config re-read failed");
      }
    }, 200);
  }

  /** watch the directories holding the files (editors replace files, so watching the file alone misses edits) */
  private rewatch(paths: string[]): void {
    const dirs = new Set(paths.map((p) => path.dirname(p)));
    for (const [d, w] of this.watchers) {
      if (!dirs.has(d)) {
        w.close();
        this.watchers.delete(d);
      }
    }
    for (const d of dirs) {
      if (this.watchers.has(d)) continue;
      try {
        const w = fs.watch(d, { persistent: false }, () => this.schedule());
        w.on("error", () => {
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch {
        // a missing directory: the periodic check notices when it appears
      }
    }
  }
}
