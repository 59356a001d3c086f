/**
 * Tokens and statement tree of keepalived.conf text. Pure.
 *
 * Syntax handled: words separated by blanks; `{` and `}` are tokens of their
 * own even without blanks around them; a comment starts at `#` or `!` at the
 * beginning of a word (so a password like `ab#cd` stays whole) and runs to the
 * end of the line; "double quoted" words may hold blanks, braces and comment
 * characters (\" and \\ escape); `$NAME=value` lines define parameters used
 * as $NAME or ${NAME} later; `@ID`/`@^ID` lines are kept only when the config
 * id matches / does not match. A NUL character ends its line, as it does for
 * keepalived (C strings).
 *
 * Parameters follow keepalived (lib/parser.c): a definition stores its text
 * unexpanded; a use is replaced by that text, which is scanned again, so
 * definitions may refer to others (and to later redefinitions). `$NAME`
 * without braces is a use only when followed by a blank, ',', ')' or the end
 * of the line (`${NAME}` anywhere). keepalived stops a line whose expansion
 * would exceed its maximum line length (MAXBUF, 1024 bytes); a definition that
 * refers to itself (`$A=$A$A`) therefore fails on use instead of growing. Here
 * the same limit applies (plus a cap on replacements per line, since `$A=$A`
 * would never grow and keepalived would spin on it): the line is dropped with
 * an error and counted under `param_expansion`.
 */

export type Tok =
  | { t: "word"; text: string; file: string; line: number }
  | { t: "open" | "close" | "eol"; file: string; line: number };

/** Bounds that keep a hostile or broken config from exhausting time or memory; each hit is counted by code. */
export type ConfLimitCode = "param_expansion" | "include_depth" | "include_loop" | "include_count" | "config_size";

export interface LexContext {
  /** `$NAME=value` definitions (unexpanded, as keepalived keeps them), shared across included files */
  defs: Map<string, string>;
  /** keepalived's config id (default: the hostname); null keeps no `@ID` line */
  configId: string | null;
  errors: string[];
  /** how often each limit was hit */
  limits: Partial<Record<ConfLimitCode, number>>;
}

/** keepalived's MAXBUF (lib/parser.h): the longest line, also after parameter substitution */
export const MAX_EXPANDED_LINE = 1024;
/** replacements in one line; a definition that expands to itself would otherwise never stop */
export const MAX_SUBSTITUTIONS = 256;

const DEF_RE = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;
const COND_RE = /^\s*@(\^?)(\S+)\s+(.*)$/;
const USE_RE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$))/y;

export function hitLimit(ctx: LexContext, code: ConfLimitCode, message: string): void {
  ctx.limits[code] = (ctx.limits[code] ?? 0) + 1;
  ctx.errors.push(message);
}

/**
 * Replace parameter uses like keepalived's replace_param(): left to right, the
 * replacement scanned again in place. null (after reporting why) when the line
 * outgrows MAX_EXPANDED_LINE or needs more than MAX_SUBSTITUTIONS replacements.
 */
export function substitute(line: string, defs: Map<string, string>, where: string, ctx: LexContext): string | null {
  if (defs.size === 0 || !line.includes("$")) return line;
  let s = line;
  let count = 0;
  let i = s.indexOf("$");
  while (i >= 0) {
    USE_RE.lastIndex = i;
    const m = USE_RE.exec(s);
    const value = m ? defs.get(m[1] ?? m[2]) : undefined;
    if (m === null || value === undefined) {
      i = s.indexOf("$", i + 1);
      continue;
    }
    if (s.length - m[0].length + value.length > MAX_EXPANDED_LINE) {
      hitLimit(ctx, "param_expansion", `${where}: parameter $${m[1] ?? m[2]} makes the line longer than ${MAX_EXPANDED_LINE} characters (keepalived's maximum line length; a definition that refers to itself?): line ignored`);
      return null;
    }
    if (++count > MAX_SUBSTITUTIONS) {
      hitLimit(ctx, "param_expansion", `${where}: more than ${MAX_SUBSTITUTIONS} parameter substitutions (definitions that refer to each other?): line ignored`);
      return null;
    }
    s = s.slice(0, i) + value + s.slice(i + m[0].length);
    i = s.indexOf("$", i);
  }
  return s;
}

