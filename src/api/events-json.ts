import { AppError } from '../errors.ts';

/**
 * The JSON body parser of the events routes. `JSON.parse` turns every number into a double,
 * which cannot hold an amount such as 12345678901234.5678; Node 20 has no way to see a
 * number's source text from JSON.parse. So before parsing, every JSON number given as the
 * value of an `"amount"` key is turned into a JSON string of the same digits.
 *
 * Only a key can be followed by a colon, and an unescaped `"amount"` cannot occur inside a
 * string, so the rewrite touches amounts only. It never makes invalid JSON valid: the
 * lookahead requires the number to end where a JSON value ends.
 */
const AMOUNT_NUMBER =
  /"amount"(\s*):(\s*)(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)(?=\s*[,}])/g;

/**
 * Parses an events body with amounts kept as their exact text. An empty body reads as none,
 * as on every route (a DELETE often comes with a JSON content type and nothing else). A
 * `__proto__` key stays an ordinary own property with `JSON.parse`, and the item checks
 * refuse it as an unknown field.
 */
export function parseEventsJson(text: string): unknown {
  if (text.trim() === '') return undefined;

  try {
    return JSON.parse(text.replace(AMOUNT_NUMBER, '"amount"$1:$2"$3"'));
  } catch (error: unknown) {
    const reason = error instanceof SyntaxError ? `: ${error.message}` : '.';
    throw new AppError('BODY_MALFORMED', `The request body is not valid JSON${reason}`);
  }
}
