/**
 * @module syntax-place
 * Where a syntax error is in a JSON document the user gave (`-f`), as an offset to show as a line and column. Why: Node 20's
 * JSON.parse says at best `at position 3724342`, and for an unexpected character not even that (`Unexpected token
 * '}', ..."id":tru}]}" is not valid JSON`); a position in a 60 MB manifest is no help to a person. The YAML library
 * gives an offset too; both are turned into a line and column by the protocol's `placeOf` (shared with the web app).
 */

const isWhitespace = (character: string | undefined) => character === " " || character === "\t" || character === "\n" || character === "\r";
const isDigit = (character: string | undefined) => character !== undefined && character >= "0" && character <= "9";
const isHex = (character: string | undefined) => character !== undefined && /^[0-9a-fA-F]$/.test(character);

/**
 * Where JSON.parse failed on `text`, given its message: the position it names, else the end of the text for input cut
 * short, else the first character at which `text` stops being JSON (found by `firstSyntaxError`). `undefined` when
 * none is found (the text parses: the failure was not one of syntax).
 */
export function jsonErrorOffset(text: string, message: string): number | undefined {
  const position = /at position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  if (message.includes("Unexpected end of JSON input")) return text.length;
  return firstSyntaxError(text);
}

/**
 * The offset of the first character at which `text` is no longer the beginning of a JSON text (its length when the
 * text is only cut short), or `undefined` when it is JSON. Run only after JSON.parse refused the text, to say where:
 * a plain loop over the characters (a second or so on the largest manifests) with an explicit stack, so that no
 * nesting overflows it.
 */
export function firstSyntaxError(text: string): number | undefined {
  const end = text.length;
  /** The containers open around `at`: `[` or `{`. */
  const open: string[] = [];
  let at = 0;
  const skipWhitespace = () => {
    while (isWhitespace(text[at])) at++;
  };
  /** Past the string whose quote is at `at`; false at a character no string may hold. */
  const string = (): boolean => {
    for (at++; at < end; at++) {
      const character = text[at]!;
      if (character === '"') {
        at++;
        return true;
      }
      if (character < " ") return false;
      if (character !== "\\") continue;
      at++;
      if (at >= end) return false;
      if (text[at] === "u") {
        for (let digit = 0; digit < 4; digit++) if (!isHex(text[++at])) return false;
      } else if (!'"\\/bfnrt'.includes(text[at]!)) return false;
    }
    return false;
  };
  const digits = (): boolean => {
    if (!isDigit(text[at])) return false;
    while (isDigit(text[at])) at++;
    return true;
  };
  const number = (): boolean => {
    if (text[at] === "-") at++;
    if (text[at] === "0") at++;
    else if (!digits()) return false;
    if (text[at] === ".") {
      at++;
      if (!digits()) return false;
    }
    if (text[at] === "e" || text[at] === "E") {
      at++;
      if (text[at] === "+" || text[at] === "-") at++;
      if (!digits()) return false;
    }
    return true;
  };
  const literal = (word: string): boolean => {
    for (const character of word) {
      if (text[at] !== character) return false;
      at++;
    }
    return true;
  };
  const scalar = (): boolean => {
    const character = text[at];
    if (character === '"') return string();
    if (character === "-" || isDigit(character)) return number();
    if (character === "t") return literal("true");
    if (character === "f") return literal("false");
    if (character === "n") return literal("null");
    return false;
  };
  const closing = (container: string) => (container === "{" ? "}" : "]");
  /** What comes next: a value, or an object's member name (then its colon and value). */
  let expect: "value" | "name" = "value";
  for (;;) {
    skipWhitespace();
    if (expect === "name") {
      if (text[at] !== '"' || !string()) return Math.min(at, end);
      skipWhitespace();
      if (text[at] !== ":") return Math.min(at, end);
      at++;
      expect = "value";
      continue;
    }
    const character = text[at];
    if (character === "{" || character === "[") {
      at++;
      skipWhitespace();
      if (text[at] !== closing(character)) {
        open.push(character);
        expect = character === "{" ? "name" : "value";
        continue;
      }
      at++;
    } else if (!scalar()) return Math.min(at, end);
    // A value ended: close what it ends, then a comma asks for the next one.
    for (;;) {
      skipWhitespace();
      const container = open[open.length - 1];
      if (container === undefined) return at < end ? at : undefined;
      if (text[at] === ",") {
        at++;
        expect = container === "{" ? "name" : "value";
        break;
      }
      if (text[at] !== closing(container)) return Math.min(at, end);
      at++;
      open.pop();
    }
  }
}
