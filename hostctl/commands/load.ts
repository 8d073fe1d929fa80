/**
 * `hostctl load FILE`: compile a policy and load it onto the NIC atomically (shadow slot, tables, one commit),
 * then print what it costs: worst-case cycles → packets/s per core, cores for line rate, table memory.
 * `--confirm 30s` works like iptables-apply: the new policy rolls back unless confirmed in time (the NIC daemon
 * keeps the timer, so a lost terminal still rolls back). `hostctl confirm` confirms from anywhere.
 */
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { formatTiming } from "../../fpga-model/timing.js";
import type { ChangeReport, LoadOptions } from "../driver/policy-driver.js";
import type { PolicySource } from "../driver/host-state.js";
import { CliError } from "../errors.js";
import { readText } from "../files.js";
import { policyFormat } from "./compile.js";
import { addNicOption, parseDuration, toJson, withNic } from "./nic-session.js";

export interface LoadCommandOptions {
  format?: string;
  host?: string;
  confirm?: string;
  nic?: string;
  json?: boolean;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode?: number;
}

export interface LoadIo {
  /** ask a yes/no question; resolves with the answer line, or undefined after timeoutMs or at end of input */
  prompt?: (question: string, timeoutMs: number) => Promise<string | undefined>;
}

/** Read a policy file (and its host description) into the source the NIC's host state keeps. */
export function readPolicySource(file: string, opts: { format?: string; host?: string }): PolicySource {
  const format = policyFormat(opts.format, file);
  const source: PolicySource = { file: file === "-" ? "<stdin>" : file, format, text: readText(file) };
  if (opts.host !== undefined) {
    source.host = readText(opts.host);
    source.hostFile = opts.host;
  }
  return source;
}

export function changeSummary(r: ChangeReport): object {
  const ir = r.program.ir;
  return {
    file: r.program.source.file,
    format: r.program.source.format,
    mode: r.mode,
    generation: r.generation,
    previousGeneration: r.previousGeneration,
    chains: ir.chains.length,
    rules: ir.chains.reduce((n, c) => n + c.rules.length, 0),
    instructions: r.program.image.code.length,
    counters: r.program.counters.declared,
    tables: r.program.tables.map((t) => ({ id: t.id, kind: t.kind, keyFields: t.keyFields, entries: t.entries.length, capacity: t.capacity, purpose: t.purpose, blocks: r.resources.tables[t.id]?.blocks ?? 0 })),
    registerWrites: r.writes,
    registerReads: r.reads,
    entriesInserted: r.inserted,
    entriesDeleted: r.deleted,
    timing: r.timing,
    tableBlocks: { used: r.resources.tableBlocks, budget: r.resources.budgetBlocks },
    warnings: r.warnings.split("\n").filter((l) => l !== ""),
    ...(r.confirmDeadline !== undefined ? { confirmDeadline: new Date(r.confirmDeadline).toISOString() } : {}),
  };
}

function loadText(r: ChangeReport): string {
  const ir = r.program.ir;
  const rules = ir.chains.reduce((n, c) => n + c.rules.length, 0);
  const entries = r.program.entries.reduce((n, t) => n + t.length, 0);
  return (
    `loaded ${r.program.source.file} as generation ${r.generation}${r.previousGeneration ? ` (replacing ${r.previousGeneration})` : ""}: ` +
    `${rules} rule${rules === 1 ? "" : "s"} in ${ir.chains.length} chain${ir.chains.length === 1 ? "" : "s"}, ${r.program.image.code.length} instructions, ` +
    `${r.program.tables.length} table${r.program.tables.length === 1 ? "" : "s"} (${entries} entries), ${r.program.counters.declared} counters\n` +
    `${formatTiming(r.timing)}\n` +
    `table memory: ${r.resources.tableBlocks} of ${r.resources.budgetBlocks} BRAM blocks; ${r.writes} register writes in one transaction\n`
  );
}

