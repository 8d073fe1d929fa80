/**
 * The process view's figures: packets/s through the NIC model's data path with owner lookup and steering into
 * connection rings, for 1, 1,000 and 100,000 connections (against the same traffic with no application attached,
 * where no lookup happens); and notification latency — the overlay cycles of the packet that produces the
 * notification, and the wall time from its injection to the sleeping application's wake-up (interrupt, bottom
 * half, the application's check and pop) on the in-process control plane.
 */
import { NicHost } from "../hostctl/daemon/nic-host.js";
import { LocalTransport } from "../hostctl/daemon/local-transport.js";
import { NicDriver } from "../hostctl/driver/driver.js";
import { PolicyDriver } from "../hostctl/driver/policy-driver.js";
import { AppService } from "../hostctl/apps/service.js";
import { LibOS } from "../hostctl/apps/libos.js";
import { CONN_REG, REG } from "../fpga-model/registers.js";
import { ipFrame } from "../examples/scenarios/traffic.js";

export interface SteeringFigure {
  connections: number;
  packets: number;
  /** packets per second through receive + process, steering into the rings */
  packetsPerSecond: number;
  nsPerPacket: number;
  /** the same traffic with no application attached (no owner lookup, no steering) */
  baselineNsPerPacket: number;
  steered: number;
}

export interface AppsBenchFigures {
  steering: SteeringFigure[];
  notification: {
    /** overlay cycles of the notifying packet's program path, and that time at the model's clock */
    cycles: number;
    cyclesNs: number;
    clockMHz: number;
    /** injection → the sleeper's wait resolved, µs */
    wallUsMedian: number;
    wallUsP99: number;
    samples: number;
  };
}

const POLICY = `table filter {
  chain ingress { policy accept;
    tcp dport 22 drop
    udp dport 9999 owner user nobody drop
  }
}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function nicWithPolicy(connections: number): Promise<{ host: NicHost; service: AppService }> {
  const host = await NicHost.create({ config: { connections: Math.max(connections, 1), queueMemoryBytes: 2 ** 40, notifySlots: 4096 } });
  const t = new LocalTransport(host);
  await new PolicyDriver(new NicDriver(t)).load({ file: "bench.kopi", format: "kopi", text: POLICY, host: JSON.stringify({ users: { nobody: 65534 } }) });
  return { host, service: AppService.for(host) };
}

/** One UDP frame per connection: remote 10.x.y.z:port → this host's port 7000. */
function frameFor(i: number): Uint8Array {
  return ipFrame({ proto: "udp", src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i % 60000), dst: "10.0.0.2", dport: 7000, inbound: true });
}

/** Time receive + process of `rounds` batches; rings are emptied between batches, outside the timing. */
function timeBatches(host: NicHost, batch: Uint8Array[], rounds: number, release: () => void): number {
  const dev = host.device;
  let ns = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    dev.receive({ frames: batch });
    dev.process();
    ns += Number(process.hrtime.bigint() - t0);
    release();
  }
  return ns;
}

async function steering(connections: number, totalPackets: number): Promise<SteeringFigure> {
  const ringSlots = connections === 1 ? 4096 : connections <= 1000 ? 64 : 4;
  const batchSize = Math.min(totalPackets, connections * ringSlots, 65536);
  const rounds = Math.max(1, Math.round(totalPackets / batchSize));
  const frames = Array.from({ length: Math.min(connections, batchSize) }, (_, i) => frameFor(i));
  const batch = Array.from({ length: batchSize }, (_, i) => frames[i % frames.length]!);

  // the baseline: nobody attached, so no packet is looked up
  const base = await nicWithPolicy(1);
  timeBatches(base.host, batch.slice(0, 4096), 2, () => {}); // warm-up
  const baseNs = timeBatches(base.host, batch, rounds, () => {});

  const { host, service } = await nicWithPolicy(connections);
  const app = service.attach({ pid: 1, uid: 1, gid: 1, cmd: "bench" });
  const pages: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    const c = service.open({ app: app.app, kind: "connection", proto: 17, local: { address: { v6: false, words: [0x0a000002, 0, 0, 0] }, port: 7000 }, remote: { address: { v6: false, words: [(0x0a000000 | (i & 0xffffff)) >>> 0, 0, 0, 0] }, port: 1024 + (i % 60000) }, rxSlots: ringSlots, txSlots: 2 });
    pages.push(c.page);
  }
  const dev = host.device;
  const release = () => {
    for (const page of pages) dev.write32(page + CONN_REG.CP_RX_TAIL, dev.read32(page + CONN_REG.CP_RX_HEAD));
  };
  timeBatches(host, batch.slice(0, Math.min(batch.length, 4096)), 2, release);
  dev.write32(REG.STATS_CLEAR, 1);
  const ns = timeBatches(host, batch, rounds, release);
  dev.write32(REG.STATS_LATCH, 1);
  const packets = batch.length * rounds;
  const steered = service.list().stats.steered;
  return { connections, packets, packetsPerSecond: Math.round((packets / ns) * 1e9), nsPerPacket: Math.round((ns / packets) * 100) / 100, baselineNsPerPacket: Math.round((baseNs / packets) * 100) / 100, steered };
}

async function notification(samples: number): Promise<AppsBenchFigures["notification"]> {
  const { host, service } = await nicWithPolicy(16);
  const app = service.attach({ pid: 1, uid: 1, gid: 1, cmd: "bench" });
  const conn = service.open({ app: app.app, kind: "connection", proto: 17, local: { address: { v6: false, words: [0x0a000002, 0, 0, 0] }, port: 7000 }, remote: { address: { v6: false, words: [0x0a000000, 0, 0, 0] }, port: 1024 } });
  const os = LibOS.local(host, app.app);
  const t = new LocalTransport(host);
  const frame = frameFor(0);
  const wall: number[] = [];
  let cycles = 0;
  for (let i = 0; i < samples + 20; i++) {
    const woke = os.wait(os.pop(conn.conn), 10_000);
    // let the application reach its sleep before the packet comes
    while (service.sleeping === 0) await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const outcome = t.inject({ frames: [frame] });
    await woke;
    const us = (performance.now() - t0) * 1000;
    cycles = (await outcome).cycles[0]!;
    if (i >= 20) wall.push(us); // the first ones warm the code up
  }
  const clockMHz = host.device.clockMHz;
  return { cycles, cyclesNs: Math.round((cycles * 1000) / clockMHz), clockMHz, wallUsMedian: Math.round(median(wall) * 10) / 10, wallUsP99: Math.round(percentile(wall, 0.99) * 10) / 10, samples };
}

/** The figures, as one plain object. */
export async function benchApps(opts: { packets?: number; samples?: number } = {}): Promise<AppsBenchFigures> {
  const packets = opts.packets ?? 400_000;
  const rows: SteeringFigure[] = [];
  for (const n of [1, 1000, 100_000]) rows.push(await steering(n, packets));
  return { steering: rows, notification: await notification(opts.samples ?? 200) };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  benchApps().then((r) => process.stdout.write(JSON.stringify(r, null, 2) + "\n"));
}
