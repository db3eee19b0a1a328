/**
 * The SQL Server engine's failure paths with the real driver (tedious) on real sockets: a
 * refused port, a login the server refuses (test/support/tds-responder.ts plays that server),
 * and a server that accepts the connection but never answers. No SQL Server runs here; these
 * are the paths that need none.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';

import type { ConnectionSettings } from '../../src/destinations/destination.ts';
import { openDestination } from '../../src/destinations/open-destination.ts';
import { connectionConfig } from '../../src/destinations/sqlserver/connection.ts';
import { destinationFailure, retryClassOf } from '../../src/destinations/sqlserver/errors.ts';
import { SqlServerDestination } from '../../src/destinations/sqlserver/sqlserver-destination.ts';
import { createLogger, silentLogger } from '../../src/logger.ts';
import { eventTables } from '../../src/mirror/tables.ts';
import { Secret } from '../../src/secret.ts';
import { freePort } from '../support/ports.ts';
import { startTdsResponder } from '../support/tds-responder.ts';
import { assertFails, chunkMark, rowLine, rowsOf } from './postgres-destination-support.ts';

const PASSWORD = 'Tr0ub4dor-&-3-never-shown';

function settings(port: number, overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  return {
    engine: 'SqlServer',
    host: '127.0.0.1',
    port,
    database: 'tracking',
    schema: 'dbo',
    username: 'mirror',
    password: new Secret(PASSWORD),
    useSsl: false,
    ...overrides,
  };
}

/** The error as every channel could show it: message, JSON, inspect (with its cause), a log. */
function everyRendering(error: unknown): string {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  createLogger({ level: 'info', format: 'json', destination: sink }).error(
    { err: error },
    'failed',
  );
  return [String(error), JSON.stringify(error), inspect(error, { depth: 10 }), ...lines].join('\n');
}

describe('openDestination for SqlServer', () => {
  it('opens a SqlServerDestination without connecting', async () => {
    const destination = openDestination(settings(1), silentLogger());

    assert.ok(destination instanceof SqlServerDestination);
    await destination.close();
  });
});

describe('driver settings', () => {
  it('encrypts and checks the certificate with useSsl, and sends nothing encrypted without it', () => {
    const secure = connectionConfig(settings(1433, { useSsl: true })).options!;
    const plain = connectionConfig(settings(1433, { useSsl: false })).options!;

    assert.equal(secure.encrypt, true);
    assert.equal(secure.trustServerCertificate, false);
    assert.equal(plain.encrypt, false);
    assert.equal(secure.connectTimeout, 10_000);
  });
});

describe('a refused port', () => {
  it('fails the connection test fast, saying refused, as transient', async () => {
    const started = Date.now();
    const port = await freePort();

    const error = await assertFails(
      openDestination(settings(port), silentLogger()).testConnection(),
      'CONNECTION_TEST_FAILED',
    );

    assert.equal(error.message, `could not connect to 127.0.0.1:${port}: connection refused`);
    assert.equal(error.status, 400);
    assert.equal(error.retryClass, 'transient');
    assert.ok(Date.now() - started < 5_000);
  });

  it('fails an operation with DESTINATION_FAILED and leaves the source stream destroyed', async () => {
    const port = await freePort();
    const rows = rowsOf([
      rowLine(eventTables.clicks, {
        affiliate_id: 1,
        id: 'c1',
        occurred_at: '2017-11-07T01:00:00Z',
      }),
    ]);
    const range = { from: '2017-11-07T00:00:00Z', toExclusive: '2017-11-08T00:00:00Z' };

    const error = await assertFails(
      openDestination(settings(port), silentLogger()).replaceRange(
        eventTables.clicks,
        1,
        range,
        rows,
        chunkMark(1),
      ),
      'DESTINATION_FAILED',
    );

    assert.match(
      error.message,
      /^replacing clicks of affiliate 1 in \[.*\) failed: could not connect to 127\.0\.0\.1:\d+: connection refused$/,
    );
    assert.equal(rows.destroyed, true);
  });
});

