/**
 * Starts replicas of ./replica-app.ts, each in its own Node process on 127.0.0.1, as a load
 * balancer would see them.
 *
 * @example
 * const replica = await startReplica({ redisUrl: redis.url, introspection: introspectionOptionsFor(issuer), ... });
 * const res = await fetch(`${replica.origin}/echo`, { headers: { authorization: `Bearer ${token}` } });
 * await replica.stop();
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { killOnExit } from './children';
import type { Decision } from '../../lib/core/types';

const SCRIPT = join(__dirname, 'replica-app.ts');
const START_TIMEOUT_MS = 60_000;

export interface ReplicaOptions {
  redisUrl: string;
  introspection: { name: string; endpoint: string; clientId: string; clientSecret: string; issuer: string; audience: string };
  storeTimeoutMs: number;
  retryAfterMs: number;
  dpopOrigin: string;
  /** `false`: a store without setIfAbsent (see replica-app.ts). */
  atomicReplay?: boolean;
  failClosed?: boolean;
  /** `false`: the replica takes Bearer tokens only (no `dpop` option). Default `true`. */
  dpop?: boolean;
}

export interface Replica {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The decisions and package warnings seen since the last call (and forgets them). */
  takeDecisions(): Promise<{ decisions: Decision[]; warnings: string[] }>;
  stop(): Promise<void>;
}

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, REPLICA_CONFIG: JSON.stringify(options) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(`no ready line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`startReplica: ${why}\n${stderr}`));
    }
    const earlyExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited (${signal ?? code}) before it was ready`);
    child.once('exit', earlyExit);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line) {
        clearTimeout(timer);
        child.off('exit', earlyExit);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    async takeDecisions() {
      const res = await fetch(`${origin}/_control/decisions`);
      return (await res.json()) as { decisions: Decision[]; warnings: string[] };
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.stdin.end();
      });
    },
  };
}
