import { randomBytes } from 'node:crypto';
import os from 'node:os';

/** Names this process in executions, chunk records and logs: host, pid and a random suffix. */
export const workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