function terminalPrompt(question: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const timer = setTimeout(() => {
      rl.close();
      process.stderr.write("\n");
      resolve(undefined);
    }, timeoutMs);
    rl.question(question, (answer) => {
      clearTimeout(timer);
      rl.close();
      resolve(answer);
    });
    rl.once("close", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

export async function runLoad(file: string, opts: LoadCommandOptions, io: LoadIo = {}): Promise<CommandOutput> {
  const source = readPolicySource(file, opts);
  const confirmMs = opts.confirm !== undefined ? parseDuration(opts.confirm, "--confirm") : undefined;
  if (confirmMs !== undefined && opts.nic === "local") throw new CliError("--confirm needs the NIC daemon: an in-process NIC ends with the command");
  return withNic(opts.nic, async (s) => {
    const load: LoadOptions = confirmMs !== undefined ? { confirmWithinMs: confirmMs } : {};
    const r = await s.policy.load(source, load);
    let stdout = opts.json ? "" : loadText(r);
    let stderr = r.warnings;
    let confirmed: boolean | undefined;
    if (confirmMs !== undefined) {
      const prompt = io.prompt ?? (process.stdin.isTTY ? terminalPrompt : undefined);
      if (prompt) {
        const answer = await prompt(`Keep the new policy (generation ${r.generation})? It rolls back in ${Math.round(confirmMs / 1000)} s unless you answer y. [y/N] `, confirmMs);
        if (answer !== undefined && /^\s*y(es)?\s*$/i.test(answer)) {
          confirmed = await s.policy.confirm("keep");
          stderr += confirmed ? "hostctl: kept the new policy\n" : "hostctl: too late: the policy was already rolled back\n";
        } else {
          await s.policy.confirm("rollback");
          confirmed = false;
          stderr += `hostctl: ${answer === undefined ? "no answer" : "not confirmed"}: rolled back to the previous policy\n`;
        }
      } else {
        stderr += `hostctl: generation ${r.generation} rolls back in ${Math.round(confirmMs / 1000)} s unless confirmed with \`hostctl confirm\`\n`;
      }
    }
    if (opts.json) stdout = toJson({ ...changeSummary(r), ...(confirmed !== undefined ? { confirmed } : {}) });
    return { stdout, stderr, ...(confirmed === false ? { exitCode: 1 } : {}) };
  });
}

export async function runConfirm(opts: { nic?: string; rollback?: boolean; json?: boolean }): Promise<CommandOutput> {
  return withNic(opts.nic, async (s) => {
    const pending = (await s.transport.getState()).pendingConfirm;
    const settled = await s.policy.confirm(opts.rollback ? "rollback" : "keep");
    if (opts.json) return { stdout: toJson({ pending: settled, decision: opts.rollback ? "rollback" : "keep", generation: pending?.generation ?? null }), stderr: "" };
    if (!settled) return { stdout: "", stderr: "hostctl: no load is waiting for confirmation\n", exitCode: 1 };
    return { stdout: opts.rollback ? `rolled back generation ${pending?.generation}\n` : `confirmed generation ${pending?.generation}\n`, stderr: "" };
  });
}

function emit(o: CommandOutput): void {
  if (o.stderr) process.stderr.write(o.stderr);
  if (o.stdout) process.stdout.write(o.stdout);
  if (o.exitCode !== undefined) process.exitCode = o.exitCode;
}

export function registerLoad(program: Command): void {
  addNicOption(
    program
      .command("load")
      .description("compile a policy and load it onto the NIC atomically (new program in the shadow slot, tables, one commit)")
      .argument("<file>", "policy file (.kopi or iptables-save), or - for standard input")
      .option("--format <format>", "kopi or iptables-save (default: by extension; .rules/.save are iptables-save)")
      .option("--host <HOST.json>", "host description that names users, groups and applications")
      .option("--confirm <duration>", "roll back unless confirmed within this time (e.g. 30s), as iptables-apply does")
      .option("--json", "print the result as JSON"),
  )
    .addHelpText("after", "\nExamples:\n  hostctl load examples/policies/families.kopi\n  hostctl load --confirm 30s /etc/kopi/policy.kopi")
    .action(async (file: string, opts: LoadCommandOptions) => emit(await runLoad(file, opts)));
  addNicOption(
    program
      .command("confirm")
      .description("confirm a `load --confirm` that is waiting (or roll it back now with --rollback)")
      .option("--rollback", "roll back now instead of confirming")
      .option("--json", "print the result as JSON"),
  ).action(async (opts: { nic?: string; rollback?: boolean; json?: boolean }) => emit(await runConfirm(opts)));
}

export { emit };
