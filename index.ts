// The PSF program: stack config → validated plan → providers and apps.
import { runProgram } from "./components/program";
import { registry } from "./providers";

const stack = runProgram(registry);

/** Per service: its public URL and backup/restore commands. */
export const services = stack.services;
/** Initial sign-in credentials of the people in psf:users (secret: `pulumi stack output accounts --show-secrets`). */
export const accounts = stack.accounts;
/** Where and as whom to sign in (no passwords), for `psf up`'s closing lines. */
export const signIn = stack.signIn;
/** The stack's private CA (self-signed certificates), to trust in a browser or client. */
export const caPem = stack.caPem;
