/**
 * What every NIC command shares: `--nic PATH|local` (default: $KOPI_NIC, else the well-known socket), opening a
 * session (transport + driver + policy driver), and turning the control plane's errors into hostctl's.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { SourceError } from "../../overlay-isa/index.js";
import { PacketPortError } from "../../fpga-model/nic-device.js";
import { CaptureFileError } from "../pcap/capture-file-error.js";
import { DeviceError, NicDriver, StateConflict } from "../driver/driver.js";
import { HostStateError } from "../driver/host-state.js";
import { NoPolicyError, PolicyDriver } from "../driver/policy-driver.js";
import { PolicySourceError } from "../driver/policy-program.js";
import { RuleEditError } from "../driver/rule-edit.js";
import { TransportError, type NicTransport } from "../driver/transport.js";
import { DaemonError, SocketTransport } from "../daemon/client.js";
import { LocalTransport } from "../daemon/local-transport.js";
import { NicHost, StateFileError } from "../daemon/nic-host.js";
import { CliError } from "../errors.js";

/** The daemon's socket when neither --nic nor $KOPI_NIC names one: /run/kopi/nic0.sock for root, else per user. */
export function defaultNicPath(): string {
  const env = process.env.KOPI_NIC;
  if (env) return env;
  if (process.getuid?.() === 0) return "/run/kopi/nic0.sock";
  return join(process.env.XDG_RUNTIME_DIR ?? join(tmpdir(), `kopi-${process.getuid?.() ?? "user"}`), "kopi", "nic0.sock");
}

export interface NicSession {
  transport: NicTransport;
  driver: NicDriver;
  policy: PolicyDriver;
  /** true for `--nic local` (an in-process NIC that ends with the command) */
  local: boolean;
  close(): Promise<void>;
}

export async function openNic(nic: string | undefined): Promise<NicSession> {
  let transport: NicTransport;
  const local = nic === "local";
  if (local) transport = new LocalTransport(await NicHost.create());
  else transport = await SocketTransport.connect(nic ?? defaultNicPath());
  const driver = new NicDriver(transport);
  return { transport, driver, policy: new PolicyDriver(driver), local, close: () => transport.close() };
}

/** The control plane's errors as hostctl reports them (exit 2 for bad input, 1 for a refusal by the NIC). */
export function toCliError(e: unknown): unknown {
  if (e instanceof SourceError || e instanceof CliError) return e;
  if (e instanceof TransportError || e instanceof StateFileError || e instanceof PolicySourceError || e instanceof HostStateError || e instanceof CaptureFileError) return new CliError(e.message);
  if (e instanceof RuleEditError || e instanceof NoPolicyError) return new CliError(e.message);
  if (e instanceof DeviceError) return new CliError(`the NIC refused the change: ${e.message}`, 1);
  if (e instanceof StateConflict) return new CliError(e.message, 1);
  if (e instanceof DaemonError) return new CliError(`the NIC daemon refused the request: ${e.message}`, 1);
  if (e instanceof PacketPortError) return new CliError(`the NIC refused the packets: ${e.message}`);
  return e;
}

/** Open a session, run `fn`, close; errors come out as CliError where they are the user's to fix. */
export async function withNic<T>(nic: string | undefined, fn: (s: NicSession) => Promise<T>): Promise<T> {
  let session: NicSession | undefined;
  try {
    session = await openNic(nic);
    return await fn(session);
  } catch (e) {
    throw toCliError(e);
  } finally {
    await session?.close().catch(() => {});
  }
}

export function addNicOption(cmd: Command): Command {
  return cmd.option("--nic <path>", `the NIC daemon's socket, or "local" for a NIC inside this command (default: $KOPI_NIC or ${defaultNicPath()})`);
}

/** `30s`, `2m`, `500ms`, `1h`, or plain seconds. */
export function parseDuration(text: string, what = "duration"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`${what} '${text}' is not a duration such as 30s, 2m or 500ms`);
  const n = Number(m[1]);
  const ms = n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  if (ms > 24 * 3600 * 1000) throw new CliError(`${what} '${text}' is longer than a day`);
  return Math.round(ms);
}

/** Parse an integer option; a CliError names the option otherwise. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new CliError(`${what} '${text}' is not a number`);
  const n = Number(text);
  if (n < min || n > max) throw new CliError(`${what} ${n} is outside ${min} … ${max}`);
  return n;
}

/** JSON with bigints as numbers when they fit, else decimal strings. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_k, v) => (typeof v === "bigint" ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v instanceof Uint8Array || v instanceof Uint32Array ? Array.from(v) : v),
      2,
    ) + "\n"
  );
}
