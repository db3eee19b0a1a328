/**
 * A minimal stand-in for a SQL Server login, for the driver's failure paths only: it speaks
 * just enough TDS (the protocol tedious talks) to make tedious's real code run. It is a test
 * double, not a server: it answers PRELOGIN with "encryption not supported" and LOGIN7 with
 * an ERROR token (18456, "Login failed for user ...") followed by DONE, so tedious takes the
 * path a wrong password takes on a real server. In `silent` mode it accepts connections and
 * never answers, like a host whose SQL Server hangs.
 *
 * TDS packets: an 8-byte header (type, status with 0x01 = end of message, big-endian length
 * including the header, SPID, packet id, window), then the payload.
 */
import net from 'node:net';

const PACKET_TABULAR_RESULT = 0x04;
const PACKET_PRELOGIN = 0x12;
const PACKET_LOGIN7 = 0x10;
const STATUS_END_OF_MESSAGE = 0x01;
const TOKEN_ERROR = 0xaa;
const TOKEN_DONE = 0xfd;
const DONE_ERROR = 0x0002;

export interface TdsResponder {
  port: number;
  /** How many LOGIN7 messages arrived: proves the client got as far as logging in. */
  logins(): number;
  close(): Promise<void>;
}

function packet(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt8(STATUS_END_OF_MESSAGE, 1);
  header.writeUInt16BE(8 + payload.length, 2);
  header.writeUInt8(1, 6);
  return Buffer.concat([header, payload]);
}

/** PRELOGIN answer: VERSION (6 bytes) and ENCRYPTION = NOT_SUP (0x02), then the terminator. */
function preloginResponse(): Buffer {
  const options = Buffer.from([
    0x00,
    0x00,
    0x0b,
    0x00,
    0x06, // VERSION at offset 11, 6 bytes
    0x01,
    0x00,
    0x11,
    0x00,
    0x01, // ENCRYPTION at offset 17, 1 byte
    0xff,
  ]);
  const version = Buffer.from([0x10, 0x00, 0x07, 0xd0, 0x00, 0x00]); // 16.0.2000
  return packet(PACKET_TABULAR_RESULT, Buffer.concat([options, version, Buffer.from([0x02])]));
}

function usVarChar(text: string): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16LE(text.length, 0);
  return Buffer.concat([length, Buffer.from(text, 'ucs2')]);
}

function bVarChar(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'ucs2')]);
}

/** ERROR token (number, state, class, message, server, procedure, line) and a DONE token. */
function loginFailedResponse(user: string): Buffer {
  const body = Buffer.concat([
    Buffer.from(new Uint32Array([18456]).buffer),
    Buffer.from([1, 14]), // state 1, class 14
    usVarChar(`Login failed for user '${user}'.`),
    bVarChar('tds-responder'),
    bVarChar(''),
    Buffer.from(new Uint32Array([1]).buffer),
  ]);
  const error = Buffer.concat([Buffer.from([TOKEN_ERROR]), Buffer.alloc(2), body]);
  error.writeUInt16LE(body.length, 1);

  const done = Buffer.alloc(13);
  done.writeUInt8(TOKEN_DONE, 0);
  done.writeUInt16LE(DONE_ERROR, 1);
  return packet(PACKET_TABULAR_RESULT, Buffer.concat([error, done]));
}

/** Starts a responder on a free loopback port. `user` is quoted in the login error. */
export async function startTdsResponder(
  mode: 'login-failure' | 'silent',
  user = 'mirror',
): Promise<TdsResponder> {
  let logins = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'silent') return;

    let pending = Buffer.alloc(0);
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 8 && pending.length >= pending.readUInt16BE(2)) {
        const type = pending.readUInt8(0);
        pending = pending.subarray(pending.readUInt16BE(2));
        if (type === PACKET_PRELOGIN) socket.write(preloginResponse());
        if (type === PACKET_LOGIN7) {
          logins += 1;
          socket.write(loginFailedResponse(user));
        }
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    logins: () => logins,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
