/**
 * Reads keepalived.conf (with its includes) into the snapshot the server
 * compares between peers. Pure apart from the injected file access and the
 * injected password hash: malformed input gives `file:line: what` errors,
 * never a throw; unknown keywords are ignored.
 *
 * Choices (documented for the server side):
 * - `virtual_ipaddress` entries keep only `address/prefix` (a missing prefix
 *   becomes /32 or /128, keepalived's default); `dev`, `label`, `scope` and the
 *   like are dropped. `virtual_ipaddress_excluded` is ignored: it is not sent in
 *   adverts, so it need not match between peers.
 * - advert_int defaults to 1 and vrrp_version to global_defs' vrrp_version or
 *   2 (keepalived's defaults); state and priority stay null when not set.
 * - auth_pass never leaves this module in clear: only authPassHash.
 * - `hash` is sha256 of the canonical JSON (sorted keys, instances sorted by
 *   name) of { routerId, netNamespace, instances }.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import path from "node:path";
import { ConfigInstance, LIMITS, describeZodError } from "../server/protocol";
import { hashAuthPass, type HashAuthPass } from "./auth-hash";
import { buildTree, hitLimit, lex, type ConfLimitCode, type LexContext, type Node, type Tok } from "./conf-lexer";

export interface ConfFs {
  /** file text; throws (with a message) when it cannot be read */
  readFile(file: string): string;
  /** files matching a glob pattern (absolute), sorted */
  glob(pattern: string): string[];
}

export interface ParsedConf {
  routerId: string | null;
  netNamespace: string | null;
  instances: ConfigInstance[];
  errors: string[];
  /** every file read (main first), and the patterns of the includes: what to watch */
  files: string[];
  includes: string[];
  /** how often each bound was hit (parameter expansion, include depth/loops/count, total size) */
  limits: Partial<Record<ConfLimitCode, number>>;
}

export interface ParseOptions {
  hashPass?: HashAuthPass;
  /** keepalived's config id for `@ID` lines (keepalived's default is the hostname) */
  configId?: string | null;
}

/**
 * Include bounds. keepalived itself has none (an include loop recurses until it
 * fails), and a file reached through several include paths is read again on each
 * one (so a shared snippet may be included in several blocks). Here: a file
 * already on the current include chain is a loop (that include is skipped), the
 * chain is at most MAX_INCLUDE_DEPTH deep, and one parse reads at most
 * MAX_FILE_READS files and MAX_TOTAL_CHARS characters in all, so globs that
 * include each other cannot fan out exponentially. Each hit is an error naming
 * file and line, counted in `limits`.
 */
export const MAX_INCLUDE_DEPTH = 16;
export const MAX_FILE_READS = 1000;
export const MAX_TOTAL_CHARS = 32 * 1024 * 1024;
const MAX_ERRORS = 256;

interface LoadState {
  fsx: ConfFs;
  ctx: LexContext;
  out: ParsedConf;
  /** file text and glob results, read once per parse (a consistent snapshot) */
  texts: Map<string, string | Error>;
  globs: Map<string, string[]>;
  reads: number;
  chars: number;
  /** a read or size limit was hit: every further include is skipped */
  exhausted: boolean;
  result: Tok[];
}

function readText(st: LoadState, file: string): string | Error {
  let t = st.texts.get(file);
  if (t === undefined) {
    try {
      t = st.fsx.readFile(file);
      if (typeof t !== "string") t = new Error("not text");
    } catch (e) {
      t = e instanceof Error ? e : new Error(String(e));
    }
    st.texts.set(file, t);
  }
  return t;
}

