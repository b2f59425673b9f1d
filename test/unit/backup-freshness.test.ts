import { strict as assert } from "assert";
import { parseStatus, describe as describeStatus, StatusRecord } from "../../cli/backup-status";
import { longestGapSeconds, maxBackupAgeSeconds } from "../../providers/backup/freshness";

const H = 3600;
const D = 86400;

describe("backup freshness: the longest gap of a cron schedule", () => {
  it("is a day for a daily job, a week for a weekly one, and twice that is the alert age", () => {
    assert.equal(longestGapSeconds("0 3 * * *"), D);
    assert.equal(longestGapSeconds("30 2 * * 0"), 7 * D);
    assert.equal(maxBackupAgeSeconds("0 3 * * *"), 2 * D);
  });

  it("counts the longest gap, not the usual one", () => {
    assert.equal(longestGapSeconds("*/15 * * * *"), 15 * 60);
    // 03:00 and 15:00 every day: 12 h either way.
    assert.equal(longestGapSeconds("0 3,15 * * *"), 12 * H);
    // Weekdays only: Friday 03:00 to Monday 03:00.
    assert.equal(longestGapSeconds("0 3 * * 1-5"), 3 * D);
    // 01:00, 02:00 and 23:00: from 02:00 to 23:00 is 21 h.
    assert.equal(longestGapSeconds("0 1,2,23 * * *"), 21 * H);
    // The 1st of each month: the longest months have 31 days.
    assert.equal(longestGapSeconds("0 5 1 * *"), 31 * D);
    // On the 29th of February only: from 2024 to 2028.
    assert.equal(longestGapSeconds("0 0 29 2 *"), (4 * 365 + 1) * D);
  });

  it("runs on a day matching either day field when both are restricted (as cron does)", () => {
    // The 1st of the month or any Monday: never more than 7 days apart.
    assert.equal(longestGapSeconds("0 0 1 * 1"), 7 * D);
  });
});

describe("psf status: backup status records and their alerts", () => {
  const now = 1_700_000_000;
  const record = (r: Partial<StatusRecord>): string =>
    JSON.stringify({
      service: "notes",
      kind: "backup",
      result: "ok",
      timestamp: now - 3 * H,
      snapshot: "notes-2023-11-14T19:00:00",
      sizeBytes: 12_300_000,
      durationSeconds: 40,
      summary: "",
      error: null,
      maxAgeSeconds: 2 * D,
      lastOk: {
        timestamp: now - 3 * H,
        sizeBytes: 12_300_000,
        snapshot: "notes-2023-11-14T19:00:00",
      },
      ...r,
    });

  it("shows a good backup and drill with their age and size, and no alert", () => {
    const s = parseStatus(
      `${record({})}\n${record({ kind: "drill", timestamp: now - 2 * D, summary: "9 files checked" })}\n`,
      now,
    );
    assert.deepEqual(s.alerts, []);
    assert.deepEqual(describeStatus(s, now), {
      backup: "ok 3 h ago, 12.3 MB (notes-2023-11-14T19:00:00)",
      drill: "passed 2 d ago (notes-2023-11-14T19:00:00)",
    });
  });

  it("flags a failed backup, a stale last good backup and a failed drill", () => {
    const s = parseStatus(
      [
        record({
          result: "failed",
          timestamp: now - H,
          error: "the database dump failed (exit 1); no archive was made",
          lastOk: { timestamp: now - 3 * D, sizeBytes: 5, snapshot: "notes-old" },
        }),
        record({
          kind: "drill",
          result: "failed",
          error: "drill of notes-old failed: table public.notes: 2 rows at backup time, 1 restored",
        }),
      ].join("\n"),
      now,
    );
    assert.deepEqual(s.alerts, [
      "backup failed: the database dump failed (exit 1); no archive was made",
      "last good backup is 3 d old (stale after 2 d)",
      "drill failed: drill of notes-old failed: table public.notes: 2 rows at backup time, 1 restored",
    ]);
    assert.equal(describeStatus(s, now).backup, "FAILED 1 h ago; last good 3 d ago, 5 B");
  });

  it("flags a backup that never succeeded, and a line that is not a record", () => {
    const s = parseStatus(
      `${record({ result: "failed", error: "x", lastOk: null })}\nnot json\n`,
      now,
    );
    assert.deepEqual(s.alerts, ["backup failed: x", "unreadable status record"]);
    assert.match(describeStatus(s, now).backup, /never succeeded/);
  });
});
