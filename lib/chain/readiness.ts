import { TemporarilyUnavailableError } from '../core/errors';
import type { ReadyReport, SourceReadiness } from '../core/types';
import type { NamedSource } from './source-chain';

/**
 * Telling the operator what the 503s cannot: whether each source can work at all. `ready()` asks
 * every source's `probe` once. While requests fail for a cause the source marks permanent (a
 * configuration mistake), a process warning names the source and the cause, at most once a minute
 * per source and cause. Clients keep getting 503: a token the source could accept is not a bad
 * token, and the fix may be minutes away.
 */

/** How often the same source and cause are warned about again. */
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
   * A request found that `name` cannot work (an attempt failed with a permanent cause): one
   * process warning per source and cause a minute. The cause is the source's own reason, already
   * free of the token; nothing is fetched again to find it.
   */
  warnMisconfigured(name: string, cause: string): void {
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
