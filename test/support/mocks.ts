import * as pulumi from "@pulumi/pulumi";

/** A resource the program declared, as the engine would receive it. */
export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Names of the inputs that are secrets. */
  secretInputs: string[];
  parent?: string;
}

const declared: Declared[] = [];

/**
 * Installs Pulumi mocks that record every resource. Mocks return the inputs as state,
 * plus plausible values for computed outputs our code reads (ids, names, PEMs).
 * Call before the program is evaluated.
 */
export function installMocks(stack = "dev", project = "psf"): Declared[] {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        declared.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          secretInputs: [],
        });
        const outputs: Record<string, any> = { ...args.inputs };
        outputs.name ??= args.name;
        if (args.type === "random:index/randomPassword:RandomPassword") outputs.result = `mock-password-${args.name}`;
        if (args.type === "random:index/randomBytes:RandomBytes") outputs.base64 = Buffer.from(args.name).toString("base64");
        if (args.type.startsWith("tls:")) {
          outputs.privateKeyPem = `-----BEGIN PRIVATE KEY-----\nmock-${args.name}\n-----END PRIVATE KEY-----\n`;
          outputs.certPem = `-----BEGIN CERTIFICATE-----\nmock-${args.name}\n-----END CERTIFICATE-----\n`;
          outputs.certRequestPem = "mock-csr";
          outputs.publicKeyPem = "mock-public";
        }
        if (args.type === "docker:index/remoteImage:RemoteImage") outputs.imageId = `sha256:mock-${args.name}`;
        return { id: `${args.name}-id`, state: outputs };
      },
      call: (args) => args.inputs,
    },
    project,
    stack,
    false,
  );
  return declared;
}

/** Forgets what was recorded (between evaluations). */
export function resetDeclared(): void {
  declared.length = 0;
}

export function recorded(): Declared[] {
  return declared;
}

/** Resolves an Output in a mocked program (plain values pass through). */
export function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T | undefined> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Whether an Output is a Pulumi secret. */
export function isSecret(o: pulumi.Input<unknown> | undefined): Promise<boolean> {
  return pulumi.isSecret(pulumi.output(o));
}

/** Waits until the mocked engine has seen every resource the program declared. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
}
