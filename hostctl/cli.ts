#!/usr/bin/env node
/** hostctl: the kopi host control plane — the kernel's side of the NIC, on the command line. */
import { Command, CommanderError } from "commander";
import { registerApp } from "./commands/app.js";
import { registerCapture } from "./commands/capture.js";
import { nicLiveSource } from "./commands/capture-nic.js";
import { registerCompile } from "./commands/compile.js";
import { registerIsaCommands } from "./commands/isa.js";
import { registerNicCommands } from "./commands/nic-commands.js";
import { registerQdisc } from "./commands/qdisc.js";
import { registerQos } from "./commands/qos.js";
import { registerReplay } from "./commands/replay.js";
import { reportError } from "./errors.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("hostctl")
    .description("kopi host control plane: compile, verify and load overlay programs; capture and replay traffic at the NIC")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerIsaCommands(program);
  registerCompile(program);
  registerReplay(program);
  registerCapture(program, { openLiveSource: nicLiveSource() });
  registerNicCommands(program);
  registerQos(program);
  registerQdisc(program);
  registerApp(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander already printed its message
    return reportError(e);
  }
}

const invokedDirectly = process.argv[1] && /hostctl(\/cli\.(js|ts))?$|cli\.(js|ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