/** lex `file` and append its tokens (includes expanded in place) to st.result; `stack` is the include chain ending in `file` */
function loadTokens(st: LoadState, file: string, stack: string[], from?: string): void {
  const { ctx, out } = st;
  const text = readText(st, file);
  if (text instanceof Error) {
    ctx.errors.push(`${from ?? file}: cannot read ${file}: ${text.message}`);
    return;
  }
  if (st.reads >= MAX_FILE_READS || st.chars + text.length > MAX_TOTAL_CHARS) {
    st.exhausted = true;
    const why = st.reads >= MAX_FILE_READS ? `more than ${MAX_FILE_READS} included files` : `more than ${MAX_TOTAL_CHARS} characters of configuration`;
    hitLimit(ctx, st.reads >= MAX_FILE_READS ? "include_count" : "config_size", `${from ?? file}: ${why} (includes that include each other?): ${file} and every later include skipped`);
    return;
  }
  st.reads++;
  st.chars += text.length;
  if (!out.files.includes(file) && out.files.length < MAX_FILE_READS) out.files.push(file);
  const toks = lex(text, file, ctx);
  let atStart = true;
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i];
    if (atStart && tok.t === "word" && tok.text === "include") {
      const arg = toks[i + 1];
      while (i + 1 < toks.length && toks[i + 1].t !== "eol") i++;
      const where = `${tok.file}:${tok.line}`;
      if (!arg || arg.t !== "word") {
        ctx.errors.push(`${where}: include without a file name`);
        continue;
      }
      if (st.exhausted) continue;
      if (stack.length >= MAX_INCLUDE_DEPTH) {
        hitLimit(ctx, "include_depth", `${where}: includes nested deeper than ${MAX_INCLUDE_DEPTH}: include ${arg.text.slice(0, 256)} skipped`);
        continue;
      }
      const pattern = path.resolve(path.dirname(file), arg.text);
      if (!out.includes.includes(pattern) && out.includes.length < MAX_FILE_READS) out.includes.push(pattern);
      let matches: string[];
      if (/[*?[]/.test(pattern)) {
        matches = st.globs.get(pattern) ?? [];
        if (!st.globs.has(pattern)) {
          try {
            matches = st.fsx.glob(pattern);
          } catch (e) {
            ctx.errors.push(`${where}: cannot expand ${pattern}: ${(e as Error).message}`);
            matches = [];
          }
          st.globs.set(pattern, matches);
        }
      } else matches = [pattern];
      for (const m of matches) {
        if (st.exhausted) break;
        if (stack.includes(m)) {
          hitLimit(ctx, "include_loop", `${where}: include loop through ${m}: skipped`);
          continue;
        }
        loadTokens(st, m, [...stack, m], where);
        st.result.push({ t: "eol", file: m, line: 0 });
      }
      continue;
    }
    st.result.push(tok);
    atStart = tok.t !== "word";
  }
}

const where = (n: Node) => `${n.file}:${n.line}`;

function intArg(n: Node, min: number, max: number, errors: string[]): number | null {
  const v = n.args[0];
  if (v === undefined || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    errors.push(`${where(n)}: ${n.key} must be a whole number from ${min} to ${max}${v === undefined ? "" : ` (got ${JSON.stringify(v.slice(0, 40))})`}`);
    return null;
  }
  return Number(v);
}

