import { Issue, formatIssues } from "../components/errors";

export const EXIT_INVALID = 2;

/** Prints issues: one per problem on stderr, or the SPEC's JSON shape on stdout. */
export function reportIssues(issues: Issue[], json: boolean): void {
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          valid: false,
          errors: issues.map(({ path, message, hint }) => ({ path, message, hint })),
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    process.stderr.write(formatIssues(issues) + "\n");
    process.stderr.write(`${issues.length} problem${issues.length === 1 ? "" : "s"} found\n`);
  }
}
