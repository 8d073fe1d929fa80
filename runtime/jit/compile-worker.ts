/**
 * The JIT compile worker: the only thread that loads binaryen (15 MB, ~0.7 s), so importing kopi stays cheap
 * and callers that never ask for the JIT never pay for it. Requests arrive on a MessagePort; after each reply
 * the worker bumps a shared counter and notifies it, which is what lets the main thread wait synchronously
 * (compileFilter() is synchronous) — see compiler.ts.
 */
import { workerData, type MessagePort } from "node:worker_threads";
import { decodeImage } from "../../overlay-isa/index.js";
import type { CompileReply, CompileRequest } from "./compile-protocol.js";
import { planProgram } from "./plan.js";

const { port, signal } = workerData as { port: MessagePort; signal: SharedArrayBuffer };
const flag = new Int32Array(signal);

function wake(): void {
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
}

let translateModule: typeof import("./translate.js") | undefined;
let loadError: string | undefined;
try {
  translateModule = await import("./translate.js");
} catch (e) {
  loadError = `cannot load binaryen for the JIT: ${e instanceof Error ? e.message : String(e)}`;
}

port.on("message", (req: CompileRequest) => {
  let reply: CompileReply;
  const t0 = performance.now();
  try {
    if (!translateModule) throw new Error(loadError);
    const plan = planProgram(decodeImage(req.image));
    const bytes = translateModule.translate(plan, req.layout, { cycles: req.cycles });
    reply = { id: req.id, ok: true, bytes, ms: performance.now() - t0 };
  } catch (e) {
    const err = e as { name?: string; message?: string; index?: number; reason?: string };
    reply = { id: req.id, ok: false, name: err.name ?? "Error", message: err.message ?? String(e), ...(err.reason !== undefined ? { reason: err.reason } : {}), ...(err.index !== undefined ? { index: err.index } : {}) };
  }
  port.postMessage(reply, reply.ok ? [reply.bytes.buffer as ArrayBuffer] : []);
  wake();
});

process.on("uncaughtException", (e) => {
  port.postMessage({ id: -1, ok: false, name: "JitError", message: `the JIT compile worker failed: ${e.message}` } satisfies CompileReply);
  wake();
});
