/** Shared helpers of the policy tests. */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compilePolicy, type CompiledPolicy, type CompileOptions } from "../../compiler/policy/compile.js";
import { parseHost } from "../../compiler/policy/host.js";
import { SourceError } from "../../overlay-isa/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const EXAMPLES = `${ROOT}examples/policies/`;

/** The host description beside an example policy (`NAME.host.json`), if there is one. */
export function exampleHost(file: string): CompileOptions {
  const hostFile = file.replace(/\.(kopi|rules)$/, ".host.json");
  if (!existsSync(hostFile)) return {};
  return { host: parseHost(readFileSync(hostFile, "utf8"), hostFile), hostFile };
}

export function compileExample(name: string): CompiledPolicy {
  const file = EXAMPLES + name;
  const format = name.endsWith(".rules") ? "iptables-save" : "kopi";
  return compilePolicy(readFileSync(file, "utf8"), `examples/policies/${name}`, { format, ...exampleHost(file) });
}

export const TEST_HOST = parseHost(
  JSON.stringify({ users: { bob: 1001, charlie: 1002, mallory: 1003 }, groups: { db: 120 } }),
  "test-host.json",
);

/** Compile text, returning the SourceError it throws (or failing the test when it compiles). */
export function compileError(text: string, opts: CompileOptions = {}): SourceError {
  try {
    compilePolicy(text, "t.kopi", { host: TEST_HOST, hostFile: "test-host.json", ...opts });
  } catch (e) {
    if (e instanceof SourceError) return e;
    throw e;
  }
  throw new Error(`expected an error, but the policy compiled:\n${text}`);
}

/** A one-rule policy around `rule` in the ingress chain (rule on line 3, starting at column 5). */
export function oneRule(rule: string): string {
  return `table filter {\n  chain ingress { policy drop;\n    ${rule}\n  }\n  chain other { return }\n}\n`;
}
