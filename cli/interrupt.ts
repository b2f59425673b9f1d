import type * as automation from "@pulumi/pulumi/automation";

/** Exit code of an engine command stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** How long the engine has to say it saw a Ctrl-C itself before psf passes one on. */
const ECHO_MS = 1500;

/**
 * Runs one engine operation so that Ctrl-C (SIGINT) or SIGTERM stops it cleanly: the engine
 * is asked to cancel (the Automation API's abort signal sends the CLI one SIGINT), lets the
 * steps in flight finish and saves the state, so the next run starts from a consistent stack.
 *
 * A Ctrl-C at a terminal reaches the engine too (same process group), and a second SIGINT makes
 * it terminate at once, possibly mid-step. So psf passes the signal on only when the engine has
 * not announced its own cancel within a moment (a `kill -INT <psf>` from a supervisor).
 * Further signals are reported and otherwise ignored: the engine is finishing.
 */
export async function interruptible<T>(
  run: (signal: AbortSignal, onEvent: (e: automation.EngineEvent) => void) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let engineCancelling = false;
  let received = 0;
  const onEvent = (e: automation.EngineEvent) => {
    if (/\^C received; cancelling/.test(e.stdoutEvent?.message ?? "")) engineCancelling = true;
  };
  const onSignal = (name: NodeJS.Signals) => {
    received += 1;
    interrupted.signal = name;
    if (received > 1) {
      process.stderr.write(`psf: ${name} again: still waiting for the engine to save the state\n`);
      return;
    }
    process.stderr.write(
      `psf: ${name}: cancelling; the engine finishes the steps in flight and saves the state\n`,
    );
    setTimeout(() => {
      if (!engineCancelling) abort.abort();
    }, ECHO_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await run(abort.signal, onEvent);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The signal that interrupted the last interruptible run, if one did. */
export const interrupted: { signal?: NodeJS.Signals } = {};
