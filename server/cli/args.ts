/**
 * One command-line parser for the server, `npm run admin` and `npm run token` (issue 14): a declarative
 * spec (commands of one or more words, their flags and positional arguments, value checks), read with
 * node's util.parseArgs in strict mode. A misspelt command or flag is refused with a "did you mean"
 * hint, `--help`/`-h` prints the usage generated from the spec, `--version` the package version.
 *
 * parseCommandLine() is pure: it returns the command, the help text, the version request or a usage
 * error. report() and runCli() print (help and version to stdout, errors to stderr) and give the exit
 * code, the same for every CLI (EXIT).
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ROOT } from "../paths";
import type { AuditTarget } from "../audit/log";

/** Exit codes of every CLI and the server (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** the command ran and failed: database unreachable, nothing by that name or ID, an action refused */
  failure: 1,
  /** bad command line or setting: unknown command or flag, missing or bad value */
  usage: 2,
} as const;

export const EXIT_HELP = "exit status: 0 done, 1 failed (e.g. the database cannot be reached, nothing by that name or ID), 2 usage error (unknown command or flag, missing or bad value)";

export interface FlagSpec {
  type: "string" | "boolean";
  /** the value's placeholder in usage texts, e.g. NAME (string flags) */
  arg?: string;
  help: string;
  required?: boolean;
  /** value check beyond "a string"; its message says what is expected */
  check?: z.ZodType;
}

export interface ArgSpec {
  /** placeholder in usage texts, e.g. ID */
  name: string;
  optional?: boolean;
  /** takes every remaining positional argument (at least one unless optional) */
  variadic?: boolean;
  check?: z.ZodType;
}

export interface CommandSpec {
  /** the words that name it, e.g. "webhook add"; "" for a program without commands (the server) */
  name: string;
  help: string;
  flags?: Record<string, FlagSpec>;
  args?: ArgSpec[];
  /** what follows the command in usage lines, when the generated one says less (alternatives, many flags) */
  synopsis?: string;
  /** a check across flags and arguments (one of two, a pair): the usage error's message, or null */
  check?: (args: Args) => string | null;
  /**
   * a command that changes state says what the audit log records of it (server/cli/audit.ts runs it):
   * the action and, when the command line names it, the target (else the masked command line is recorded)
   */
  audit?: {
    action: string;
    target?: (args: Args) => AuditTarget | null;
    /** recorded when it exits 1 too (a test the receiver refused: it was still sent); never when it throws */
    evenOnFailure?: boolean;
  };
}

export interface CliSpec<C extends CommandSpec = CommandSpec> {
  /** the name in messages, e.g. "admin" */
  name: string;
  /** how it is run, e.g. "npm run admin --" */
  invoke: string;
  summary: string;
  commands: readonly C[];
  /** printed after the usage lines of --help */
  footer?: string;
}

/** A command with the code that runs it on a context (admin and token: the database). */
export interface Command<Ctx> extends CommandSpec {
  /** the exit code; nothing = 0 */
  run(ctx: Ctx, args: Args): Promise<number | void>;
}

/** A row's ID, as the list commands print it. */
export const ID_ARG: ArgSpec = { name: "ID", check: z.string().regex(/^[1-9]\d*$/, "must be a positive whole number (see the list command)") };

/**
 * A command that acts on the row with the given ID (revoke, remove): prints what it did, or that
 * nothing has that ID, which is a failure (exit 1).
 */
export function idCommand<Ctx>(
  name: string,
  help: string,
  act: (ctx: Ctx, id: number) => Promise<boolean>,
  said: { done: (id: number) => string; none: (id: number) => string },
): Command<Ctx> {
  return {
    name, help, args: [ID_ARG],
    async run(ctx, a) {
      const id = Number(a.positionals[0]);
      const ok = await act(ctx, id);
      console.log(ok ? said.done(id) : said.none(id));
      return ok ? EXIT.ok : EXIT.failure;
    },
  };
}

/** Values of one parsed command line. */
export class Args {
  constructor(
    /** the command's words, e.g. "webhook add" */
    readonly command: string,
    private readonly values: Record<string, string | boolean | undefined>,
    readonly positionals: string[],
  ) {}

