/** Reading and writing whole files with errors in the user's words. */
import { readFileSync, writeFileSync } from "node:fs";
import { describeFsError } from "./errors.js";

export function readBytes(path: string): Uint8Array {
  try {
    return path === "-" ? readFileSync(0) : readFileSync(path);
  } catch (e) {
    throw describeFsError(path === "-" ? "standard input" : path, e);
  }
}

export function readText(path: string): string {
  return Buffer.from(readBytes(path)).toString("utf8");
}

export function writeBytes(path: string, data: Uint8Array | string): void {
  try {
    if (path === "-") process.stdout.write(data);
    else writeFileSync(path, data);
  } catch (e) {
    throw describeFsError(path, e);
  }
}
