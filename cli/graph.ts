import type { Plan } from "../components/plan";
import { EXIT_INVALID, reportIssues } from "./output";
import { SourceOptions, checkSource } from "./source";

interface Edge {
  from: string;
  to: string;
  label?: string;
}
interface Node {
  id: string;
  label: string;
  kind: "service" | "contract" | "provider";
}

/** The service → contract → provider graph, plus providers' own needs. */
export function graphOf(plan: Plan): { nodes: Node[]; edges: Edge[] } {
  const nodes = new Map<string, Node>();
  const edges: Edge[] = [];
  const node = (id: string, label: string, kind: Node["kind"]) =>
    nodes.set(id, { id, label, kind });
  for (const [name, svc] of Object.entries(plan.services)) {
    node(`svc_${name}`, name, "service");
    for (const c of svc.needs) edges.push({ from: `svc_${name}`, to: `contract_${c}` });
  }
  for (const p of plan.providers) {
    node(`contract_${p.contract}`, p.contract, "contract");
    node(`provider_${p.definition.name}`, p.definition.name, "provider");
    edges.push({
      from: `contract_${p.contract}`,
      to: `provider_${p.definition.name}`,
      label: "fulfilled by",
    });
    for (const dep of p.dependsOn)
      edges.push({ from: `provider_${p.definition.name}`, to: `contract_${dep}`, label: "needs" });
  }
  return { nodes: [...nodes.values()], edges };
}

export function renderMermaid(g: ReturnType<typeof graphOf>): string {
  const shape = (n: Node) =>
    n.kind === "service"
      ? `["${n.label}"]`
      : n.kind === "contract"
        ? `(["${n.label}"])`
        : `[["${n.label}"]]`;
  return [
    "flowchart LR",
    ...g.nodes.map((n) => `  ${n.id}${shape(n)}`),
    ...g.edges.map((e) =>
      e.label ? `  ${e.from} -- ${e.label} --> ${e.to}` : `  ${e.from} --> ${e.to}`,
    ),
    "  classDef service fill:#e8f1ff,stroke:#3b6fd8",
    "  classDef contract fill:#fff6e0,stroke:#c08a00",
    "  classDef provider fill:#e9f9ee,stroke:#2f9e55",
    ...(["service", "contract", "provider"] as const)
      .map((k) => [k, g.nodes.filter((n) => n.kind === k).map((n) => n.id)] as const)
      .filter(([, ids]) => ids.length)
      .map(([k, ids]) => `  class ${ids.join(",")} ${k}`),
  ].join("\n");
}

export function renderDot(g: ReturnType<typeof graphOf>): string {
  const shape = { service: "box", contract: "ellipse", provider: "component" };
  return [
    "digraph psf {",
    "  rankdir=LR;",
    ...g.nodes.map((n) => `  ${n.id} [label="${n.label}", shape=${shape[n.kind]}];`),
    ...g.edges.map((e) => `  ${e.from} -> ${e.to}${e.label ? ` [label="${e.label}"]` : ""};`),
    "}",
  ].join("\n");
}

/** `psf graph`: prints the graph as Mermaid (default) or Graphviz dot. */
export function graphCommand(opts: SourceOptions & { format?: string }): number {
  const format = opts.format ?? "mermaid";
  if (format !== "mermaid" && format !== "dot") {
    reportIssues(
      [{ path: "--format", message: `unknown format "${format}"`, hint: "use mermaid or dot" }],
      false,
    );
    return EXIT_INVALID;
  }
  const { plan, issues } = checkSource(opts);
  if (issues.length || !plan) {
    reportIssues(issues, false);
    return EXIT_INVALID;
  }
  const g = graphOf(plan);
  process.stdout.write((format === "dot" ? renderDot(g) : renderMermaid(g)) + "\n");
  return 0;
}
