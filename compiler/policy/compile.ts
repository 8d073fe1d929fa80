/**
 * The policy compiler's entry point: text → AST → IR → analysis → overlay program + table images, verified.
 * `compilePolicy` throws a SourceError (positioned) or HostError for bad input and nothing else; anything else
 * is a bug in kopi.
 */
import { SourceError, verify, type ProgramImage, type VerifyResult } from "../../overlay-isa/index.js";
import { CompileLimitError } from "../program-builder.js";
import { parseIptablesSave } from "../iptables/parse-save.js";
import { analyzePolicy } from "./analyze.js";
import type { PolicyAst } from "./ast.js";
import { generatePolicy, type FamilyInfo } from "./codegen.js";
import type { PolicyWarning } from "./diagnostics.js";
import { systemAccounts, type HostDescription } from "./host.js";
import type { IrPolicy } from "./ir.js";
import { lowerPolicy, type Accounts } from "./lower.js";
import { parseKopi } from "./parse.js";
import type { TableImage } from "./tables.js";

export type PolicyFormat = "kopi" | "iptables-save";

export interface CompileOptions {
  format?: PolicyFormat;
  /** host description: resolves user and group names; without one, this machine's /etc/passwd and /etc/group */
  host?: HostDescription;
  hostFile?: string;
}

export interface CompiledPolicy {
  ir: IrPolicy;
  image: ProgramImage;
  tables: TableImage[];
  families: FamilyInfo[];
  warnings: PolicyWarning[];
  verify: VerifyResult;
  timings: { parseMs: number; compileMs: number; verifyMs: number };
}

export function parsePolicy(text: string, file: string, format: PolicyFormat = "kopi"): PolicyAst {
  return format === "iptables-save" ? parseIptablesSave(text, file) : parseKopi(text, file);
}

export function accountsFor(opts: CompileOptions): Accounts {
  if (opts.host) return { users: opts.host.users, groups: opts.host.groups, source: opts.hostFile ?? "the host description" };
  const sys = systemAccounts();
  return { ...sys, source: "/etc/passwd or /etc/group; describe the host with --host HOST.json" };
}

export function compilePolicy(text: string, file = "<policy>", opts: CompileOptions = {}): CompiledPolicy {
  const t0 = performance.now();
  const ast = parsePolicy(text, file, opts.format ?? "kopi");
  const t1 = performance.now();
  const ir = lowerPolicy(ast, { accounts: accountsFor(opts) });
  const warnings = analyzePolicy(ir);
  let gen;
  try {
    gen = generatePolicy(ir);
  } catch (e) {
    if (e instanceof CompileLimitError) throw new SourceError(file, 1, 1, `the policy does not fit the overlay: ${e.message}`);
    throw e;
  }
  const t2 = performance.now();
  const result = verify(gen.image);
  const t3 = performance.now();
  if (!result.ok) {
    // codegen must never emit a program the NIC would refuse
    throw new Error(`internal: the compiled policy fails verification: ${result.errors.map((e) => `${e.index ?? ""} ${e.message}`).join("; ")}`);
  }
  return { ir, image: gen.image, tables: gen.tables, families: gen.families, warnings, verify: result, timings: { parseMs: t1 - t0, compileMs: t2 - t1, verifyMs: t3 - t2 } };
}
