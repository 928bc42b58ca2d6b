// parseJsonWithPosition: JSON.parse, but a syntax error reports the same line, column and offset in every
// browser (V8, SpiderMonkey and JavaScriptCore word and place their errors differently; Safari gives none).
// On failure a small iterative scanner (no recursion: a 50 MB file of '[' must not overflow the stack) finds
// the first offending character. It runs only after JSON.parse has already refused the text.

import { SessionImportError } from './validate';

export class SessionParseError extends SessionImportError {
  override name = 'SessionParseError';
  constructor(
    /** 0-based offset in the text (UTF-16 code units). */
    readonly offset: number,
    /** 1-based. */
    readonly line: number,
    /** 1-based. */
    readonly column: number,
    readonly detail: string,
  ) {
    super(`not valid JSON at line ${line}, column ${column} (offset ${offset}): ${detail}`);
  }
}

export function parseJsonWithPosition(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const found = findJsonError(text) ?? { offset: 0, detail: e instanceof Error ? e.message : String(e) };
    const { line, column } = lineColumn(text, found.offset);
    throw new SessionParseError(found.offset, line, column, found.detail);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** The first syntax error of `text` (null when it is valid JSON). Exported for tests. */
export function findJsonError(text: string): { offset: number; detail: string } | null {
  // Expectation stack: what may come next. 'value' = any value; in a container we expect ',' or its closer.
  const stack: ('array' | 'object')[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const err = (detail: string) => ({ offset: i, detail: i >= text.length ? `${detail}, got the end of the text` : `${detail}, got ${JSON.stringify(text[i])}` });
  const readString = (): boolean => {
    // at '"'; a hand loop, not a regex: a regex over a 10 MB string can exhaust the backtracking stack
    for (i++; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return true;
      }
      if (code < 0x20) return false;
      if (code === 0x5c) {
        const e = text[++i];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) return false;
          i += 4;
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) return false;
      }
    }
    return false;
  };
  type State = 'value' | 'afterValue' | 'key' | 'firstKeyOrEnd' | 'firstValueOrEnd';
  let state: State = 'value';
  for (;;) {
    skip();
    const c = text[i];
    if (state === 'value' || state === 'firstValueOrEnd') {
      if (state === 'firstValueOrEnd' && c === ']') {
        i++;
        stack.pop();
        state = 'afterValue';
        continue;
      }
      if (c === '{') {
        i++;
        stack.push('object');
        state = 'firstKeyOrEnd';
      } else if (c === '[') {
        i++;
        stack.push('array');
        state = 'firstValueOrEnd';
      } else if (c === '"') {
        if (!readString()) return err('bad string: unescaped control character, bad escape or no closing quote');
        state = 'afterValue';
      } else if (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) {
        NUMBER.lastIndex = i;
        if (!NUMBER.exec(text)) return err('bad number');
        i = NUMBER.lastIndex;
        state = 'afterValue';
      } else {
        const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
        if (!word) return err('expected a value');
        i += word.length;
        state = 'afterValue';
      }
    } else if (state === 'key' || state === 'firstKeyOrEnd') {
      if (state === 'firstKeyOrEnd' && c === '}') {
        i++;
        stack.pop();
        state = 'afterValue';
        continue;
      }
      if (c !== '"') return err('expected a property name in double quotes');
      if (!readString()) return err('bad string: unescaped control character, bad escape or no closing quote');
      skip();
      if (text[i] !== ':') return err("expected ':'");
      i++;
      state = 'value';
    } else {
      const top = stack[stack.length - 1];
      if (top === undefined) return i >= text.length ? null : err('expected the end of the text');
      if (c === ',') {
        i++;
        state = top === 'object' ? 'key' : 'value';
      } else if ((top === 'object' && c === '}') || (top === 'array' && c === ']')) {
        i++;
        stack.pop();
      } else return err(top === 'object' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
}
