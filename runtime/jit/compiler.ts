/**
 * Compiles overlay programs to WebAssembly modules, synchronously, and caches them by program hash.
 *
 * binaryen runs in a dedicated worker thread (compile-worker.ts), started on first use: the caller posts the
 * image, blocks on Atomics.wait until the worker signals, then takes the reply with receiveMessageOnPort. A
 * program's plan is made on the caller's thread first, so a refusal (JitUnsupported) costs no worker round
 * trip and names the instruction.
 */
import { createHash } from "node:crypto";
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from "node:worker_threads";
import { encodeImage, type ProgramImage } from "../../overlay-isa/index.js";
import type { CompileReply, CompileRequest } from "./compile-protocol.js";
import { JitError, JitUnsupported } from "./errors.js";
import { planProgram, type JitPlan } from "./plan.js";
import { siblingModule, spawnModuleWorker } from "./spawn-worker.js";
import type { VmLayout } from "./translate.js";

/** A program compiled for one VM build: the module is instantiated per VM (it imports that VM's memory). */
export interface CompiledJit {
  /** cache key: hash of the image, the variant and the VM layout */
  readonly key: string;
  readonly module: WebAssembly.Module;
  readonly cycles: boolean;
  readonly plan: Pick<JitPlan, "headerLevel" | "writesMeta" | "usesLookup" | "usesTime" | "tracksFlows" | "usesSched" | "counters">;
  readonly instructions: number;
  readonly wasmBytes: number;
  /** translation time in the worker plus V8's compile, in ms (0 when it came from the cache) */
  readonly compileMs: number;
  readonly cached: boolean;
}

/** How long a compile may take before the caller gives up (the first one also starts the worker and binaryen). */
const COMPILE_TIMEOUT_MS = 120_000;
/** Compiled modules kept; the least recently used goes first. */
const CACHE_LIMIT = 128;

const cache = new Map<string, Omit<CompiledJit, "cached" | "compileMs">>();

interface Service {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}
let service: Service | undefined;
let nextId = 1;

function startService(): Service {
  const { port1, port2 } = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  const worker = spawnModuleWorker(siblingModule(import.meta.url, "compile-worker"), { workerData: { port: port2, signal }, transferList: [port2] }, ["binaryen"]);
  worker.unref();
  port1.unref();
  const s: Service = { worker, port: port1, flag: new Int32Array(signal) };
  worker.on("exit", () => {
    if (service === s) service = undefined;
  });
  return s;
}

/** Send one request to the compile worker and wait for its reply, synchronously. */
function request(req: CompileRequest): CompileReply {
  service ??= startService();
  const s = service;
  const seen = Atomics.load(s.flag, 0);
  s.port.postMessage(req);
  const deadline = performance.now() + COMPILE_TIMEOUT_MS;
  let observed = seen;
  for (;;) {
    const received = receiveMessageOnPort(s.port);
    if (received) {
      const reply = received.message as CompileReply;
      if (reply.id === req.id || reply.id === -1) return reply;
      continue; // a stale reply of an abandoned request
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      void s.worker.terminate();
      service = undefined;
      throw new JitError(`the JIT compile worker did not answer within ${COMPILE_TIMEOUT_MS / 1000} s`);
    }
    Atomics.wait(s.flag, 0, observed, Math.min(left, 1000));
    observed = Atomics.load(s.flag, 0);
  }
}

/** The cache key of a program for a VM build (what CompiledJit.key holds). */
export function jitKey(image: ProgramImage, layout: VmLayout, cycles: boolean): string {
  return hashKey(encodeImage(image), layout, cycles);
}

function hashKey(bytes: Uint8Array, layout: VmLayout, cycles: boolean): string {
  const h = createHash("sha256").update(bytes).digest("hex");
  return `${h}:${cycles ? "cycles" : "plain"}:${layout.vector}:${layout.bases}`;
}

/**
 * The compiled module of a program for a VM build; from the cache when the same program (same image bytes)
 * was compiled before. Throws JitUnsupported for a program the JIT does not translate, JitError when the
 * compiler itself fails.
 */
export function compileJit(image: ProgramImage, layout: VmLayout, options: { cycles?: boolean } = {}): CompiledJit {
  const cycles = options.cycles === true;
  const bytes = encodeImage(image);
  const key = hashKey(bytes, layout, cycles);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // refresh its place in the LRU order
    cache.set(key, hit);
    return { ...hit, cached: true, compileMs: 0 };
  }
  const t0 = performance.now();
  const plan = planProgram(image); // refusals happen here, on the caller's thread
  const reply = request({ id: nextId++, image: bytes, layout, cycles });
  if (!reply.ok) {
    // an Emscripten abort leaves binaryen unusable: start a fresh worker for the next compile
    if (reply.message.includes("Aborted(")) void stopJitCompiler();
    if (reply.name === "JitUnsupported") throw new JitUnsupported(reply.reason ?? reply.message, reply.index);
    throw new JitError(reply.message.startsWith("the JIT") || reply.message.startsWith("cannot load") ? reply.message : `the JIT compiler failed: ${reply.message}`);
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(reply.bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new JitError(`V8 refused the JIT's module: ${e instanceof Error ? e.message : String(e)}`);
  }
  const entry = {
    key,
    module,
    cycles,
    plan: { headerLevel: plan.headerLevel, writesMeta: plan.writesMeta, usesLookup: plan.usesLookup, usesTime: plan.usesTime, tracksFlows: plan.tracksFlows, usesSched: plan.usesSched, counters: plan.counters },
    instructions: image.code.length,
    wasmBytes: reply.bytes.length,
  };
  cache.set(key, entry);
  while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return { ...entry, cached: false, compileMs: performance.now() - t0 };
}

/** Put a module compiled elsewhere (another thread) into this thread's cache. */
export function adoptCompiled(compiled: CompiledJit): void {
  if (!cache.has(compiled.key)) cache.set(compiled.key, { key: compiled.key, module: compiled.module, cycles: compiled.cycles, plan: compiled.plan, instructions: compiled.instructions, wasmBytes: compiled.wasmBytes });
}

/** Number of modules in this thread's cache (for tests and diagnostics). */
export function jitCacheSize(): number {
  return cache.size;
}

/** Stop the compile worker (it is unref'd, so a process exits without this; tests call it to be tidy). */
export async function stopJitCompiler(): Promise<void> {
  const s = service;
  service = undefined;
  if (s) await s.worker.terminate();
}
