import { strict as assert } from "assert";
import { RawConfig } from "../../components/config";
import { ProviderDefinition } from "../../components/provider";
import { Workload } from "../../components/workload";
import { DatabaseRequest } from "../../providers/database/contract";
import type { DatabaseServer } from "../../providers/database/server-component";
import { declareServer } from "../support/mocked-provider";
import { isSecret, valueOf } from "../support/mocks";

/** What one engine's server looks like from outside (the test's own expectations). */
export interface ExpectedServer {
  /** The image the provider asks for by default, as `key=image`. */
  image: string;
  dataDir: string;
  superuserEnv: string;
  provisionFile: string;
  /** The URL the fixture's `notes` request gets. */
  notesUrl: string;
}

/**
 * Builds a database provider from its fixture in the mocked engine and checks what every
 * database server is: one stateful workload on its data volume, with the image it asked for,
 * reached over the network only, the superuser's password a secret in its env, a secret 0600
 * provisioning file the reload command applies, and per request a host and port, a secret
 * password and URL, and a dump command a person copies. The workload, the commands it asked
 * the target to exec, and the server, for the engine's own checks.
 */
export async function declaredDatabaseServer<Settings extends { port: number; dataSize?: string }>(
  definition: ProviderDefinition<DatabaseRequest, Settings>,
  raw: RawConfig,
  settings: Settings,
  expected: ExpectedServer,
): Promise<{
  w: Workload;
  execs: Array<{ cmd: string[]; stdin?: boolean }>;
  server: DatabaseServer;
}> {
  const { workload: w, execs, images, instance } = await declareServer(definition, raw, settings);
  const [key, image] = expected.image.split("=");
  assert.deepEqual(images, [expected.image]);
  assert.equal(w.image, `registry.local/${image}`);
  assert.equal(w.stateful, true);
  assert.deepEqual(w.volumes, [
    {
      volume: { owner: key, name: "data" },
      mountPath: expected.dataDir,
      size: settings.dataSize,
    },
  ]);
  assert.deepEqual(
    w.ports!.map((p) => [p.containerPort, p.hostPort]),
    [[settings.port, undefined]],
    "reached over the network only",
  );
  assert.deepEqual(Object.keys(w.secretEnv!), [expected.superuserEnv]);
  assert.equal(await isSecret(w.secretEnv![expected.superuserEnv]), true);
  assert.equal(w.env?.[expected.superuserEnv], undefined);
  const [file] = w.files!;
  assert.deepEqual([file.path, file.secret, file.mode], [expected.provisionFile, true, 0o600]);
  assert.equal(await isSecret(file.content), true);
  assert.ok(w.reloadCommand!.join(" ").includes(expected.provisionFile));

  const server = instance as DatabaseServer;
  const notes = server.results.notes;
  assert.equal(await valueOf(notes.host), "db.internal");
  assert.equal(await valueOf(notes.port), settings.port);
  assert.equal(await isSecret(notes.password), true);
  assert.equal(await isSecret(notes.url), true);
  assert.equal(await valueOf(notes.url), expected.notesUrl);
  assert.equal(await isSecret(notes.dumpCommand), false, "a command a person copies");
  return { w, execs, server };
}
