/** Messages between the main thread (compiler.ts) and the JIT compile worker (compile-worker.ts). */
import type { VmLayout } from "./translate.js";

export interface CompileRequest {
  id: number;
  /** the program as a KOPI image (overlay-isa/image.ts) */
  image: Uint8Array;
  layout: VmLayout;
  cycles: boolean;
}

export type CompileReply =
  | { id: number; ok: true; bytes: Uint8Array; ms: number }
  | { id: number; ok: false; name: string; message: string; reason?: string; index?: number };
