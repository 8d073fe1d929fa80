/**
 * `hostctl compile FILE`: compile a policy (.kopi or iptables-save) and print the overlay disassembly with the
 * table and counter summary, or `--json`, or `--to iptables-save`. Warnings go to standard error; a bad policy
 * is a positioned error with exit code 2 and nothing is written.
 */
import type { Command } from "commander";
import { encodeImage } from "../../overlay-isa/index.js";
import { exportIptablesSave } from "../../compiler/iptables/export-save.js";
import { compilePolicy, type CompiledPolicy, type PolicyFormat } from "../../compiler/policy/compile.js";
import { HostError, parseHost, type HostDescription } from "../../compiler/policy/host.js";
import { policyJson, policySummary, warningsText } from "../../compiler/policy/summary.js";
import { CliError } from "../errors.js";
import { readText, writeBytes } from "../files.js";

export interface CompileCommandOptions {
  format?: string;
  json?: boolean;
  to?: string;
  host?: string;
  output?: string;
}

export interface CompileCommandResult {
  stdout: string;
  stderr: string;
  compiled: CompiledPolicy;
}

export function policyFormat(format: string | undefined, file: string): PolicyFormat {
  if (format === undefined) return /\.(rules|save|iptables)$/.test(file) ? "iptables-save" : "kopi";
  if (format !== "kopi" && format !== "iptables-save") throw new CliError(`--format must be kopi or iptables-save, not '${format}'`);
  return format;
}

export function loadHost(path: string | undefined): HostDescription | undefined {
  if (path === undefined) return undefined;
  try {
    return parseHost(readText(path), path);
  } catch (e) {
    if (e instanceof HostError) throw new CliError(e.message);
    throw e;
  }
}

/** Compile a policy file; throws SourceError or CliError for bad input. */
export function loadPolicy(file: string, opts: { format?: string; host?: string }): CompiledPolicy {
  const name = file === "-" ? "<stdin>" : file;
  const host = loadHost(opts.host);
  return compilePolicy(readText(file), name, { format: policyFormat(opts.format, file), host, hostFile: opts.host });
}

export function runCompile(file: string, opts: CompileCommandOptions): CompileCommandResult {
  const compiled = loadPolicy(file, opts);
  let stderr = warningsText(compiled);
  let stdout: string;
  if (opts.to !== undefined) {
    if (opts.to !== "iptables-save") throw new CliError(`--to must be iptables-save, not '${opts.to}'`);
    const exported = exportIptablesSave(compiled.ir);
    for (const s of exported.skipped) stderr += `hostctl: rule ${s.rule} of chain ${s.chain} not exported: ${s.reason}\n`;
    stdout = exported.text;
  } else if (opts.json) stdout = JSON.stringify(policyJson(compiled), null, 2) + "\n";
  else stdout = policySummary(compiled);
  if (opts.output !== undefined) writeBytes(opts.output, encodeImage(compiled.image));
  return { stdout, stderr, compiled };
}

export function registerCompile(program: Command): void {
  program
    .command("compile")
    .description("compile a policy (.kopi or iptables-save) to an overlay program and table images")
    .argument("<file>", "policy file, or - for standard input")
    .option("--format <format>", "input format: kopi or iptables-save (default: by extension; .rules/.save are iptables-save)")
    .option("--json", "print the program, tables, counters and warnings as one JSON object")
    .option("--to <format>", "print the policy in another language instead (iptables-save)")
    .option("--host <HOST.json>", "host description that names users, groups and applications")
    .option("-o, --output <image>", "also write the program image (.kimg)")
    .addHelpText("after", "\nExamples:\n  hostctl compile examples/policies/port-partition.kopi --host examples/policies/port-partition.host.json\n  hostctl compile --format iptables-save saved.rules --json\n  hostctl compile examples/policies/web-server.kopi --to iptables-save")
    .action((file: string, opts: CompileCommandOptions) => {
      const r = runCompile(file, opts);
      if (r.stderr) process.stderr.write(r.stderr);
      process.stdout.write(r.stdout);
    });
}