  /** the flags given and the positional arguments, as the audit log records a command line (masked there) */
  given(): Record<string, unknown> {
    return { ...Object.fromEntries(Object.entries(this.values).filter(([, v]) => v !== undefined)), ...(this.positionals.length ? { args: this.positionals } : {}) };
  }

  /** a string flag's value, undefined when not given */
  string(flag: string): string | undefined {
    const v = this.values[flag];
    return typeof v === "string" ? v : undefined;
  }

  /** a string flag the spec marks required (the parser has checked it is there) */
  need(flag: string): string {
    const v = this.string(flag);
    if (v === undefined) throw new Error(`--${flag} is not a required flag of ${this.command}`);
    return v;
  }

  /** a boolean flag: given or not */
  flag(flag: string): boolean {
    return this.values[flag] === true;
  }
}

export type ParseResult<C extends CommandSpec> =
  | { kind: "ok"; command: C; args: Args }
  | { kind: "help"; text: string }
  | { kind: "version" }
  | { kind: "error"; message: string; usage: string };

/** A bad command line found while running a command (a value that cannot be used): exit 2 with the command's usage. */
export class UsageError extends Error {
  /** print the command's usage line after the message */
  readonly showUsage: boolean = true;
}

const words = (c: CommandSpec) => c.name.split(" ").filter(Boolean);
const HELP_FLAGS = { help: { type: "boolean", short: "h" }, version: { type: "boolean" } } as const;

/** util.parseArgs' options for a command: its flags, --help/-h and --version */
const parseOptions = (flags: Record<string, FlagSpec>) => ({
  ...Object.fromEntries(Object.entries(flags).map(([f, s]) => [f, { type: s.type }])),
  ...HELP_FLAGS,
});

/** A command's usage line after the program: its words, arguments and flags (optional ones in brackets), or its own synopsis. */
function synopsis(c: CommandSpec): string {
  if (c.synopsis !== undefined) return [c.name, c.synopsis].filter(Boolean).join(" ");
  const args = (c.args ?? []).map((a) => {
    const n = a.variadic ? `${a.name}...` : a.name;
    return a.optional ? `[${n}]` : n;
  });
  const flags = Object.entries(c.flags ?? {}).map(([f, s]) => {
    const text = s.type === "string" ? `--${f} ${s.arg ?? "VALUE"}` : `--${f}`;
    return s.required ? text : `[${text}]`;
  });
  return [c.name, ...args, ...flags].filter(Boolean).join(" ");
}

function usageLines(spec: CliSpec, commands: readonly CommandSpec[]): string {
  return ["usage:", ...commands.map((c) => `  ${spec.invoke} ${synopsis(c)}\n      ${c.help}`)].join("\n");
}

function commandHelp(spec: CliSpec, c: CommandSpec): string {
  const lines = [spec.commands.length === 1 ? spec.summary : `${spec.name} ${c.name}: ${c.help}`, "", `usage: ${spec.invoke} ${synopsis(c)}`];
  if (spec.commands.length === 1 && c.help) lines.push("", c.help);
  const flags = Object.entries(c.flags ?? {});
  if (flags.length) lines.push("", "options:");
  for (const [f, s] of flags) lines.push(`  --${f}${s.type === "string" ? ` ${s.arg ?? "VALUE"}` : ""}${s.required ? "   (required)" : ""}`, `      ${s.help}`);
  lines.push("  --help, -h   this help", "  --version    print the version", "", EXIT_HELP);
  if (spec.commands.length === 1 && spec.footer) lines.push("", spec.footer);
  return lines.join("\n");
}

function programHelp(spec: CliSpec, commands: readonly CommandSpec[]): string {
  return [
    spec.summary,
    "",
    usageLines(spec, commands),
    "",
    `${spec.invoke} COMMAND --help describes one command; --version prints the version.`,
    ...(spec.footer ? [spec.footer] : []),
    EXIT_HELP,
  ].join("\n");
}

