import * as pulumi from "@pulumi/pulumi";
import { computedOutputs } from "../../cli/mock-outputs";

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
 * plus the computed outputs `psf plan` also uses (cli/mock-outputs.ts).
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
        Object.assign(outputs, computedOutputs(args.type, args.name));
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
