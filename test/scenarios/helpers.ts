/**
 * Running a scenario of examples/scenarios/ through a NIC daemon on a temporary socket, with the hostctl
 * commands' own functions (what its run.sh does with the hostctl binary), and `hostctl capture` as a whole
 * command whose output goes to a file.
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { registerCapture } from "../../hostctl/commands/capture.js";
import { nicLiveSource } from "../../hostctl/commands/capture-nic.js";

export const SCENARIOS = fileURLToPath(new URL("../../examples/scenarios/", import.meta.url));

export function scenarioFile(scenario: string, file: string): string {
  return join(SCENARIOS, scenario, file);
}

export interface RunningCapture {
  /** resolves when the capture has ended (its -c count reached): stdout and stderr */
  done: Promise<{ stdout: string; stderr: string }>;
}

/**
 * Start `hostctl capture ARGS` against the daemon at `nic`; resolves once it listens (its banner is out), so the
 * traffic that follows is seen.
 */
export async function startCapture(nic: string, args: string[], dir: string): Promise<RunningCapture> {
  const outPath = join(dir, `capture-${Date.now()}-${Math.random().toString(36).slice(2)}.out`);
  const fd = openSync(outPath, "w");
  let stderr = "";
  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  const program = new Command().name("hostctl").exitOverride();
  registerCapture(program, {
    openLiveSource: nicLiveSource({ nic }),
    stdoutFd: fd,
    writeError: (text) => {
      stderr += text;
      if (text.startsWith("listening on") || text.startsWith("reading from file")) listening();
    },
  });
  const done = program.parseAsync(["capture", ...args], { from: "user" }).then(() => {
    closeSync(fd);
    return { stdout: readFileSync(outPath, "latin1"), stderr };
  });
  await Promise.race([ready, done.then(() => {
    throw new Error(`the capture ended before listening: ${stderr}`);
  })]);
  return { done };
}
