// The PSF program: stack config → validated plan → providers and apps.
import { runProgram } from "./components/program";
import { registry } from "./providers";

const stack = runProgram(registry);

/**
 * The stack outputs: per service what its contracts add (public URL, backup commands); then
 * what contracts add stack-wide, e.g. `accounts` (people's initial credentials, secret:
 * `psf output accounts --show-secrets`), `signIn` (where and as whom, no passwords) and
 * `caPem` (the stack's private CA, to trust in a browser or client).
 */
export = { services: stack.services, ...stack.outputs };
