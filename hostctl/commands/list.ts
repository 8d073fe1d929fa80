/**
 * `hostctl list [CHAIN]`: the live policy with every rule's counters, as `iptables -L -v -n -x --line-numbers`
 * prints them (those flags are accepted and always in effect); `hostctl zero [CHAIN [NUM]]`: zero counters, as
 * `iptables -Z` does.
 */
import type { Command } from "commander";
import { countersJson, formatListing } from "../../compiler/policy/listing.js";
import { CliError } from "../errors.js";
import { emit, type CommandOutput } from "./load.js";
import { addNicOption, parseInteger, toJson, withNic } from "./nic-session.js";
import { NoPolicyError } from "../driver/policy-driver.js";

export interface ListCommandOptions {
  nic?: string;
  json?: boolean;
}

export async function runList(chain: string | undefined, opts: ListCommandOptions): Promise<CommandOutput> {
  return withNic(opts.nic, async (s) => {
    const { record, program } = await s.policy.live();
    if (!program || !record.state) throw new NoPolicyError();
    const counters = await s.policy.counters(record.state);
    let ir = program.ir;
    if (chain !== undefined) {
      const c = ir.chains.find((x) => x.name === chain);
      if (!c) throw new CliError(`chain '${chain}' does not exist (chains: ${ir.chains.map((x) => x.name).join(", ")})`);
      ir = { ...ir, chains: [c] };
    }
    if (opts.json) return { stdout: toJson({ generation: record.state.generation, file: program.source.file, ...countersJson(ir, counters) }), stderr: "" };
    return { stdout: formatListing(ir, counters), stderr: "" };
  });
}

export async function runZero(chain: string | undefined, num: string | undefined, opts: ListCommandOptions): Promise<CommandOutput> {
  const rule = num !== undefined ? parseInteger(num, "rule number", 1, 1 << 24) : undefined;
  return withNic(opts.nic, async (s) => {
    const n = await s.policy.zero(chain, rule);
    if (opts.json) return { stdout: toJson({ zeroed: n, chain: chain ?? null, rule: rule ?? null }), stderr: "" };
    return { stdout: "", stderr: "" };
  });
}

export function registerList(program: Command): void {
  addNicOption(
    program
      .command("list")
      .description("list the live policy with packet and byte counters (iptables -L -v -n -x --line-numbers)")
      .argument("[chain]", "only this chain")
      .option("-v, --verbose", "accepted for iptables habits (always verbose)")
      .option("-n, --numeric", "accepted for iptables habits (always numeric)")
      .option("-x, --exact", "accepted for iptables habits (always exact)")
      .option("--line-numbers", "accepted for iptables habits (always numbered)")
      .option("--json", "print the counters as JSON"),
  ).action(async (chain: string | undefined, opts: ListCommandOptions) => emit(await runList(chain, opts)));
  addNicOption(
    program
      .command("zero")
      .description("zero packet and byte counters: all, one chain's, or one rule's (iptables -Z)")
      .argument("[chain]", "only this chain")
      .argument("[num]", "only this rule of the chain")
      .option("--json", "print what was zeroed as JSON"),
  ).action(async (chain: string | undefined, num: string | undefined, opts: ListCommandOptions) => emit(await runZero(chain, num, opts)));
}