function normaliseAddress(raw: string): string | null {
  const [addr, prefix, ...rest] = raw.split("/");
  const family = isIP(addr);
  if (!family || rest.length) return null;
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${addr}/${max}`;
  if (!/^\d+$/.test(prefix) || Number(prefix) > max) return null;
  return `${addr}/${Number(prefix)}`;
}

function names(block: Node, errors: string[], limit: number): string[] {
  if (!block.children) {
    errors.push(`${where(block)}: ${block.key} needs a { ... } block`);
    return [];
  }
  return block.children.map((c) => c.key).slice(0, limit);
}

function readInstance(n: Node, errors: string[], hashPass: HashAuthPass, globalVersion: number | null): ConfigInstance | null {
  const name = n.args[0];
  if (!name) {
    errors.push(`${where(n)}: vrrp_instance without a name`);
    return null;
  }
  const inst: ConfigInstance = {
    name, vrid: null, interface: null, state: null, priority: null, advertInt: 1, authType: null, authPassHash: null,
    vips: [], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false,
    vrrpVersion: globalVersion ?? 2, syncGroup: null,
  };
  let pass: string | null = null;
  for (const c of n.children ?? []) {
    switch (c.key) {
      case "state": {
        const s = (c.args[0] ?? "").toUpperCase();
        if (s === "MASTER" || s === "BACKUP") inst.state = s;
        else errors.push(`${where(c)}: state must be MASTER or BACKUP (got ${JSON.stringify(c.args[0] ?? "")})`);
        break;
      }
      case "interface":
        if (c.args[0]) inst.interface = c.args[0].slice(0, 64);
        else errors.push(`${where(c)}: interface without a name`);
        break;
      case "virtual_router_id":
        inst.vrid = intArg(c, 1, 255, errors);
        break;
      case "priority":
        inst.priority = intArg(c, 0, 255, errors);
        break;
      case "advert_int": {
        const v = Number(c.args[0]);
        if (c.args[0] !== undefined && Number.isFinite(v) && v > 0 && v <= 255) inst.advertInt = v;
        else errors.push(`${where(c)}: advert_int must be a number of seconds above 0`);
        break;
      }
      case "vrrp_version":
        inst.vrrpVersion = intArg(c, 2, 3, errors) ?? inst.vrrpVersion;
        break;
      case "nopreempt":
        inst.nopreempt = true;
        break;
      case "preempt":
        inst.nopreempt = false;
        break;
      case "unicast_src_ip":
        if (c.args[0] && isIP(c.args[0])) inst.unicastSrcIp = c.args[0];
        else errors.push(`${where(c)}: unicast_src_ip needs an IP address`);
        break;
      case "unicast_peer":
        for (const p of names(c, errors, 256)) {
          if (isIP(p)) inst.unicastPeers.push(p);
          else errors.push(`${where(c)}: unicast_peer entry ${JSON.stringify(p.slice(0, 64))} is not an IP address`);
        }
        break;
      case "track_script":
        inst.trackScripts = names(c, errors, 256).map((s) => s.slice(0, 128));
        break;
      case "track_interface":
        inst.trackInterfaces = names(c, errors, 256).map((s) => s.slice(0, 128));
        break;
      case "virtual_ipaddress":
        for (const child of c.children ?? []) {
          const a = normaliseAddress(child.key);
          if (a) inst.vips.push(a);
          else errors.push(`${where(child)}: virtual_ipaddress entry ${JSON.stringify(child.key.slice(0, 64))} is not an address`);
        }
        if (!c.children) errors.push(`${where(c)}: virtual_ipaddress needs a { ... } block`);
        break;
      case "authentication":
        for (const a of c.children ?? []) {
          if (a.key === "auth_type") {
            const t = (a.args[0] ?? "").toUpperCase();
            if (t === "PASS" || t === "AH") inst.authType = t;
            else errors.push(`${where(a)}: auth_type must be PASS or AH (got ${JSON.stringify((a.args[0] ?? "").slice(0, 20))})`);
          } else if (a.key === "auth_pass") {
            if (a.args.length === 0) errors.push(`${where(a)}: auth_pass without a password`);
            else pass = a.args[0]; // the value is never echoed, not even in errors
          }
        }
        break;
      default:
        break; // other keywords do not matter to the monitor
    }
  }
  if (inst.vips.length > LIMITS.maxAddresses) {
    errors.push(`${where(n)}: vrrp_instance ${name}: more than ${LIMITS.maxAddresses} virtual addresses, the rest are ignored`);
    inst.vips = inst.vips.slice(0, LIMITS.maxAddresses);
  }
  if (pass !== null) inst.authPassHash = hashPass(pass, inst.vrid);
  return inst;
}

/** Parse the main file (and its includes) into a config snapshot. */
export function parseKeepalivedConf(mainFile: string, fsx: ConfFs, opts: ParseOptions = {}): ParsedConf {
  const hashPass = opts.hashPass ?? hashAuthPass;
  const out: ParsedConf = { routerId: null, netNamespace: null, instances: [], errors: [], files: [], includes: [], limits: {} };
  const ctx: LexContext = { defs: new Map(), configId: opts.configId ?? null, errors: out.errors, limits: out.limits };
  const st: LoadState = { fsx, ctx, out, texts: new Map(), globs: new Map(), reads: 0, chars: 0, exhausted: false, result: [] };
  loadTokens(st, mainFile, [mainFile]);
  const tree = buildTree(st.result, out.errors);

  let globalVersion: number | null = null;
  const groupOf = new Map<string, string>();
  for (const n of tree) {
    if (n.key === "global_defs") {
      for (const c of n.children ?? []) {
        if (c.key === "router_id" && c.args[0]) out.routerId = c.args[0].slice(0, 128);
        if (c.key === "vrrp_version") globalVersion = intArg(c, 2, 3, out.errors);
        if (c.key === "net_namespace" && c.args[0]) out.netNamespace = c.args[0].slice(0, 128);
      }
    } else if (n.key === "net_namespace") {
      if (n.args[0]) out.netNamespace = n.args[0].slice(0, 128);
      else out.errors.push(`${where(n)}: net_namespace without a name`);
    } else if (n.key === "vrrp_sync_group") {
      const g = n.args[0];
      if (!g) {
        out.errors.push(`${where(n)}: vrrp_sync_group without a name`);
        continue;
      }
      for (const c of n.children ?? []) {
        if (c.key !== "group") continue;
        for (const m of c.children ?? []) {
          for (const inst of [m.key, ...m.args]) {
            if (groupOf.has(inst)) out.errors.push(`${where(m)}: ${inst} is already in sync group ${groupOf.get(inst)}`);
            else groupOf.set(inst, g.slice(0, 128));
          }
        }
      }
    }
  }
  const seen = new Set<string>();
  for (const n of tree) {
    if (n.key !== "vrrp_instance") continue;
    if (!n.children) {
      out.errors.push(`${where(n)}: vrrp_instance needs a { ... } block`);
      continue;
    }
    const inst = readInstance(n, out.errors, hashPass, globalVersion);
    if (!inst) continue;
    if (seen.has(inst.name)) {
      out.errors.push(`${where(n)}: vrrp_instance ${inst.name} is defined twice; the first one is kept`);
      continue;
    }
    seen.add(inst.name);
    inst.syncGroup = groupOf.get(inst.name) ?? null;
    const check = ConfigInstance.safeParse(inst);
    if (!check.success) {
      out.errors.push(`${where(n)}: vrrp_instance ${inst.name.slice(0, 64)} skipped: ${describeZodError(check.error)}`);
      continue;
    }
    if (out.instances.length >= LIMITS.maxInstances) {
      out.errors.push(`${where(n)}: more than ${LIMITS.maxInstances} vrrp_instances, the rest are ignored`);
      break;
    }
    out.instances.push(check.data);
  }
  for (const [inst, g] of groupOf) if (!seen.has(inst)) out.errors.push(`sync group ${g} names an unknown vrrp_instance ${inst}`);
  // a file read again (globs, a snippet in several blocks) repeats its problems word for word: report each once
  out.errors = [...new Set(out.errors)];
  if (out.errors.length > MAX_ERRORS) out.errors.splice(MAX_ERRORS - 1, Infinity, `... and ${out.errors.length - MAX_ERRORS + 1} more problems`);
  out.errors = out.errors.map((e) => e.slice(0, 1024));
  return out;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** sha256 of the canonical JSON of { routerId, netNamespace, instances } (instances in name order) */
export function configHash(c: Pick<ParsedConf, "routerId" | "netNamespace" | "instances">): string {
  const instances = [...c.instances].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return createHash("sha256").update(canonical({ routerId: c.routerId, netNamespace: c.netNamespace, instances })).digest("hex");
}
