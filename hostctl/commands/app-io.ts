/**
 * `hostctl app send` and `hostctl app recv`: this command becomes the application that owns a connection
 * (or, with --as, another one — to watch the NIC refuse it) and uses the queue API (hostctl/apps/libos.ts).
 *
 *   send: post the frames of a capture on the connection's transmit ring, wait until the NIC has finished
 *         them, and report what the egress policy did (sent, dropped) and what was refused as not the
 *         connection's own (a forged 5-tuple, or a frame another application's connection owns);
 *   recv: sleep in `wait` until packets arrive on the connection's receive ring, print them tcpdump-style
 *         (-w: to a pcap file), and say how the sleeps ended (interrupts, not polling).
 */
import type { Command } from "commander";
import { AppControl } from "../apps/control.js";
import type { LibOS } from "../apps/libos.js";
import type { ConnInfo } from "../apps/service.js";
import { CliError } from "../errors.js";
import { BufferedOutput, FdSink } from "../pcap/byte-sink.js";
import { CapturedPacket } from "../pcap/packet.js";
import { PcapWriter } from "../pcap/pcap-writer.js";
import { DEFAULT_PRINT_OPTIONS, PacketPrinter } from "../print/index.js";
import { connectAsApp, withApps } from "./app-session.js";
import { emit, type CommandOutput } from "./load.js";
import { addNicOption, parseDuration, parseInteger, toJson } from "./nic-session.js";
import { openCaptureInput } from "./packet-batches.js";

export interface SendOptions {
  conn: string;
  as?: string;
  read: string;
  timeout?: string;
  nic?: string;
  json?: boolean;
}

export interface RecvOptions {
  conn: string;
  as?: string;
  count?: string;
  timeout?: string;
  write?: string;
  n?: boolean;
  nic?: string;
  json?: boolean;
}

async function connectionOf(ctl: AppControl, conn: number): Promise<ConnInfo & { tx: { sent: number; dropped: number; refused: number } }> {
  const c = (await ctl.list()).connections.find((x) => x.conn === conn);
  if (!c) throw new CliError(`connection ${conn} is not open (see hostctl app list)`, 1);
  return c;
}

function wakeups(libos: LibOS): string {
  const s = libos.stats;
  return `slept ${s.sleeps} time${s.sleeps === 1 ? "" : "s"} in wait, woken ${s.interrupt} time${s.interrupt === 1 ? "" : "s"} by an interrupt; ${s.checks} ring checks in all (no polling)`;
}

export async function runAppSend(opts: SendOptions): Promise<CommandOutput> {
  const conn = parseInteger(opts.conn, "--conn", 1, 0xffffffff);
  const timeoutMs = opts.timeout !== undefined ? parseDuration(opts.timeout, "--timeout") : 60_000;
  return withApps(opts.nic, async (s) => {
    const ctl = new AppControl(s.transport);
    const before = await connectionOf(ctl, conn);
    const app = opts.as !== undefined ? parseInteger(opts.as, "--as", 1, 0xffff) : before.app;
    const input = await openCaptureInput(opts.read, before.txSlots);
    if (input.info.dlt !== 1) throw new CliError(`${opts.read}: link type ${input.info.dlt}; a connection's ring carries Ethernet frames`);
    const libos = await connectAsApp(opts.nic, app);
    let frames = 0;
    try {
      for await (const batch of input.batches) {
        const qt = await libos.push(conn, batch.map((p) => p.data), timeoutMs);
        await libos.wait(qt, timeoutMs);
        frames += batch.length;
      }
    } finally {
      await libos.close();
    }
    const after = await connectionOf(ctl, conn);
    const d = { posted: frames, sent: after.tx.sent - before.tx.sent, dropped: after.tx.dropped - before.tx.dropped, refused: after.tx.refused - before.tx.refused };
    if (opts.json) return { stdout: toJson({ conn, app, ...d, wakeups: libos.stats }), stderr: "" };
    return {
      stdout: `conn ${conn} (as app ${app}): ${d.posted} frame${d.posted === 1 ? "" : "s"} posted: ${d.sent} sent, ${d.dropped} dropped by the egress policy, ${d.refused} refused by the NIC (not this connection's addresses and ports)\n`,
      stderr: `${wakeups(libos)}\n`,
    };
  });
}

