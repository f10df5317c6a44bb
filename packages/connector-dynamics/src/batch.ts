/**
 * The OData `$batch` wire format (multipart/mixed of `application/http` messages, with nested
 * change sets), both directions: the connector builds requests and parses answers, the emulator
 * parses requests and builds answers.
 *
 * Written here rather than taken from `dynamics-web-api`: that library only exports its client
 * class (its batch builder and parser are internal and bound to its own HTTP pipeline), and its
 * parser splits on the first line instead of the `Content-Type` boundary and ignores
 * `Content-ID`, which per-record outcome mapping needs.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';

const CRLF = '\r\n';

/** One HTTP request inside a batch. */
export interface BatchRequestPart {
  readonly method: string;
  /** Path or absolute URL, e.g. `/api/data/v9.2/contacts(…)`. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Echoed on the answer part; numbering the parts lets answers be matched to inputs. */
  readonly contentId?: string;
}

/** A request part as parsed by the emulator, with the change set it belongs to. */
export interface ParsedBatchRequestPart extends BatchRequestPart {
  readonly headers: Readonly<Record<string, string>>;
  /** Parts of one change set share this index; independent parts have none. */
  readonly changeSet?: number;
}

/** One HTTP answer inside a batch answer. */
export interface BatchResponsePart {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly contentId?: string;
  readonly changeSet?: number;
}

/** Reads the `boundary` parameter of a multipart `Content-Type`. */
function boundaryOf(contentType: string | null | undefined): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match?.[1] ?? match?.[2];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Splits a multipart body into its parts' raw text (headers + blank line + content). */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = new RegExp(`(?:\\r?\\n|^)--${escapeRegExp(boundary)}(--)?[ \\t]*(?:\\r?\\n|$)`, 'gm');
  const parts: string[] = [];
  let start = -1;
  for (let match = delimiter.exec(body); match !== null; match = delimiter.exec(body)) {
    if (start >= 0) parts.push(body.slice(start, match.index));
    if (match[1] === '--') return parts;
    start = delimiter.lastIndex;
  }
  if (start >= 0) throw new Error(`multipart body has no closing delimiter --${boundary}--`);
  return parts;
}

/** Splits a header block and its content at the first blank line. */
function splitHead(text: string): { head: string[]; content: string } {
  const match = /\r?\n\r?\n/.exec(text);
  if (match === null) return { head: text.split(/\r?\n/).filter((line) => line !== ''), content: '' };
  return { head: text.slice(0, match.index).split(/\r?\n/), content: text.slice(match.index + match[0].length) };
}

function readHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Drops the line break that belongs to the delimiter that followed the content. */
function trimContent(content: string): string {
  return content.replace(/\r?\n$/, '');
}

interface MimePart {
  readonly headers: Record<string, string>;
  readonly content: string;
}

function readMimeParts(body: string, boundary: string): MimePart[] {
  return splitMultipart(body, boundary).map((raw) => {
    const { head, content } = splitHead(raw);
    return { headers: readHeaders(head), content };
  });
}

function walk<T>(body: string, boundary: string, readMessage: (part: MimePart, changeSet: number | undefined) => T): T[] {
  const out: T[] = [];
  let changeSets = 0;
  for (const part of readMimeParts(body, boundary)) {
    const inner = boundaryOf(part.headers['content-type']);
    if (inner !== undefined && /^multipart\/mixed/i.test(part.headers['content-type'] ?? '')) {
      const changeSet = changeSets;
      changeSets += 1;
      for (const item of readMimeParts(part.content, inner)) out.push(readMessage(item, changeSet));
    } else {
      out.push(readMessage(part, undefined));
    }
  }
  return out;
}

