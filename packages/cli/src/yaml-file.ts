/**
 * Reads a YAML file (job or accounts) and keeps enough of the document to say on which line a
 * path inside it sits, so that every error can point the user at the right place.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { err, ok, type Result } from 'neverthrow';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { describeThrown, invalidInput, type CliError } from './cli-error.js';

/** A parsed YAML file. */
export interface YamlFile {
  /** The path as the user gave it; messages show it as is. */
  readonly path: string;
  /** The plain data (maps become objects). */
  readonly data: unknown;
  /** The 1-based line where the value at `path` (object keys and array indexes) starts, if known. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** A path inside a document, as users read it: `fields[2].conversion`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(top level)' : text;
}

/**
 * Reads and parses `path`. A missing file or a syntax error is an input error naming the file,
 * and for syntax errors the line and column.
 */
export function readYamlFile(path: string, what: string): Result<YamlFile, CliError> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : describeThrown(thrown);
    return err(invalidInput(`${path}: cannot read the ${what}: ${reason}`));
  }
  return parseYamlText(text, path);
}

/** The yaml library's guard against alias bombs: at most this many nodes per alias expansion. */
const MAX_ALIAS_COUNT = 100;

/** Parses YAML text that came from `path` (used for messages only). */
/** Parses YAML `text` as if read from `path` (messages name `path`). */
export function parseYamlText(text: string, path: string): Result<YamlFile, CliError> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const first = document.errors[0];
  if (first !== undefined) {
    const position = first.linePos?.[0];
    const where = position === undefined ? '' : ` line ${position.line}, column ${position.col}:`;
    const reason = (first.message.split('\n')[0] ?? first.message).replace(/ at line \d+, column \d+:?$/, '');
    return err(invalidInput(`${path}:${where} invalid YAML: ${reason}`));
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (thrown) {
    // The yaml library throws (a ReferenceError) when aliases expand past maxAliasCount: an
    // "alias bomb" (billion laughs) would otherwise take all memory.
    if (thrown instanceof ReferenceError && /alias/i.test(thrown.message)) {
      return err(
        invalidInput(
          `${path}: invalid YAML: its aliases (*name) expand to too many nodes (the limit is ${MAX_ALIAS_COUNT} alias uses times their size), as an "alias bomb" does; write the values out instead of nesting aliases of aliases.`,
        ),
      );
    }
    return err(invalidInput(`${path}: invalid YAML: ${describeThrown(thrown)}`));
  }
  return ok({
    path,
    data,
    lineOf: (at) => lineOf(document, lineCounter, at),
  });
}

function lineOf(document: Document, lineCounter: LineCounter, path: readonly (string | number)[]): number | undefined {
  // Down to the first key, not the document root: a missing top-level key has no line of its own.
  for (let length = path.length; length >= 1; length -= 1) {
    const node = document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}
