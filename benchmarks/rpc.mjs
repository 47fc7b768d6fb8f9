// The parent drives each child process (key server, app server, memory probe) over the IPC
// channel with numbered request/answer messages.
import { fork } from 'node:child_process';

/** Parent side: forks `script` and returns `call(type, payload)` and `stop()`. */
export function startChild(script, { execArgv = [], env } = {}) {
  const child = fork(script, [], { execArgv, env: env ?? process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 0;
  let exitedWith;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = code ?? signal;
      for (const { reject } of pending.values()) reject(new Error(`${script} exited (${exitedWith}) before answering`));
      pending.clear();
      resolve(exitedWith);
    });
  });
  child.on('message', (message) => {
    const waiter = pending.get(message?.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  const call = (type, payload) =>
    new Promise((resolve, reject) => {
      if (exitedWith !== undefined) return reject(new Error(`${script} has exited (${exitedWith})`));
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.send({ id, type, payload });
    });
  const stop = async () => {
    if (exitedWith !== undefined) return exitedWith;
    call('stop').catch(() => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { pid: child.pid, call, stop };
}

/** Child side: answers the parent's calls with `handlers[type](payload)`; `stop` exits cleanly
 * (so that `--cpu-prof` writes its profile) after `handlers.stop`, if any, has run. */
export function serve(handlers) {
  process.on('message', async ({ id, type, payload }) => {
    try {
      const handler = handlers[type];
      if (!handler && type !== 'stop') throw new Error(`unknown call ${type}`);
      const result = handler ? await handler(payload) : undefined;
      process.send({ id, result }, () => {
        if (type === 'stop') process.exit(0);
      });
    } catch (error) {
      process.send({ id, error: error?.stack ?? String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
