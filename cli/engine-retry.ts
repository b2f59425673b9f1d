import { interrupted } from "./interrupt";
import { progress } from "./prerequisites";
import { RetryPolicy, withRetries } from "./retry";
import { transientEngineCause } from "./transient-failures";

/** An engine run that failed because the Docker engine or a registry dropped a call: again after 5 s, then 15 s. */
export const ENGINE_RETRY: RetryPolicy = {
  attempts: 3,
  firstDelayMs: 5_000,
  factor: 3,
  maxDelayMs: 60_000,
};

/**
 * Runs an engine operation (`up`, the update of `reconcile`), again after a transient failure
 * (transient-failures.ts). Safe: an update is idempotent, the next attempt starts from the
 * state the failed one saved. Not after an interrupt. Throws the last error.
 */
export async function retryEngine<T>(
  label: string,
  run: () => Promise<T>,
  policy: RetryPolicy = ENGINE_RETRY,
): Promise<T> {
  let lastError: unknown;
  const { result } = await withRetries(
    label,
    policy,
    async () => {
      try {
        return { ok: true as const, value: await run() };
      } catch (e) {
        lastError = e;
        const err = e as { commandResult?: { stderr?: string; stdout?: string } };
        const output = `${err.commandResult?.stdout ?? ""}\n${err.commandResult?.stderr ?? ""}`;
        return { ok: false as const, why: "failed", output };
      }
    },
    { transient: transientEngineCause, log: progress, stopped: () => !!interrupted.signal },
  );
  if (result.ok) return result.value;
  throw lastError;
}
