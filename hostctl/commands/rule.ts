/**
 * `hostctl rule add|insert|delete|replace CHAIN …`: edit one rule of the live policy, as iptables -A/-I/-D/-R
 * do, in the policy's own language (`tcp dport 22 accept` for a .kopi policy, `-p tcp --dport 22 -j ACCEPT`
 * for an iptables-save one). A rule that lowers to a table entry is a table write — no program reload — and the
 * output says which it was and how many register writes it took.
 */
import type { Command } from "commander";
import type { ChangeReport } from "../driver/policy-driver.js";
import { ruleText, type RuleEdit } from "../driver/rule-edit.js";
import { CliError } from "../errors.js";
import { changeSummary, emit, type CommandOutput } from "./load.js";
import { addNicOption, parseInteger, toJson, withNic } from "./nic-session.js";

export interface RuleCommandOptions {
  nic?: string;
  json?: boolean;
}

function describe(edit: RuleEdit, r: ChangeReport): string {
  const verb = { append: "added", insert: "inserted", delete: "deleted", "delete-spec": "deleted", replace: "replaced" }[edit.op];
  const how =
    r.mode === "tables"
      ? `table write: ${r.inserted} entr${r.inserted === 1 ? "y" : "ies"} inserted, ${r.deleted} deleted, ${r.writes} register writes, no program reload`
      : `program reloaded as generation ${r.generation}: ${r.writes} register writes; counters carried over`;
  return `${edit.chain}: rule ${verb} (${how})\n`;
}

export async function runRuleEdit(edit: RuleEdit, opts: RuleCommandOptions): Promise<CommandOutput> {
  return withNic(opts.nic, async (s) => {
    const r = await s.policy.edit(edit);
    if (opts.json) return { stdout: toJson({ edit, ...changeSummary(r) }), stderr: r.warnings };
    return { stdout: describe(edit, r), stderr: r.warnings };
  });
}

/** The rule words of a command line: everything after CHAIN (and NUM), with `--` dropped. */
function words(args: readonly string[]): string[] {
  return args.filter((w, i) => !(w === "--" && i === 0));
}

export function registerRule(program: Command): void {
  const rule = program.command("rule").description("edit one rule of the live policy (iptables -A/-I/-D/-R); a rule that lowers to a table entry is a table write, not a reload");
  const common = (cmd: Command) => addNicOption(cmd.option("--json", "print the result as JSON").allowUnknownOption());
  common(
    rule
      .command("add")
      .description("append a rule to a chain (iptables -A)")
      .argument("<chain>", "chain name")
      .argument("<rule...>", "the rule, in the policy's language (use -- before an iptables rule spec to be safe)"),
  )
    .addHelpText("after", "\nExamples:\n  hostctl rule add ingress tcp dport 8080 accept\n  hostctl rule add INPUT -- -p tcp --dport 8080 -j ACCEPT")
    .action(async (chain: string, w: string[], opts: RuleCommandOptions) => emit(await runRuleEdit({ op: "append", chain, rule: ruleText(words(w)) }, opts)));
  common(
    rule
      .command("insert")
      .description("insert a rule at a position, 1 by default (iptables -I)")
      .argument("<chain>", "chain name")
      .argument("<rule...>", "[NUM] then the rule"),
  ).action(async (chain: string, w: string[], opts: RuleCommandOptions) => {
    const list = words(w);
    let number = 1;
    if (list.length > 1 && /^\d+$/.test(list[0]!)) number = parseInteger(list.shift()!, "rule number", 1, 1 << 24);
    emit(await runRuleEdit({ op: "insert", chain, number, rule: ruleText(list) }, opts));
  });
  common(
    rule
      .command("delete")
      .description("delete a rule by number, or by its text (iptables -D)")
      .argument("<chain>", "chain name")
      .argument("<rule...>", "NUM, or the rule as written"),
  ).action(async (chain: string, w: string[], opts: RuleCommandOptions) => {
    const list = words(w);
    const edit: RuleEdit = list.length === 1 && /^\d+$/.test(list[0]!) ? { op: "delete", chain, number: parseInteger(list[0]!, "rule number", 1, 1 << 24) } : { op: "delete-spec", chain, rule: ruleText(list) };
    emit(await runRuleEdit(edit, opts));
  });
  common(
    rule
      .command("replace")
      .description("replace the rule at a position (iptables -R)")
      .argument("<chain>", "chain name")
      .argument("<num>", "rule number")
      .argument("<rule...>", "the new rule"),
  ).action(async (chain: string, num: string, w: string[], opts: RuleCommandOptions) => {
    const list = words(w);
    if (list.length === 0) throw new CliError("replace needs the new rule after the number");
    emit(await runRuleEdit({ op: "replace", chain, number: parseInteger(num, "rule number", 1, 1 << 24), rule: ruleText(list) }, opts));
  });
}
