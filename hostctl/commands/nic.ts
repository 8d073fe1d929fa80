/**
 * `hostctl nic start [--socket PATH] [--state FILE]`: run the NIC model as a long-lived daemon that every other
 * command reaches over its Unix socket; `hostctl nic stop`: ask it to stop. With --state the daemon restores
 * the last committed configuration at start — the policy, the egress qdisc and the egress link's rate — and
 * records every committed change; a clean stop (nic stop, SIGINT, SIGTERM) also saves the counters so a restart
 * continues them (qdisc statistics start from zero, as tc's do after a reboot).
 */
import type { Command } from "commander";
import type { NicConfig } from "../../fpga-model/nic-device.js";
import { SocketTransport } from "../daemon/client.js";
import { NicHost } from "../daemon/nic-host.js";
import { NicServer } from "../daemon/server.js";
import { parseTierOption, TIER_HELP } from "../tier-option.js";
import { addNicOption, defaultNicPath, parseInteger, toCliError } from "./nic-session.js";

export interface NicStartOptions {
  socket?: string;
  state?: string;
  cores?: string;
  clock?: string;
  tableBlocks?: string;
  flowCapacity?: string;
  captureSlots?: string;
  tier?: string;
}

export interface RunningNic {
  host: NicHost;
  server: NicServer;
  socketPath: string;
  /** resolves when the daemon has stopped */
  stopped: Promise<void>;
  /** stop: finish pending packets, save state and counters, close the socket */
  stop(): Promise<void>;
}

export function nicConfig(opts: NicStartOptions): NicConfig {
  const config: NicConfig = {};
  if (opts.cores !== undefined) config.cores = parseInteger(opts.cores, "--cores", 1, 1024);
  if (opts.clock !== undefined) config.clockMHz = parseInteger(opts.clock, "--clock", 1, 2000);
  if (opts.tableBlocks !== undefined) config.tableBlocks = parseInteger(opts.tableBlocks, "--table-blocks", 1, 1 << 20);
  if (opts.flowCapacity !== undefined) config.flowCapacity = parseInteger(opts.flowCapacity, "--flow-capacity", 1, 1 << 24);
  if (opts.captureSlots !== undefined) config.captureSlots = parseInteger(opts.captureSlots, "--capture-slots", 1, 1 << 20);
  config.tier = parseTierOption(opts.tier, "interpreter");
  return config;
}

/** Start a daemon in this process (the command, and tests, use it). */
export async function startNic(opts: NicStartOptions, log: (line: string) => void = () => {}, tuning: { pumpSlice?: number } = {}): Promise<RunningNic> {
  const socketPath = opts.socket ?? defaultNicPath();
  const host = await NicHost.create({ config: nicConfig(opts), ...(opts.state !== undefined ? { stateFile: opts.state } : {}), log, ...tuning });
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const running: RunningNic = {
    host,
    server: undefined as unknown as NicServer,
    socketPath,
    stopped,
    stop: () => {
      stopping ??= (async () => {
        host.shutdown();
        await running.server.close();
        resolveStopped();
      })();
      return stopping;
    },
  };
  running.server = await NicServer.start({ socketPath, host, log, onShutdown: () => void running.stop() });
  return running;
}

export function registerNic(program: Command): void {
  const nic = program.command("nic").description("run or stop the NIC daemon (the NIC model every other command talks to)");
  nic
    .command("start")
    .description("run the NIC model as a daemon on a Unix socket (in the foreground; stop it with Ctrl-C, SIGTERM or `hostctl nic stop`)")
    .option("--socket <path>", `socket to listen on (default: $KOPI_NIC or ${defaultNicPath()})`)
    .option("--state <file>", "restore the last committed configuration (policy, qdisc, link rate) from this file at start, and keep it up to date")
    .option("--cores <n>", "overlay cores the timing model assumes (default 16)")
    .option("--clock <MHz>", "overlay clock the timing model assumes (default 250)")
    .option("--table-blocks <n>", "table memory per program slot, in 36 Kib BRAM blocks (default 1024)")
    .option("--flow-capacity <n>", "flows the connection-tracking table holds (default 65536)")
    .option("--capture-slots <n>", "entries of the capture ring (default 4096)")
    .option("--tier <tier>", `${TIER_HELP} (default interpreter)`)
    .action(async (opts: NicStartOptions) => {
      const log = (line: string) => process.stderr.write(`hostctl nic: ${line}\n`);
      let running: RunningNic;
      try {
        running = await startNic(opts, log);
      } catch (e) {
        throw toCliError(e);
      }
      log(`listening on ${running.socketPath}${opts.state ? `, state in ${opts.state}` : ""}`);
      const onSignal = () => void running.stop();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      await running.stopped;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      log("stopped");
    });
  addNicOption(
    nic
      .command("stop")
      .description("ask the NIC daemon to stop (it saves its state and counters first when it has a --state file)")
      .action(async (opts: { nic?: string }) => {
        try {
          const t = await SocketTransport.connect(opts.nic ?? defaultNicPath());
          await t.shutdown();
          await t.close();
        } catch (e) {
          throw toCliError(e);
        }
      }),
  );
}
