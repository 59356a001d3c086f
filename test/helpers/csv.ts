import assert from "node:assert/strict";

/**
 * A small RFC 4180 reader (CRLF line breaks, "" inside quoted fields), to check that what the
 * exports write reads back the same. The text must end with a line break: a last row without one fails.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.ok(field === "" && row.length === 0 && !quoted, "the text ends with a line break");
  return rows;
}
