/**
 * Policy warnings (shadowed, unreachable and duplicate rules): `file:line:col: warning: message` with the
 * source line and a caret, like the errors (which are overlay-isa's SourceError).
 */
import { lineAndColumn, SourceError } from "../../overlay-isa/index.js";
import type { Pos } from "./ast.js";

export interface PolicyWarning {
  kind: "shadowed" | "unreachable" | "duplicate" | "never-matches";
  file: string;
  line: number;
  column: number;
  message: string;
  sourceLine: string;
}

/** `file:line:col` of an offset, for messages that name a second position. */
export function where(file: string, source: string, offset: number): string {
  const { line, column } = lineAndColumn(source, offset);
  return `${file}:${line}:${column}`;
}

export function warningAt(kind: PolicyWarning["kind"], file: string, source: string, pos: Pos, message: string): PolicyWarning {
  const { line, column, sourceLine } = lineAndColumn(source, pos.start);
  return { kind, file, line, column, message, sourceLine };
}

export function formatWarning(w: PolicyWarning): string {
  const caret = " ".repeat(Math.max(0, w.column - 1)) + "^";
  return `${w.file}:${w.line}:${w.column}: warning: ${w.message}\n  ${w.sourceLine.replace(/\t/g, " ")}\n  ${caret}`;
}

/** Errors a policy can have: positioned source errors, or a host-description problem. */
export function isUserError(e: unknown): e is SourceError | { format(): string } {
  return e instanceof SourceError || (e instanceof Error && e.name === "HostError");
}
