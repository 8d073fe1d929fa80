/** `hostctl asm`, `disasm`, `verify`: the overlay toolchain on the command line. */
import type { Command } from "commander";
import { assemble, decodeImage, disassemble, encodeImage, ImageError, SourceError, verify, type ProgramImage, type VerifyResult } from "../../overlay-isa/index.js";
import { CliError } from "../errors.js";
import { readBytes, readText, writeBytes } from "../files.js";

function defaultOutput(input: string): string {
  return input === "-" ? "-" : input.replace(/\.(s|asm)$/i, "") + ".kimg";
}

/** Read and decode an image file, naming the file in any error. */
export function readImage(file: string): ProgramImage {
  const bytes = readBytes(file);
  try {
    return decodeImage(bytes);
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(`${file === "-" ? "<stdin>" : file}: ${e.message}`);
    throw e;
  }
}

export function verdictLines(result: VerifyResult, where: (index: number) => string): string[] {
  if (result.ok) return [`ok: ${result.instructions} instructions, worst case ${result.worstCaseCycles} cycles/packet`];
  return result.errors.map((e) => `${e.index !== undefined ? where(e.index) : e.table !== undefined ? `table t${e.table}` : "program"}: ${e.rule}: ${e.message}`);
}

export function registerIsaCommands(program: Command): void {
  program
    .command("asm")
    .description("assemble overlay assembly into a program image, after verifying it")
    .argument("<file>", "assembly source (.s), or - for standard input")
    .option("-o, --output <image>", "where to write the image (default: FILE with .kimg; - for standard output)")
    .option("--no-verify", "write the image even if the verifier rejects it (to study a broken program)")
    .addHelpText("after", "\nExample:\n  hostctl asm examples/filters/web.s -o web.kimg\n  hostctl verify web.kimg")
    .action((file: string, opts: { output?: string; verify: boolean }) => {
      const name = file === "-" ? "<stdin>" : file;
      const source = readText(file);
      const { image, lines, columns } = assemble(source, name);
      if (opts.verify) {
        const result = verify(image);
        if (!result.ok) {
          const sourceLines = source.split("\n");
          const messages = result.errors.map((e) => {
            if (e.index === undefined) return `${name}: verifier: ${e.message}`;
            const line = lines[e.index]!;
            const text = sourceLines[line - 1] ?? "";
            const col = columns[e.index]!;
            return new SourceError(name, line, col, `verifier: ${e.message} (instruction ${e.index})`, text.replace(/\r$/, "")).format();
          });
          throw new CliError(`${name}: the verifier rejects the program; no image written\n${messages.join("\n")}`, 2);
        }
      }
      const out = opts.output ?? defaultOutput(file);
      writeBytes(out, encodeImage(image));
      if (out !== "-") process.stderr.write(`${out}: ${image.code.length} instructions, ${image.tables.length} tables, ${image.counters} counters\n`);
    });

  program
    .command("disasm")
    .description("print a program image as assembly text (which `hostctl asm` turns back into the same image)")
    .argument("<image>", "program image (.kimg), or - for standard input")
    .action((file: string) => {
      process.stdout.write(disassemble(readImage(file)));
    });

  program
    .command("verify")
    .description("check a program image the way the NIC does before it may run, and print its worst-case cycles")
    .argument("<image>", "program image (.kimg), or - for standard input")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExit status: 0 accepted, 1 rejected (reasons printed with instruction indexes), 2 unreadable image.")
    .action((file: string, opts: { json?: boolean }) => {
      const result = verify(readImage(file));
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else process.stdout.write(verdictLines(result, (i) => `instruction ${i}`).map((l) => `${file}: ${l}\n`).join(""));
      if (!result.ok) process.exitCode = 1;
    });
}
