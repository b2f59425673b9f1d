import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { requireProgram } from "../support/real";

const DOCS = path.join(__dirname, "..", "..", "docs", "backups.md");

/** The alert rules the backup docs give, as a user copies them. */
function documentedRules(): string {
  const text = fs.readFileSync(DOCS, "utf8");
  const block = /Example alert rules[\s\S]*?```yaml\n([\s\S]*?)```/.exec(text);
  assert.ok(block, "docs/backups.md has an example alert rules block");
  return block[1];
}

describe("the documented backup alert rules (real promtool)", function () {
  let dir: string;
  before(function () {
    requireProgram(this, "promtool");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-alert-rules-"));
    fs.writeFileSync(path.join(dir, "rules.yaml"), documentedRules());
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("pass promtool check rules", () => {
    const r = spawnSync("promtool", ["check", "rules", path.join(dir, "rules.yaml")], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 3 rules found/);
  });

  it("fire for a failed backup, a stale backup and a failed drill, and stay quiet otherwise", () => {
    // Metric values as the jobs write them; time() is 600 s at the 10 min evaluation.
    const tests = {
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            { series: 'psf_backup_last_run_success{service="notes"}', values: "1 1 0x10" },
            { series: 'psf_backup_last_run_success{service="app"}', values: "1x12" },
            // app: last good backup at 0 s, stale after 300 s; fresh: at 500 s, stale after 300 s.
            { series: 'psf_backup_last_success_timestamp_seconds{service="app"}', values: "0x12" },
            { series: 'psf_backup_max_age_seconds{service="app"}', values: "300x12" },
            {
              series: 'psf_backup_last_success_timestamp_seconds{service="fresh"}',
              values: "500x12",
            },
            { series: 'psf_backup_max_age_seconds{service="fresh"}', values: "300x12" },
            { series: 'psf_drill_last_run_success{service="notes"}', values: "0x12" },
            { series: 'psf_drill_last_run_success{service="app"}', values: "1x12" },
          ],
          alert_rule_test: [
            {
              eval_time: "10m",
              alertname: "PsfBackupFailed",
              exp_alerts: [
                {
                  exp_labels: { service: "notes", severity: "critical" },
                  exp_annotations: { summary: "The last backup of notes failed" },
                },
              ],
            },
            {
              eval_time: "10m",
              alertname: "PsfBackupStale",
              exp_alerts: [
                {
                  exp_labels: { service: "app", severity: "critical" },
                  exp_annotations: {
                    summary: "The last good backup of app is older than twice its schedule",
                  },
                },
              ],
            },
            { eval_time: "4m", alertname: "PsfBackupStale", exp_alerts: [] },
            {
              eval_time: "10m",
              alertname: "PsfDrillFailed",
              exp_alerts: [
                {
                  exp_labels: { service: "notes", severity: "critical" },
                  exp_annotations: { summary: "The last restore drill of notes failed" },
                },
              ],
            },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, "tests.yaml"), YAML.stringify(tests));
    const r = spawnSync("promtool", ["test", "rules", "tests.yaml"], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });
});
