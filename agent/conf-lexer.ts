/**
 * Tokens and statement tree of keepalived.conf text. Pure.
 *
 * Syntax handled: words separated by blanks; `{` and `}` are tokens of their
 * own even without blanks around them; a comment starts at `#` or `!` at the
 * beginning of a word (so a password like `ab#cd` stays whole) and runs to the
 * end of the line; "double quoted" words may hold blanks, braces and comment
 * characters (\" and \\ escape); `$NAME=value` lines define parameters used
 * as $NAME or ${NAME} later; `@ID`/`@^ID` lines are kept only when the config
 * id matches / does not match.
 */

export type Tok =
  | { t: "word"; text: string; file: string; line: number }
  | { t: "open" | "close" | "eol"; file: string; line: number };

export interface LexContext {
  /** `$NAME=value` definitions, shared across included files */
  defs: Map<string, string>;
  /** keepalived's config id (default: the hostname); null keeps no `@ID` line */
  configId: string | null;
  errors: string[];
}

const DEF_RE = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;
const COND_RE = /^\s*@(\^?)(\S+)\s+(.*)$/;

function substitute(line: string, defs: Map<string, string>): string {
  if (!line.includes("$")) return line;
  return line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, b) => defs.get(a ?? b) ?? m);
}

export function lex(text: string, file: string, ctx: LexContext): Tok[] {
  const out: Tok[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    let line = lines[n];
    const def = DEF_RE.exec(line);
    if (def) {
      ctx.defs.set(def[1], substitute(def[2], ctx.defs));
      continue;
    }
    const cond = COND_RE.exec(line);
    if (cond) {
      const match = ctx.configId !== null && cond[2] === ctx.configId;
      if ((cond[1] === "^") === match) continue;
      line = cond[3];
    }
    line = substitute(line, ctx.defs);
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
