import { TemporarilyUnavailableError } from '../core/errors';
import type { ReadyReport, SourceReadiness } from '../core/types';
import type { NamedSource } from './source-chain';

/**
 * Telling the operator what the 503s cannot: whether each source can work at all. `ready()` asks
 * every source's `probe` once; while requests fail, the failing source is probed again at most
 * once a minute, and a configuration mistake found that way becomes a process warning (at most
 * once a minute per source and cause). Clients keep getting 503: a token the source could accept
 * is not a bad token, and the fix may be minutes away.
 */

/** How often a failing source is probed again, and the same cause warned about again. */
export const WARNING_INTERVAL_MS = 60_000;
/** Time limit of one probe unless `ready()` is told otherwise. */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
/** Process-warning code of a source that cannot work. */
export const MISCONFIGURED_WARNING = 'MULTIAUTH_SOURCE_MISCONFIGURED';

async function probeOne(source: NamedSource, timeoutMs: number): Promise<SourceReadiness> {
  const started = performance.now();
  const done = (status: SourceReadiness['status'], detail: string): SourceReadiness => ({
    source: source.name,
    status,
    detail,
    durationMs: performance.now() - started,
  });
  const probe = source.verifier.probe;
  if (typeof probe !== 'function') return done('unchecked', 'the source has no probe()');
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const detail = await Promise.race([
      probe.call(source.verifier, { signal: controller.signal }),
      new Promise<never>((_resolve, reject) => {
        controller.signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true });
      }),
    ]);
    return done('ok', typeof detail === 'string' ? detail : 'answered');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return done(error instanceof TemporarilyUnavailableError && error.permanent ? 'misconfigured' : 'unreachable', message);
  } finally {
    clearTimeout(timer);
  }
}

/** `ready()` and the warnings, for one `multiAuth`'s sources. */
export class Readiness {
  readonly #sources: readonly NamedSource[];
  /** When each source was last probed because it failed. */
  readonly #probedAt = new Map<string, number>();
  /** When each source-and-cause was last warned about. */
  readonly #warnedAt = new Map<string, number>();

  constructor(sources: readonly NamedSource[]) {
    this.#sources = sources;
  }

  /** Asks every source once, in parallel; the report lists them in chain order. */
  async report(timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<ReadyReport> {
    const sources = await Promise.all(this.#sources.map((source) => probeOne(source, timeoutMs)));
    return { ready: sources.every((s) => s.status === 'ok' || s.status === 'unchecked'), sources };
  }

  /**
   * Called for each attempt that failed. Probes that source in the background, at most once a
   * minute, and warns when it finds a configuration mistake. Never throws, never delays the answer.
   */
  noticeFailure(name: string): void {
    const now = Date.now();
    const last = this.#probedAt.get(name);
    if (last !== undefined && now - last < WARNING_INTERVAL_MS) return;
    const source = this.#sources.find((s) => s.name === name);
    if (!source || typeof source.verifier.probe !== 'function') return;
    this.#probedAt.set(name, now);
    void probeOne(source, DEFAULT_PROBE_TIMEOUT_MS).then((state) => {
      if (state.status === 'misconfigured') this.#warn(name, state.detail);
    });
  }

  #warn(name: string, cause: string): void {
    const now = Date.now();
    const key = `${name}\n${cause}`;
    const last = this.#warnedAt.get(key);
    if (last !== undefined && now - last < WARNING_INTERVAL_MS) return;
    // Causes are few per source; forgetting old ones keeps the map small if messages vary.
    for (const [k, at] of this.#warnedAt) if (now - at >= WARNING_INTERVAL_MS) this.#warnedAt.delete(k);
    this.#warnedAt.set(key, now);
    process.emitWarning(
      `express-multiauth: source "${name}" cannot work: ${cause}. Requests it could accept get 503 until this is fixed`,
      { code: MISCONFIGURED_WARNING },
    );
  }
}
