/**
 * Runs `hostctl capture` in a process of its own, as the CLI will (tests spawn it for stdin, stdout and exit
 * status). Usage: node --import tsx test/capture/run-capture.ts [capture options…]
 */
import { Command } from "commander";
import { registerCapture } from "../../hostctl/commands/capture.js";

const program = new Command().name("hostctl").exitOverride();
registerCapture(program);
program.parseAsync(["capture", ...process.argv.slice(2)], { from: "user" }).then(
  () => {
    process.exitCode ??= 0;
  },
  () => {
    process.exitCode = 2; // commander has printed the usage error
  },
);