export function lex(text: string, file: string, ctx: LexContext): Tok[] {
  const out: Tok[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    let line = lines[n];
    const nul = line.indexOf("\u0000");
    if (nul >= 0) line = line.slice(0, nul);
    const cond = COND_RE.exec(line);
    if (cond) {
      const match = ctx.configId !== null && cond[2] === ctx.configId;
      if ((cond[1] === "^") === match) continue;
      line = cond[3];
    }
    const def = DEF_RE.exec(line);
    if (def) {
      ctx.defs.set(def[1], def[2]);
      continue;
    }
    const expanded = substitute(line, ctx.defs, `${file}:${lineNo}`, ctx);
    if (expanded === null) {
      out.push({ t: "eol", file, line: lineNo });
      continue;
    }
    line = expanded;
    let i = 0;
    while (i < line.length) {
      const c = line[i];
      if (c === " " || c === "\t") {
        i++;
        continue;
      }
      if (c === "#" || c === "!") break;
      if (c === "{" || c === "}") {
        out.push({ t: c === "{" ? "open" : "close", file, line: lineNo });
        i++;
        continue;
      }
      if (c === '"') {
        let j = i + 1;
        let word = "";
        while (j < line.length && line[j] !== '"') {
          if (line[j] === "\\" && j + 1 < line.length) j++;
          word += line[j++];
        }
        if (j >= line.length) ctx.errors.push(`${file}:${lineNo}: unterminated quoted string`);
        out.push({ t: "word", text: word, file, line: lineNo });
        i = j + 1;
        continue;
      }
      let j = i;
      while (j < line.length && !" \t{}\"".includes(line[j])) j++;
      out.push({ t: "word", text: line.slice(i, j), file, line: lineNo });
      i = j;
    }
    out.push({ t: "eol", file, line: lineNo });
  }
  return out;
}

export interface Node {
  key: string;
  args: string[];
  /** null: a plain statement; array: a block */
  children: Node[] | null;
  file: string;
  line: number;
}

/** Build the statement tree; unbalanced braces are reported, never thrown. */
export function buildTree(toks: Tok[], errors: string[]): Node[] {
  const root: Node[] = [];
  const stack: Array<{ node: Node | null; list: Node[] }> = [{ node: null, list: root }];
  let words: Array<Tok & { t: "word" }> = [];
  const top = () => stack[stack.length - 1];
  const flush = (): Node | null => {
    if (words.length === 0) return null;
    const node: Node = { key: words[0].text, args: words.slice(1).map((w) => w.text), children: null, file: words[0].file, line: words[0].line };
    top().list.push(node);
    words = [];
    return node;
  };
  for (const tok of toks) {
    if (tok.t === "word") words.push(tok);
    else if (tok.t === "eol") flush();
    else if (tok.t === "open") {
      let node = flush();
      if (!node) {
        // `{` on its own line opens the block of the statement just before it
        const prev = top().list.at(-1);
        if (prev && prev.children === null) node = prev;
        else {
          errors.push(`${tok.file}:${tok.line}: '{' without a keyword before it`);
          node = { key: "", args: [], children: null, file: tok.file, line: tok.line };
        }
      }
      node.children = [];
      stack.push({ node, list: node.children });
    } else {
      flush();
      if (stack.length === 1) errors.push(`${tok.file}:${tok.line}: unexpected '}'`);
      else stack.pop();
    }
  }
  flush();
  while (stack.length > 1) {
    const n = stack.pop()!.node!;
    errors.push(`${n.file}:${n.line}: block '${[n.key, ...n.args].join(" ")}' is not closed`);
  }
  return root;
}
