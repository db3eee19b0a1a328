/**
 * Reads PostgreSQL COPY text format (the form every source stream of the mirror has) back into
 * rows of strings and NULLs, for destinations that cannot take COPY text as it is. It works on
 * bytes, not characters: tab, newline and backslash are ASCII and never part of a multi-byte
 * UTF-8 sequence, so lines and fields can be cut before decoding, and a character split across
 * two chunks of the stream is decoded only once both halves are there.
 *
 * The format: one row per line, fields separated by a tab, `\N` alone in a field for NULL,
 * and backslash escapes `\\ \t \n \r \b \f \v`, `\NNN` (1 to 3 octal digits) and `\xHH` (1 or 2
 * hex digits) for bytes; a backslash before any other character stands for that character.
 */
import type { Readable } from 'node:stream';

export type CopyTextRow = Array<string | null>;

const TAB = 0x09;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BACKSLASH = 0x5c;
const CAPITAL_N = 0x4e;
const DOT = 0x2e;

const SIMPLE_ESCAPES: Record<number, number> = {
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

/** The input is not COPY text of the expected shape; the line number says where. */
export class CopyTextFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyTextFormatError';
  }
}

/** Refuses bytes that are not UTF-8 instead of turning them into U+FFFD without a word. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isOctal(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x37;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

/** Decodes the escaped bytes `line[start, end)` of one field. */
function unescapeField(line: Buffer, start: number, end: number, lineNumber: number): string {
  const bytes = Buffer.allocUnsafe(end - start);
  let length = 0;
  let at = start;

  while (at < end) {
    const byte = line[at]!;
    if (byte !== BACKSLASH) {
      bytes[length++] = byte;
      at += 1;
      continue;
    }

    const next = line[at + 1];
    if (at + 1 >= end || next === undefined) {
      throw new CopyTextFormatError(`line ${lineNumber}: a field ends with a lone backslash`);
    }

    if (isOctal(next)) {
      let value = 0;
      let digits = 0;
      while (digits < 3 && at + 1 + digits < end && isOctal(line[at + 1 + digits])) {
        value = value * 8 + (line[at + 1 + digits]! - 0x30);
        digits += 1;
      }
      bytes[length++] = value & 0xff;
      at += 1 + digits;
    } else if (next === 0x78 && at + 2 < end && hexValue(line[at + 2]) >= 0) {
      let value = hexValue(line[at + 2]);
      let used = 3;
      if (at + 3 < end && hexValue(line[at + 3]) >= 0) {
        value = value * 16 + hexValue(line[at + 3]);
        used = 4;
      }
      bytes[length++] = value;
      at += used;
    } else {
      bytes[length++] = SIMPLE_ESCAPES[next] ?? next;
      at += 2;
    }
  }

  return decode(bytes.subarray(0, length), lineNumber);
}

function decode(bytes: Uint8Array, lineNumber: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CopyTextFormatError(`line ${lineNumber}: a field is not valid UTF-8`);
  }
}

/** Splits one line (without its newline) into fields; `\N` alone is NULL. */
export function parseLine(line: Buffer, columnCount: number, lineNumber: number): CopyTextRow {
  const row: CopyTextRow = [];
  let start = 0;
  let escaped = false;

  for (let at = 0; at <= line.length; at += 1) {
    const byte = at < line.length ? line[at] : TAB;
    if (byte === BACKSLASH) {
      if (at + 1 >= line.length) {
        throw new CopyTextFormatError(`line ${lineNumber}: the line ends with a lone backslash`);
      }
      escaped = true;
      at += 1; // the escaped byte can be a tab: it never ends the field
      continue;
    }
    if (byte !== TAB) continue;

    const isNull = at - start === 2 && line[start] === BACKSLASH && line[start + 1] === CAPITAL_N;
    if (isNull) row.push(null);
    else if (escaped) row.push(unescapeField(line, start, at, lineNumber));
    else row.push(decode(line.subarray(start, at), lineNumber));

    start = at + 1;
    escaped = false;
  }

  if (row.length !== columnCount) {
    throw new CopyTextFormatError(
      `line ${lineNumber}: ${row.length} fields where ${columnCount} columns were expected`,
    );
  }
  return row;
}

/**
 * Yields the rows of a COPY text stream one at a time. The next chunk is read only when the
 * rows of the chunks before it have been taken, so a slow consumer slows the source down and
 * no more than one row plus one chunk is ever held. A line `\.` ends the data, as in COPY.
 */
export async function* parseCopyText(
  stream: Readable | AsyncIterable<Buffer | string>,
  columnCount: number,
): AsyncGenerator<CopyTextRow> {
  let pending: Buffer[] = [];
  let lineNumber = 0;

  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    let newline = bytes.indexOf(NEWLINE, start);

    while (newline !== -1) {
      const piece = bytes.subarray(start, newline);
      const line = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      lineNumber += 1;

      const end = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? -1 : undefined;
      const content = end === undefined ? line : line.subarray(0, end);
      if (content.length === 2 && content[0] === BACKSLASH && content[1] === DOT) return;
      yield parseLine(content, columnCount, lineNumber);

      start = newline + 1;
      newline = bytes.indexOf(NEWLINE, start);
    }

    // The rest of a line continues in the next chunk; kept as pieces, joined once complete.
    if (start < bytes.length) pending.push(bytes.subarray(start));
  }

  if (pending.length > 0) {
    throw new CopyTextFormatError(`line ${lineNumber + 1}: the data ends without a newline`);
  }
}