/** Receive: resolves when `count` packets have arrived (or the timeout ends the wait). */
export async function runAppRecv(opts: RecvOptions, onPacket?: (line: string) => void): Promise<CommandOutput> {
  const conn = parseInteger(opts.conn, "--conn", 1, 0xffffffff);
  const count = opts.count !== undefined ? parseInteger(opts.count, "-c", 1, 1 << 30) : 1;
  const timeoutMs = opts.timeout !== undefined ? parseDuration(opts.timeout, "--timeout") : 3600_000;
  return withApps(opts.nic, async (s) => {
    const ctl = new AppControl(s.transport);
    const info = await connectionOf(ctl, conn);
    const app = opts.as !== undefined ? parseInteger(opts.as, "--as", 1, 0xffff) : info.app;
    const libos = await connectAsApp(opts.nic, app);
    const printer = new PacketPrinter(1, { ...DEFAULT_PRINT_OPTIONS, numeric: opts.n === true });
    const writer = opts.write !== undefined ? new PcapWriter(new BufferedOutput(opts.write === "-" ? new FdSink(1, false, "standard output") : FdSink.create(opts.write)), { linkType: 1, snapshotLength: 262144 }) : undefined;
    let stdout = "";
    const packets: { index: number; generation: number; mark: number; wireLength: number }[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const r = await libos.wait(libos.pop(conn), timeoutMs);
        if (r.opcode !== "pop") continue;
        const p = r.packet;
        const seconds = Math.floor(p.timeUs / 1e6);
        const captured = new CapturedPacket(seconds, Math.round((p.timeUs - seconds * 1e6) * 1000), p.wireLength, p.data);
        packets.push({ index: p.index, generation: p.generation, mark: p.mark, wireLength: p.wireLength });
        if (writer) writer.write(captured);
        else {
          const line = printer.format(captured, i + 1);
          // live (the command prints each as it comes) or collected (tests, scripts)
          if (onPacket) onPacket(line);
          else stdout += line;
        }
      }
    } finally {
      writer?.close();
      await libos.close();
    }
    if (opts.json) return { stdout: toJson({ conn, app, packets, wakeups: libos.stats }), stderr: "" };
    return { stdout, stderr: `${packets.length} packet${packets.length === 1 ? "" : "s"} received on conn ${conn}; ${wakeups(libos)}\n` };
  });
}

export function registerAppIo(app: Command): void {
  addNicOption(
    app
      .command("send")
      .description("act as the application: post a capture's frames on a connection's transmit ring (the egress policy judges each; forged ones are refused)")
      .requiredOption("--conn <id>", "the connection")
      .requiredOption("-r, --read <file>", "pcap or pcapng file of Ethernet frames ('-' for standard input)")
      .option("--as <app>", "act as this application instead of the connection's owner (the NIC refuses it)")
      .option("--timeout <duration>", "give up waiting for the ring after this long (default 60s)")
      .option("--json", "print the result as JSON"),
  ).action(async (opts: SendOptions) => emit(await runAppSend(opts)));
  addNicOption(
    app
      .command("recv")
      .description("act as the application: sleep until packets arrive on a connection's receive ring and print them")
      .requiredOption("--conn <id>", "the connection")
      .option("-c, --count <n>", "packets to receive before exiting (default 1)")
      .option("-w, --write <file>", "write them to a pcap file ('-' for standard output) instead of printing")
      .option("-n", "print port numbers, not names")
      .option("--as <app>", "act as this application instead of the connection's owner (the NIC refuses it)")
      .option("--timeout <duration>", "give up after this long (default 1h)")
      .option("--json", "print the packets' ring metadata and the wake-ups as JSON"),
  ).action(async (opts: RecvOptions) => emit(await runAppRecv(opts, (line) => process.stdout.write(line))));
}