/** the usage shown after an error in one command: its line, and where the rest is */
function commandUsage(spec: CliSpec, c: CommandSpec): string {
  return `usage: ${spec.invoke} ${synopsis(c)}\n(${[spec.invoke, c.name, "--help"].filter(Boolean).join(" ")} for details)`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known word a misspelt one most likely meant: within 1 edit (2 from 5 letters on), or the only one it begins. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = word.length >= 5 ? 2 : 1;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD || (d === bestD && best === undefined)) [best, bestD] = [k, d];
  }
  if (best !== undefined) return best;
  const starts = known.filter((k) => word.length >= 2 && k.startsWith(word));
  return starts.length === 1 ? starts[0] : undefined;
}

const hint = (word: string, known: readonly string[], show: (k: string) => string = (k) => k) => {
  const k = closest(word, known);
  return k === undefined ? "" : `; did you mean ${show(k)}?`;
};

/** --help, -h and --version before a "--" end of options: they win over anything else on the line */
function infoRequest(argv: string[]): "help" | "version" | null {
  const end = argv.indexOf("--");
  const opts = end < 0 ? argv : argv.slice(0, end);
  if (opts.some((a) => a === "--help" || a === "-h")) return "help";
  if (opts.includes("--version")) return "version";
  return null;
}

type Resolved<C> = { command: C; rest: string[] } | { error: string; level: readonly C[] };

/** Finds the command named by the leading words of argv (a program without commands has the one named ""). */
function resolveCommand<C extends CommandSpec>(spec: CliSpec<C>, argv: string[]): Resolved<C> {
  let candidates = spec.commands;
  for (let depth = 0; ; depth++) {
    const exact = candidates.find((c) => words(c).length === depth);
    const next = argv[depth];
    const longer = candidates.filter((c) => words(c).length > depth);
    const matching = next === undefined ? [] : longer.filter((c) => words(c)[depth] === next);
    if (matching.length === 0) {
      if (exact) return { command: exact, rest: argv.slice(depth) };
      const prefix = argv.slice(0, depth).join(" ");
      const options = [...new Set(longer.map((c) => words(c)[depth]))];
      if (next === undefined || next.startsWith("-")) {
        return { error: depth === 0 ? `missing command (one of: ${options.join(", ")})` : `"${prefix}" needs one of: ${options.join(", ")}`, level: candidates };
      }
      const named = [prefix, next].filter(Boolean).join(" ");
      return { error: `unknown command "${named}"${hint(next, options, (k) => `"${[prefix, k].filter(Boolean).join(" ")}"`)}`, level: candidates };
    }
    candidates = matching;
  }
}

/**
 * Says what util.parseArgs refused, in words naming the flag or argument: strict parsing decides, a
 * lenient pass over its tokens only finds the culprit for the message.
 */
function explain(c: CommandSpec, argv: string[], e: Error & { code?: string }): string {
  const flags = c.flags ?? {};
  const where = c.name ? ` for "${c.name}"` : "";
  const known = [...Object.keys(flags), "help", "version"];
  const { tokens } = parseArgs({ args: argv, options: parseOptions(flags), strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === "option" && !(t.name in flags) && !(t.name in HELP_FLAGS)) {
      return `unknown option ${t.rawName}${where}${hint(t.name, known, (k) => `--${k}`)}`;
    }
    if (t.kind === "option" && flags[t.name]?.type === "string" && (t.value === undefined || (t.inlineValue === false && t.value.startsWith("-")))) {
      return `${t.rawName} needs a value (${flags[t.name].arg ?? "VALUE"})`;
    }
    if (t.kind === "option" && flags[t.name]?.type === "boolean" && t.value !== undefined) return `${t.rawName} takes no value`;
    if (t.kind === "positional" && !(c.args ?? []).length) return `unexpected argument ${JSON.stringify(t.value)}${c.name ? `: ${c.name} takes none` : ""}`;
  }
  return e.message;
}

function checked(what: string, value: string, check: z.ZodType | undefined): string | null {
  if (!check) return null;
  const r = check.safeParse(value);
  return r.success ? null : `${what}: ${r.error.issues.map((i) => i.message).join("; ")} (got ${JSON.stringify(value)})`;
}

