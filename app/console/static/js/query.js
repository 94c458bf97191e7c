// The matcher language as the editor sees it (DESIGN §5): tokens for highlighting,
// the completion context at the caret, and adding a matcher to a query. The server's
// parser stays the judge of what is valid; this lexer is lenient so that a query
// being typed still highlights.

const PATTERNS = [
  ["space", /[ \t\r\n]+/y],
  ["brace", /[{}]/y],
  ["comma", /,/y],
  ["op", /=~|!~|!=|=/y],
  ["string", /"(?:[^"\\\n]|\\.)*"?/y],
  ["string", /'(?:[^'\\\n]|\\.)*'?/y],
  ["string", /`[^`]*`?/y],
  ["name", /[A-Za-z_][A-Za-z0-9_.\-]*/y],
];

/** Split text into tokens {type, text, start, end}; unknown characters are "error" tokens. */
export function tokenize(text) {
  const tokens = [];
  let pos = 0;
  while (pos < text.length) {
    let matched = false;
    for (const [type, pattern] of PATTERNS) {
      pattern.lastIndex = pos;
      const match = pattern.exec(text);
      if (match && match[0].length) {
        tokens.push({ type, text: match[0], start: pos, end: pos + match[0].length });
        pos += match[0].length;
        matched = true;
        break;
      }
    }
    if (!matched) {
      tokens.push({ type: "error", text: text[pos], start: pos, end: pos + 1 });
      pos += 1;
    }
  }
  return tokens;
}

/** Whether a string token has its closing quote. */
export function isClosed(token) {
  const quote = token.text[0];
  if (token.text.length < 2 || token.text.at(-1) !== quote) return false;
  if (quote === "`") return true;
  // An escaped final quote ("abc\") does not close the string.
  let backslashes = 0;
  for (let i = token.text.length - 2; i > 0 && token.text[i] === "\\"; i -= 1) backslashes += 1;
  return backslashes % 2 === 0;
}

/** The text inside a string token, escapes of quote and backslash undone (enough for a prefix). */
export function stringContent(token, upTo = token.end) {
  const quote = token.text[0];
  let inner = token.text.slice(1, upTo - token.start);
  if (upTo === token.end && isClosed(token)) inner = inner.slice(0, -1);
  if (quote === "`") return inner;
  return inner.replace(/\\(.)/g, "$1");
}

function previousSolid(tokens, index) {
  for (let i = index; i >= 0; i -= 1) if (tokens[i].type !== "space") return i;
  return -1;
}

function expectsField(tokens, before) {
  const i = previousSolid(tokens, before);
  return i < 0 || tokens[i].type === "comma" || (tokens[i].type === "brace" && tokens[i].text === "{");
}

function fieldName(token) {
  return token.type === "string" ? stringContent(token) : token.text;
}

/**
 * What the caret at `pos` may complete:
 *   {kind: "field", prefix, from, to}                     a field name
 *   {kind: "value", field, op, prefix, from, to, quote}  a value of `field`
 *   null                                                   nothing
 * from/to is the range a chosen completion replaces.
 */
export function completionContext(text, pos) {
  const tokens = tokenize(text);
  let index = tokens.findIndex((t) => t.start < pos && pos <= t.end);
  const token = index >= 0 ? tokens[index] : null;

  if (token && token.type === "string") {
    const opIndex = previousSolid(tokens, index - 1);
    const fieldIndex = previousSolid(tokens, opIndex - 1);
    if (opIndex < 0 || tokens[opIndex].type !== "op" || fieldIndex < 0) return null;
    if (isClosed(token) && pos === token.end) return null;
    return {
      kind: "value",
      field: fieldName(tokens[fieldIndex]),
      op: tokens[opIndex].text,
      prefix: stringContent(token, pos),
      from: token.start,
      to: token.end,
      quote: token.text[0],
    };
  }
  if (token && token.type === "name") {
    if (!expectsField(tokens, index - 1)) return null;
    return { kind: "field", prefix: text.slice(token.start, pos), from: token.start, to: token.end };
  }
  if (!token || token.type === "space" || token.type === "brace" || token.type === "comma"
      || token.type === "op") {
    if (token && token.type === "brace" && token.text === "}") return null;
    index = token ? index : tokens.findIndex((t) => t.start >= pos) - 1;
    if (index < -1) index = tokens.length - 1;
    const last = previousSolid(tokens, index);
    if (last >= 0 && tokens[last].type === "op") {
      const fieldIndex = previousSolid(tokens, last - 1);
      if (fieldIndex < 0) return null;
      return { kind: "value", field: fieldName(tokens[fieldIndex]), op: tokens[last].text,
        prefix: "", from: pos, to: pos, quote: null };
    }
    if (expectsField(tokens, index)) return { kind: "field", prefix: "", from: pos, to: pos };
  }
  return null;
}

/** A value as a double-quoted string of the language (Go escapes). */
export function quoteString(value) {
  const escaped = String(value).replace(/[\\"\n\r\t]/g, (c) => (
    { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" }[c]));
  return `"${escaped}"`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*$/;

/** A field name as the language writes it (a string when it is not a plain name). */
export function fieldText(field) {
  return NAME.test(field) ? field : quoteString(field);
}

/** RE2 text that matches `value` literally (for completion after =~ or !~). */
export function regexLiteral(value) {
  return String(value).replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** The query with `field op "value"` added (unchanged when the same matcher is there). */
export function addMatcher(query, field, op, value) {
  const matcher = `${fieldText(field)}${op}${quoteString(value)}`;
  const tokens = tokenize(query).filter((t) => t.type !== "space");
  const existing = tokens.map((t) => t.text).join("");
  if (existing.replace(/^\{|\}$/g, "").split(",").includes(matcher)) return query;
  const text = query.trim();
  if (!text || text === "{}") return `{${matcher}}`;
  if (text.endsWith("}")) {
    const inner = text.slice(0, -1).trimEnd();
    if (inner.endsWith("{")) return `${inner}${matcher}}`;
    if (inner.endsWith(",")) return `${inner} ${matcher}}`;
    return `${inner}, ${matcher}}`;
  }
  return `${text.replace(/,\s*$/, "")}, ${matcher}`;
}

/** The character offset (UTF-16) of a 1-based line and column counted in code points. */
export function offsetOf(text, line, column) {
  let offset = 0;
  for (let l = 1; l < line; l += 1) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  for (let c = 1; c < column && offset < text.length && text[offset] !== "\n"; c += 1) {
    const code = text.codePointAt(offset);
    offset += code > 0xffff ? 2 : 1;
  }
  return offset;
}
