// The goals of issue 10, each printed as met / NOT met / SKIPPED beside the anchor it is
// measured against, and bench/results/summary.json (SPEC §5): the figures, the ratios, every
// goal, what was skipped and why, the machine it ran on, and each section's details.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { ROOT, fmt, run } = require("./lib");
const { pulumiVersion } = require("./pulumi");

const ratio = (a, b) => (a && b ? Number((a / b).toFixed(2)) : null);

async function machine(sections) {
  const docker = await run("docker", [
    "version",
    "--format",
    "{{.Client.Version}} {{.Server.Version}}",
  ]);
  const [client, server] = docker.code === 0 ? docker.stdout.trim().split(" ") : [];
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    docker: client ? { client, server: server ?? null } : null,
    compose: sections.compose?.composeVersion ?? null,
    pulumi: await pulumiVersion(),
  };
}

/** Each goal: `{ section, goal, value, measured, met }`; `met` null: a figure is missing. */
function goals(f, sections) {
  const check = (section, goal, value, measured, ok) => ({
    section,
    goal,
    value,
    measured: value === null || value === undefined ? null : measured,
    met: value === null || value === undefined ? null : ok(value),
  });
  /** A ratio goal: `value` = a / b, at most `limit`. */
  const atMost = (section, goal, value, limit, [la, a], [lb, b]) =>
    check(section, goal, value, `${value}×: ${la} ${fmt(a)}, ${lb} ${fmt(b)}`, (v) => v <= limit);
  const big = sections.scale?.runs?.find((r) => r.services === 50);
  const plan100 = sections.plan?.results?.find((r) => r.services === 100);
  const preview = ["preview", f.noopPreviewMs];
  return [
    atMost(
      "compose",
      "no-op preview ≤ 5× a no-op compose up -d --wait",
      f.noopPreviewVsCompose,
      5,
      preview,
      ["compose", f.composeNoopUpMs],
    ),
    check(
      "compose",
      "no-op preview < 5.8 s",
      f.noopPreviewMs,
      `${fmt(f.noopPreviewMs)}; compose no-op ${fmt(f.composeNoopUpMs)}`,
      (v) => v < 5800,
    ),
    atMost(
      "compose",
      "no-op up within 10% of the no-op preview",
      f.noopUpVsPreview,
      1.1,
      ["up", f.noopUpMs],
      preview,
    ),
    atMost(
      "compose",
      "up from nothing ≤ 1.3× compose up --wait from nothing",
      f.upVsCompose,
      1.3,
      ["psf", f.upFromNothingMs],
      ["compose", f.composeUpFromNothingMs],
    ),
    check(
      "plan",
      "plan 500 < 2.5 s",
      f.plan500Ms,
      `${fmt(f.plan500Ms)}; plan 100 ${fmt(f.plan100Ms)}`,
      (v) => v < 2500,
    ),
    check(
      "validate",
      "validate 500 < 0.5 s",
      f.validate500Ms,
      `${fmt(f.validate500Ms)}; node start alone ${fmt(f.nodeStartMs)}`,
      (v) => v < 500,
    ),
    check(
      "plan",
      "plan 500 peak < 600 MB",
      f.plan500PeakMb,
      `${f.plan500PeakMb} MB; plan 100 ${plan100?.peakMb ?? "-"} MB`,
      (v) => v < 600,
    ),
    atMost(
      "plan",
      "plan 500 ≤ 5.5× plan 100",
      f.plan500Over100,
      5.5,
      ["500", f.plan500Ms],
      ["100", f.plan100Ms],
    ),
    check(
      "scale",
      "a 50-service stack comes up through the real engine",
      big ? big.upMs : sections.scale?.failed ? 0 : null,
      big
        ? `up ${fmt(big.upMs)}, engine ${big.engineMb} MB, language host ${big.languageHostMb} MB`
        : `failed: ${sections.scale?.failed}`,
      (v) => v > 0,
    ),
  ];
}

function figures(sections) {
  const { plan, validate, compose, scale } = sections;
  const psf = compose?.psf;
  const c = compose?.compose;
  const f = {
    noopPreviewMs: psf?.noopPreview.medianMs ?? null,
    noopUpMs: psf?.noopUp.medianMs ?? null,
    upFromNothingMs: psf?.upFromNothing.medianMs ?? null,
    composeNoopUpMs: c?.noopUp?.medianMs ?? null,
    composeUpFromNothingMs: c?.upFromNothing?.medianMs ?? null,
    plan100Ms: plan?.plan100Ms ?? null,
    plan500Ms: plan?.plan500Ms ?? null,
    plan500PeakMb: plan?.plan500PeakMb ?? null,
    validate500Ms: validate?.validate500Ms ?? null,
    nodeStartMs: validate?.nodeStartMs ?? null,
  };
  f.noopPreviewVsCompose = ratio(f.noopPreviewMs, f.composeNoopUpMs);
  f.upVsCompose = ratio(f.upFromNothingMs, f.composeUpFromNothingMs);
  f.noopUpVsPreview = ratio(f.noopUpMs, f.noopPreviewMs);
  f.plan500Over100 = ratio(f.plan500Ms, f.plan100Ms);
  // What a no-op preview spends its time on (bench/preview-profile.js).
  f.noopPreviewProfile = psf?.profile ?? null;
  f.scale = scale?.runs
    ? {
        runs: scale.runs.map(({ services, upMs, noopPreviewMs, engineMb, languageHostMb }) => ({
          services,
          upMs,
          noopPreviewMs,
          engineMb,
          languageHostMb,
        })),
        growth: scale.growth,
      }
    : null;
  return f;
}

/** Prints the goals and writes bench/results/summary.json. */
async function summarize(sections) {
  const f = figures(sections);
  const skipped = Object.fromEntries(
    Object.entries(sections)
      .flatMap(([k, v]) => [
        [k, v?.skipped],
        [`${k}.compose`, v?.compose?.skipped],
      ])
      .filter(([, why]) => why),
  );
  const g = goals(f, sections);
  console.log("\ngoals:");
  for (const x of g) {
    const why = skipped[x.section] ?? skipped[`${x.section}.compose`] ?? "not run";
    const verdict = x.met === null ? `SKIPPED (${why})` : x.met ? "met" : "NOT met";
    console.log(`  ${x.goal}: ${verdict}${x.measured ? ` (${x.measured})` : ""}`);
  }
  const summary = {
    ...f,
    goals: g,
    skipped,
    machine: await machine(sections),
    sections,
  };
  const dir = path.join(ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`\nwrote bench/results/summary.json`);
  return summary;
}

module.exports = { summarize };
