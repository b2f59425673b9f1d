/**
 * How old a backup may get before it is an alert: twice the longest gap between two runs of its
 * cron schedule. Computed once per job at plan time from the schedule's fields, over four years and two months
 * (so a schedule on the 29th of February counts its real gap), in UTC as the job runs.
 */
export function maxBackupAgeSeconds(schedule: string): number {
  return 2 * longestGapSeconds(schedule);
}

const RANGES: Array<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** The values one cron field matches (a validated field: numbers, `*`, ranges, steps, lists). */
function values(field: string, [min, max]: [number, number]): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(",")) {
    const [range, step] = part.split("/");
    const [from, to] =
      range === "*"
        ? [min, max]
        : range.includes("-")
          ? range.split("-").map(Number)
          : [Number(range), step ? max : Number(range)];
    for (let v = from; v <= to; v += Number(step ?? 1)) out.add(v);
  }
  return out;
}

/** The longest time between two consecutive runs of a 5-field cron schedule, in seconds. */
export function longestGapSeconds(schedule: string): number {
  const f = schedule.trim().split(/\s+/);
  const [minutes, hours, doms, months, dows] = f.map((x, i) => values(x, RANGES[i]));
  if (dows.has(7)) dows.add(0);
  const times = [...hours]
    .flatMap((h) => [...minutes].map((m) => h * 60 + m))
    .sort((a, b) => a - b);
  // Vixie cron: when both day fields are restricted, a day matching either one runs.
  const domAny = f[2].startsWith("*");
  const dowAny = f[4].startsWith("*");
  const dayRuns = (d: Date) => {
    if (!months.has(d.getUTCMonth() + 1)) return false;
    const dom = doms.has(d.getUTCDate());
    const dow = dows.has(d.getUTCDay());
    return domAny || dowAny ? dom && dow : dom || dow;
  };
  let gap = 0;
  let last: number | undefined;
  for (let t = 1, day = Date.UTC(2024, 0, 1) / 60000; t <= 1600; t++, day += 1440) {
    if (!dayRuns(new Date(day * 60000))) continue;
    if (last !== undefined) gap = Math.max(gap, day + times[0] - last);
    last = day + times[times.length - 1];
  }
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  // A schedule that never runs in four years (31 February) is treated as yearly.
  return (gap || 366 * 1440) * 60;
}
