/**
 * How hostctl fails: a one-line message (plus a caret excerpt for text) on stderr and an exit code — never a
 * stack trace for anything a user typed or supplied. Exit codes: 1 for a negative answer (a program the
 * verifier rejects), 2 for bad input or usage.
 */
import { ImageError, SourceError } from "../overlay-isa/index.js";

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Turn a filesystem error into the words `cat` or `tcpdump` would use. */
export function describeFsError(path: string, e: unknown): CliError {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: "No such file or directory",
    EACCES: "Permission denied",
    EISDIR: "Is a directory",
    ENOTDIR: "Not a directory",
    EMFILE: "Too many open files",
  };
  return new CliError(`${path}: ${why[err.code ?? ""] ?? err.message}`);
}

/** Print an error the way the user should see it and return the exit code. */
export function reportError(e: unknown, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  if (e instanceof SourceError) {
    write(e.format() + "\n");
    return 2;
  }
  if (e instanceof CliError) {
    write(`hostctl: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof ImageError) {
    write(`hostctl: ${e.message}\n`);
    return 2;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === "EPIPE") return 0; // `hostctl … | head` closed the pipe: not an error
  write(`hostctl: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.KOPI_DEBUG) write(`${err?.stack ?? ""}\n`);
  return 70;
}
