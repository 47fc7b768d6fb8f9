/**
 * A real `redis-server` for tests: started in a temporary directory on a free loopback port, with
 * persistence off, and killed (directory removed) by `stop()`. `restart()` brings it back on the
 * same port, empty, as after a crash of a cache-only Redis.
 *
 * The binary is `REDIS_SERVER` or `redis-server` on the PATH (`.ci/run` installs it when missing);
 * a missing binary fails the test with a message saying so, never skips it.
 *
 * @example
 * const redis = await startRedis();
 * try {
 *   const keyv = new Keyv(new KeyvRedis(redis.url), { throwOnErrors: true });
 *   // ...
 * } finally {
 *   await redis.stop();
 * }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from './children';

const START_TIMEOUT_MS = 15_000;

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** `false` between `kill()` and `restart()`. */
  readonly alive: boolean;
  /** Kills the server (SIGKILL: a crash, not a shutdown) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** A port the system had free a moment ago; redis-server cannot be told to pick one itself. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the server answers PING on `port`. */
async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    socket.setTimeout(500);
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

function spawnServer(binary: string, port: number, dir: string): ChildProcess {
  // No RDB, no AOF: a cache that starts empty, and nothing written outside `dir`.
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  killOnExit(child);
  return child;
}

async function waitReady(child: ChildProcess, port: number, binary: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const spawned = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT'
            ? `startRedis: ${binary} not found; install redis-server (apt-get install -y redis-server) or set REDIS_SERVER`
            : `startRedis: could not start ${binary}: ${error.message}`,
        ),
      ),
    );
    child.once('exit', (code, signal) => reject(new Error(`startRedis: redis-server exited (${signal ?? code}) before answering: ${stderr}`)));
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  const polling = (async () => {
    while (Date.now() < deadline) {
      if (await answersPing(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`startRedis: no PONG on port ${port} within ${START_TIMEOUT_MS} ms: ${stderr}`);
  })();
  spawned.catch(() => undefined);
  await Promise.race([polling, spawned]);
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts a throwaway redis-server on 127.0.0.1 and resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const binary = process.env.REDIS_SERVER ?? 'redis-server';
  const dir = mkdtempSync(join(tmpdir(), 'multiauth-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined = spawnServer(binary, port, dir);
  try {
    await waitReady(child, port, binary);
  } catch (error) {
    await killChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get alive() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      await killChild(child);
      child = undefined;
    },
    async restart() {
      if (stopped) throw new Error('startRedis: restart() after stop()');
      await killChild(child);
      child = spawnServer(binary, port, dir);
      await waitReady(child, port, binary);
    },
    async stop() {
      stopped = true;
      await killChild(child);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
