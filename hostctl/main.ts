/**
 * hostctl: the kopi host control plane — the kernel's side of the NIC, on the command line. The program itself;
 * hostctl/cli.ts is the executable that runs it (from the one-file bundle when there is one).
 */
import { Command, CommanderError } from "commander";
import { reportError } from "./errors.js";

type Register = (program: Command) => void;

/**
 * Command groups, loaded on demand: `hostctl capture …` should not pay for importing the daemon, the QoS
 * compiler and the application model before it reads its first packet. Help, --version and unknown words load
 * every group.
 */
const GROUPS: { commands: readonly string[]; load: () => Promise<Register> }[] = [
  { commands: ["asm", "disasm", "verify"], load: async () => (await import("./commands/isa.js")).registerIsaCommands },
  { commands: ["compile"], load: async () => (await import("./commands/compile.js")).registerCompile },
  { commands: ["replay"], load: async () => (await import("./commands/replay.js")).registerReplay },
  {
    commands: ["capture"],
    load: async () => {
      const { registerCapture } = await import("./commands/capture.js");
      // the NIC's capture ring (-i) needs the daemon client: import it only when a live capture opens
      const openLiveSource: NonNullable<Parameters<typeof registerCapture>[1]>["openLiveSource"] = async (device, options) =>
        (await import("./commands/capture-nic.js")).nicLiveSource()(device, options);
      return (program) => registerCapture(program, { openLiveSource });
    },
  },
  {
    commands: ["nic", "load", "confirm", "rule", "list", "zero", "stats", "save", "restore", "trace", "status", "inject"],
    load: async () => (await import("./commands/nic-commands.js")).registerNicCommands,
  },
  { commands: ["qos"], load: async () => (await import("./commands/qos.js")).registerQos },
  { commands: ["qdisc", "class", "filter"], load: async () => (await import("./commands/qdisc.js")).registerQdisc },
  { commands: ["app"], load: async () => (await import("./commands/app.js")).registerApp },
];

/** The program with the command groups `argv` needs (all of them when it names none we know). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name("hostctl")
    .description("kopi host control plane: compile, verify and load overlay programs; capture and replay traffic at the NIC")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const first = argv.find((a) => !a.startsWith("-"));
  const group = GROUPS.find((g) => first !== undefined && g.commands.includes(first));
  for (const g of group ? [group] : GROUPS) (await g.load())(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander already printed its message
    return reportError(e);
  }
}