/** Checks the positional arguments against the command's ArgSpecs; an error message or null. */
function checkPositionals(c: CommandSpec, positionals: string[]): string | null {
  const specs = c.args ?? [];
  let i = 0;
  for (const a of specs) {
    const taken = a.variadic ? positionals.slice(i) : positionals.slice(i, i + 1);
    if (taken.length === 0 && !a.optional) return `${c.name} needs ${a.name}${a.variadic ? "..." : ""}`;
    for (const v of taken) {
      const bad = checked(a.name, v, a.check);
      if (bad) return bad;
    }
    i += taken.length;
  }
  return i < positionals.length ? `unexpected argument ${JSON.stringify(positionals[i])}${c.name ? `: ${c.name} takes ${specs.map((a) => a.name).join(" ") || "none"}` : ""}` : null;
}

/** Parses argv (without node and the script) against spec. Pure: nothing is printed, nothing exits. */
export function parseCommandLine<C extends CommandSpec>(spec: CliSpec<C>, argv: string[]): ParseResult<C> {
  const info = infoRequest(argv);
  if (info === "version") return { kind: "version" };
  const found = resolveCommand(spec, argv);
  if ("error" in found) {
    if (info === "help") return { kind: "help", text: programHelp(spec, found.level) };
    return { kind: "error", message: found.error, usage: usageLines(spec, found.level) };
  }
  const c = found.command;
  if (info === "help") return { kind: "help", text: commandHelp(spec, c) };
  const fail = (message: string) => ({ kind: "error" as const, message, usage: commandUsage(spec, c) });
  const flags = c.flags ?? {};
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: found.rest, options: parseOptions(flags), strict: true, allowPositionals: (c.args ?? []).length > 0 }) as typeof parsed;
  } catch (e) {
    if (!(e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS_")) throw e;
    return fail(explain(c, found.rest, e as Error));
  }
  for (const [f, s] of Object.entries(flags)) {
    const v = parsed.values[f];
    if (v === undefined && s.required) return fail(`${c.name || spec.name} needs --${f} ${s.arg ?? "VALUE"}`);
    const bad = typeof v === "string" ? checked(`--${f}`, v, s.check) : null;
    if (bad) return fail(bad);
  }
  const badArg = checkPositionals(c, parsed.positionals);
  if (badArg) return fail(badArg);
  const args = new Args(c.name, parsed.values, parsed.positionals);
  const bad = c.check?.(args);
  return bad ? fail(bad) : { kind: "ok", command: c, args };
}

/** The installed commands (package.json "bin", bin/*.mjs). */
const BINS = /^kam-(server|admin|token|agent)$/;

/**
 * How the program was started, for its usage lines: an installed command (kam-admin, or bin/kam-admin.mjs) by
 * its name, anything else (npm run admin, tsx) by `fallback`, the spec's `npm run` form.
 */
export function invokedAs(fallback: string, script: string | undefined = process.argv[1]): string {
  const name = script ? path.basename(script).replace(/\.mjs$/, "") : "";
  return BINS.test(name) ? name : fallback;
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Prints the outcome of a command line that does not run a command (help, version, error); returns the exit code. */
export function report(spec: CliSpec, r: Exclude<ParseResult<CommandSpec>, { kind: "ok" }>, io: CliIo = processIo): number {
  switch (r.kind) {
    case "help":
      io.out(r.text);
      return EXIT.ok;
    case "version":
      io.out(packageVersion());
      return EXIT.ok;
    case "error":
      io.err(`${spec.name}: ${r.message}\n${r.usage}`);
      return EXIT.usage;
  }
}

/**
 * Parses argv and runs the command with exec; returns the exit code: exec's (0 when it returns
 * nothing), 2 for a bad command line or a UsageError, 1 for any other error (its message printed).
 */
export async function runCli<C extends CommandSpec>(
  given: CliSpec<C>,
  argv: string[],
  exec: (command: C, args: Args) => Promise<number | void>,
  io: CliIo = processIo,
): Promise<number> {
  const spec = { ...given, invoke: invokedAs(given.invoke) };
  const r = parseCommandLine(spec, argv);
  if (r.kind !== "ok") return report(spec, r, io);
  try {
    return (await exec(r.command, r.args)) ?? EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${spec.name}: ${e.message}${e.showUsage ? `\n${commandUsage(spec, r.command)}` : ""}`);
      return EXIT.usage;
    }
    io.err(`${spec.name}: ${(e as Error).message}`);
    return EXIT.failure;
  }
}