describe('a login the server refuses', async () => {
  const responder = await startTdsResponder('login-failure', 'mirror');
  after(() => responder.close());

  it('fails the connection test as a login failure, unreachable, without the password', async () => {
    const error = await assertFails(
      openDestination(settings(responder.port), silentLogger()).testConnection(),
      'CONNECTION_TEST_FAILED',
    );

    assert.ok(responder.logins() >= 1, 'tedious sent its LOGIN7');
    assert.equal(
      error.message,
      `login to 127.0.0.1:${responder.port} failed: Login failed for user 'mirror'. (SQL Server error 18456)`,
    );
    assert.equal(error.retryClass, 'unreachable');
    assert.doesNotMatch(everyRendering(error), new RegExp(PASSWORD));
  });

  it('fails an operation as DESTINATION_FAILED, unreachable, so retries back off', async () => {
    const error = await assertFails(
      openDestination(settings(responder.port), silentLogger()).ensureTables([eventTables.clicks]),
      'DESTINATION_FAILED',
    );

    assert.match(
      error.message,
      /^creating the mirror tables failed: login to .* failed: Login failed for user 'mirror'\. \(SQL Server error 18456\)$/,
    );
    assert.equal(error.retryClass, 'unreachable');
    assert.doesNotMatch(everyRendering(error), new RegExp(PASSWORD));
  });
});

describe('a server that accepts the connection and never answers', async () => {
  const responder = await startTdsResponder('silent');
  after(() => responder.close());

  it('fails after the connect timeout as transient, saying there was no answer', async () => {
    const error = await assertFails(
      openDestination(settings(responder.port), silentLogger()).testConnection(),
      'CONNECTION_TEST_FAILED',
    );

    assert.match(
      error.message,
      new RegExp(
        `^could not connect to 127\\.0\\.0\\.1:${responder.port}: no answer within 10 s \\(Failed to connect to 127\\.0\\.0\\.1:${responder.port} in 10000ms\\)$`,
      ),
    );
    assert.equal(error.retryClass, 'transient');
  });
});

describe('retry classes by SQL Server error number and driver code', () => {
  const numbered = (number: number) =>
    Object.assign(new Error(`error ${number}`), { number, code: 'EREQUEST' });
  const coded = (code: string, cause?: unknown) =>
    Object.assign(new Error(code, { cause }), { code });

  it('is transient for deadlocks, lock timeouts, timeouts, lost connections and Azure throttling', () => {
    for (const number of [
      1205, 1222, -2, 233, 64, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 50001,
    ]) {
      assert.equal(retryClassOf(numbered(number)), 'transient', `error ${number}`);
    }
    for (const code of ['ETIMEOUT', 'ESOCKET', 'ECONNRESET']) {
      assert.equal(retryClassOf(coded(code)), 'transient', code);
    }
  });

  it('is unreachable for a refused login and a host that does not resolve', () => {
    assert.equal(retryClassOf(numbered(18456)), 'unreachable');
    assert.equal(retryClassOf(coded('ELOGIN')), 'unreachable');
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND db.invalid'), { code: 'ENOTFOUND' });
    assert.equal(
      retryClassOf(coded('ESOCKET', new AggregateError([dns], 'Could not connect'))),
      'unreachable',
    );
    assert.equal(
      retryClassOf(coded('ESOCKET', Object.assign(new Error('x'), { code: 'EAI_AGAIN' }))),
      'unreachable',
    );
  });

  it('is permanent for anything else: a duplicate key, a conversion error, a bad certificate', () => {
    assert.equal(retryClassOf(numbered(2627)), 'permanent');
    assert.equal(retryClassOf(numbered(241)), 'permanent');
    const certificate = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    assert.equal(retryClassOf(coded('ESOCKET', certificate)), 'permanent');
  });

  it('says the server message and number, and scrubs a password the server quoted', () => {
    const quoted = numbered(102);
    quoted.message = `Incorrect syntax near '${PASSWORD}'.`;

    const error = destinationFailure(quoted, settings(1433), 'merging brands of affiliate 7');

    assert.equal(
      error.message,
      "merging brands of affiliate 7 failed: Incorrect syntax near '[redacted]'. (SQL Server error 102)",
    );
    assert.equal(error.retryClass, 'permanent');
  });
});
