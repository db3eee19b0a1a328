import net from 'node:net';

/**
 * A loopback port nothing listens on now: bound once, then released. Tests that start a server
 * on a port of their own take one from here, never a fixed number: fixed numbers in the
 * kernel's ephemeral range (32768-60999) collide with the port-0 listeners and outgoing
 * connections of the test files that run alongside.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
