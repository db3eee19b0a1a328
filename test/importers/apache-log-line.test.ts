import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseApacheLogLine, parseApacheTimestamp } from '../../src/importers/apache-log-line.ts';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/30.0';

function line(parts: { time?: string; request?: string; bytes?: string; referrer?: string }) {
  const time = parts.time ?? '17/May/2015:10:05:03 +0000';
  const request = parts.request ?? 'GET /index.html HTTP/1.1';
  const referrer = parts.referrer ?? 'http://example.com/';
  return `198.18.0.2 - - [${time}] "${request}" 200 ${parts.bytes ?? '512'} "${referrer}" "${UA}"`;
}

/** The reason `text` is refused; fails the test when it is accepted. */
function refusal(text: string): string {
  const result = parseApacheLogLine(text);
  assert.equal(typeof result, 'string', `accepted: ${text}`);
  return result as string;
}

describe('parseApacheTimestamp', () => {
  it('reads a +0000 time as that UTC instant', () => {
    const instant = parseApacheTimestamp('17/May/2015:10:05:03 +0000');
    assert.equal(instant?.toISOString(), '2015-05-17T10:05:03.000Z');
  });

  it('subtracts a positive offset: 10:05:03 +0200 is 08:05:03 UTC', () => {
    const instant = parseApacheTimestamp('17/May/2015:10:05:03 +0200');
    assert.equal(instant?.toISOString(), '2015-05-17T08:05:03.000Z');
  });

  it('adds a negative offset, crossing midnight: 22:30 -0530 is 04:00 UTC the next day', () => {
    const instant = parseApacheTimestamp('31/Dec/2015:22:30:00 -0530');
    assert.equal(instant?.toISOString(), '2016-01-01T04:00:00.000Z');
  });

  it('refuses impossible times instead of rolling them over', () => {
    assert.equal(parseApacheTimestamp('31/Apr/2015:10:05:03 +0000'), undefined);
    assert.equal(parseApacheTimestamp('17/May/2015:24:00:00 +0000'), undefined);
    assert.equal(parseApacheTimestamp('17/Mai/2015:10:05:03 +0000'), undefined);
    assert.equal(parseApacheTimestamp('17/May/2015:10:05:03 +0260'), undefined);
    assert.equal(parseApacheTimestamp('17/May/2015:10:05:03'), undefined);
  });
});

describe('parseApacheLogLine', () => {
  it('reads every field of a combined log line', () => {
    const entry = parseApacheLogLine(line({}));

    assert.deepEqual(entry, {
      ip: '198.18.0.2',
      occurredAt: new Date('2015-05-17T10:05:03Z'),
      method: 'GET',
      path: '/index.html',
      protocol: 'HTTP/1.1',
      statusCode: 200,
      bytes: '512',
      referrer: 'http://example.com/',
      userAgent: UA,
    });
  });

  it('turns "-" bytes, referrer and user agent into null', () => {
    const text = '198.18.0.2 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 304 - "-" "-"';
    const entry = parseApacheLogLine(text);

    assert.ok(typeof entry !== 'string');
    assert.equal(entry.bytes, null);
    assert.equal(entry.referrer, null);
    assert.equal(entry.userAgent, null);
  });

  it('keeps escaped quotes inside a quoted field as logged', () => {
    const entry = parseApacheLogLine(line({ referrer: String.raw`http://x/?q=\"a\"` }));

    assert.ok(typeof entry !== 'string');
    assert.equal(entry.referrer, String.raw`http://x/?q=\"a\"`);
  });

  it('accepts an HTTP/0.9 request, which names no protocol', () => {
    const entry = parseApacheLogLine(line({ request: 'GET /' }));

    assert.ok(typeof entry !== 'string');
    assert.equal(entry.path, '/');
    assert.equal(entry.protocol, undefined);
  });

  it('rejects a line cut off inside its user agent, like line 8899 of the real log', () => {
    const cut = line({}).slice(0, -5);
    assert.equal(parseApacheLogLine(cut), 'not an Apache combined log line');
  });

  it('names the problem of a line with a bad time or request', () => {
    assert.match(refusal(line({ time: '99/May/2015:10:05:03 +0000' })), /time/);
    assert.match(refusal(line({ request: '-' })), /request "-"/);
    assert.match(refusal(line({ bytes: 'many' })), /not an Apache/);
    assert.equal(parseApacheLogLine('   '), 'empty line');
  });

  it('refuses a time outside the years reloads cover, after its offset', () => {
    assert.match(
      refusal(line({ time: '31/Dec/1899:23:59:59 +0000' })),
      /is not between 1900-01-01 and 2999-12-31 \(UTC\)/,
    );
    // 23:00 -0100 is midnight of the year 3000 in UTC.
    assert.match(refusal(line({ time: '31/Dec/2999:23:00:00 -0100' })), /is not between/);
    assert.equal(typeof parseApacheLogLine(line({ time: '01/Jan/1900:00:00:00 +0000' })), 'object');
  });
});
