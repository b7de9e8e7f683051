import { spawn, spawnSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** A Redis server the tests may use, and how to let go of it. */
export interface TestRedis {
  /** `redis://host:port` */
  readonly url: string;
  /** Stops the server when these tests started it; otherwise does nothing. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'These tests need a Redis server: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server ' +
  '(Debian/Ubuntu: `apt-get install redis-server`) so the tests can start their own.';

/** True when something answers PING with PONG at host:port within the timeout. */
function ping(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let answer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Finds a Redis for the tests: `REDIS_URL` when set, else 127.0.0.1:6379 when something answers there, else a
 * `redis-server` from PATH started on a free port (no persistence). Throws with install instructions otherwise.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const fromEnv = process.env['REDIS_URL'];
  if (fromEnv) return { url: fromEnv, stop: async () => undefined };
  if (await ping('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => undefined };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new Error(INSTALL_HINT);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (await ping('127.0.0.1', port, 200)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server from PATH did not answer on 127.0.0.1:${port} within 5 s. ${INSTALL_HINT}`);
}