/** Parses a `$batch` request body (CRLF or LF, nested change sets). Throws on malformed input. */
export function parseBatchRequest(body: string, contentType: string | null | undefined): ParsedBatchRequestPart[] {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) throw new Error('the $batch Content-Type has no boundary');
  return walk(body, boundary, (part, changeSet) => {
    const { head, content } = splitHead(part.content);
    const [requestLine, ...headerLines] = head;
    const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine ?? '');
    if (match === null) throw new Error(`malformed request line in $batch part: ${JSON.stringify(requestLine ?? '')}`);
    const contentId = part.headers['content-id'];
    const text = trimContent(content);
    return {
      method: match[1] as string,
      url: match[2] as string,
      headers: readHeaders(headerLines),
      ...(text.trim() !== '' ? { body: text } : {}),
      ...(contentId !== undefined ? { contentId } : {}),
      ...(changeSet !== undefined ? { changeSet } : {}),
    };
  });
}

/** Parses a `$batch` answer; the boundary comes from the answer's own `Content-Type`. */
export function parseBatchResponse(body: string, contentType: string | null | undefined): BatchResponsePart[] {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) throw new Error('the $batch answer has no multipart boundary');
  return walk(body, boundary, (part, changeSet) => {
    const { head, content } = splitHead(part.content);
    const [statusLine, ...headerLines] = head;
    const match = /^HTTP\/1\.[01]\s+(\d{3})\s*(.*)$/.exec(statusLine ?? '');
    if (match === null) throw new Error(`malformed status line in $batch answer: ${JSON.stringify(statusLine ?? '')}`);
    const contentId = part.headers['content-id'];
    return {
      status: Number(match[1]),
      statusText: match[2] ?? '',
      headers: readHeaders(headerLines),
      body: trimContent(content),
      ...(contentId !== undefined ? { contentId } : {}),
      ...(changeSet !== undefined ? { changeSet } : {}),
    };
  });
}

function headerLines(headers: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(headers ?? {}).map(([name, value]) => `${name}: ${value}`);
}

/** Builds a `$batch` request of independent parts (no change set). */
export function buildBatchRequest(parts: readonly BatchRequestPart[], boundary = `batch_${randomUUID()}`): { contentType: string; body: string } {
  const lines: string[] = [];
  for (const part of parts) {
    lines.push(`--${boundary}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary');
    if (part.contentId !== undefined) lines.push(`Content-ID: ${part.contentId}`);
    lines.push('', `${part.method} ${part.url} HTTP/1.1`, ...headerLines(part.headers), '', part.body ?? '');
  }
  lines.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join(CRLF) };
}

/** One answer the emulator sends back, optionally inside a change set. */
export interface BatchAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly contentId?: string;
  readonly changeSet?: number;
}

function answerLines(answer: BatchAnswer): string[] {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (answer.contentId !== undefined) lines.push(`Content-ID: ${answer.contentId}`);
  lines.push('', `HTTP/1.1 ${answer.status} ${answer.statusText}`, ...headerLines(answer.headers), '', answer.body ?? '');
  return lines;
}

/** Builds a `$batch` answer with server-chosen boundaries, as Dataverse does. */
export function buildBatchResponse(answers: readonly BatchAnswer[]): { contentType: string; body: string } {
  const boundary = `batchresponse_${randomUUID()}`;
  const lines: string[] = [];
  let index = 0;
  while (index < answers.length) {
    const answer = answers[index] as BatchAnswer;
    if (answer.changeSet === undefined) {
      lines.push(`--${boundary}`, ...answerLines(answer));
      index += 1;
      continue;
    }
    const changeBoundary = `changesetresponse_${randomUUID()}`;
    lines.push(`--${boundary}`, `Content-Type: multipart/mixed; boundary=${changeBoundary}`, '');
    const set = answer.changeSet;
    while (index < answers.length && answers[index]?.changeSet === set) {
      lines.push(`--${changeBoundary}`, ...answerLines(answers[index] as BatchAnswer));
      index += 1;
    }
    lines.push(`--${changeBoundary}--`);
  }
  lines.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join(CRLF) };
}
