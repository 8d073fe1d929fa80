/**
 * `npm start`: the OS-integrated NIC in one run. A NIC in this process; the kernel attaches applications and
 * gives them connections; loads the port-partitioning policy; traffic comes in from the wire and goes out of the
 * applications' own rings; then the iptables-style listing, the capture with the process behind every packet,
 * the applications' rings; then a qdisc on the NIC's egress link and the applications' load through it: the game,
 * identified by its cgroup, held to its ceiling while the database keeps its rate (tc's statistics, live).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileQos } from "../compiler/qos/compile.js";
import { egressLoad, LOAD_SECONDS } from "../examples/scenarios/qos/egress-load.js";
import { parseHost } from "../compiler/policy/host.js";
import { formatListing as formatPolicyListing } from "../compiler/policy/listing.js";
import { CAP_CTRL } from "../fpga-model/registers.js";
import { formatTiming } from "../fpga-model/timing.js";
import { findPackageRoot } from "../runtime/wasm-module.js";
import { AppControl } from "./apps/control.js";
import { LibOS } from "./apps/libos.js";
import { annotateOwner, OwnerNames } from "./apps/owner-text.js";
import { formatListing as formatAppListing } from "./commands/app.js";
import { readPolicySource } from "./commands/load.js";
import { loadQdisc, showLive } from "./commands/qdisc.js";
import { readCapture } from "./commands/replay.js";
import { LocalTransport } from "./daemon/local-transport.js";
import { NicHost } from "./daemon/nic-host.js";
import { NicDriver } from "./driver/driver.js";
import { QdiscDriver } from "./driver/qdisc-driver.js";
import { PolicyDriver } from "./driver/policy-driver.js";
import { CapturedPacket, PacketDirection } from "./pcap/packet.js";
import { DEFAULT_PRINT_OPTIONS, PacketPrinter } from "./print/index.js";

const root = findPackageRoot();
const scenario = (f: string) => join(root, "examples", "scenarios", f);
const heading = (text: string) => console.log(`\n== ${text}\n`);

// ---- the NIC and the kernel -----------------------------------------------------------------------------
const host = await NicHost.create();
const transport = new LocalTransport(host);
const driver = new NicDriver(transport);
const policy = new PolicyDriver(driver);
const apps = new AppControl(transport);
const info = await driver.identify();
console.log(`kopi NIC (register map ${info.version}): ${info.cores} overlay cores at ${info.clockMHz} MHz, ${info.appPages - 1} application pages`);

heading("applications (hostctl app attach --from port-partitioning/host.json, and two more)");
const hostJson = scenario("port-partitioning/host.json");
for (const { app, conns } of await apps.attachHost(parseHost(readFileSync(hostJson, "utf8"), hostJson))) {
  console.log(`app ${app.app}: pid ${app.pid} ${app.cmd} (user ${app.user}, cgroup ${app.cgroup ?? "-"}): ${conns.map((c) => `conn ${c.conn} ${c.proto} ${c.local}${c.remote ? ` ↔ ${c.remote}` : " listening"}`).join(", ")}`);
}
const games: number[] = [];
for (const [pid, uid, user, port, peer] of [[9001, 1001, "bob", 51515, "198.51.100.7:27015"], [9002, 1002, "charlie", 62000, "198.51.100.9:27016"]] as const) {
  const game = await apps.attach({ pid, uid, user, cmd: "game", cgroup: `/user.slice/user-${uid}.slice/game.scope` });
  const conn = await apps.open({ app: game.app, proto: "udp", local: `10.0.0.2:${port}`, remote: peer });
  games.push(game.app);
  console.log(`app ${game.app}: pid ${pid} game (user ${user}, cgroup ${game.cgroup}): conn ${conn.conn} udp ${conn.local} ↔ ${conn.remote}`);
}
const flooder = await apps.attach({ pid: 7777, uid: 1003, user: "mallory", cmd: "arpflood" });
const raw = await apps.open({ app: flooder.app, kind: "raw" });
console.log(`app ${flooder.app}: pid 7777 arpflood (user mallory): conn ${raw.conn} raw socket`);

heading("policy (hostctl load port-partitioning/policy.kopi)");
const report = await policy.load(readPolicySource(scenario("port-partitioning/policy.kopi"), { host: hostJson }));
const rules = report.program.ir.chains.reduce((n, c) => n + c.rules.length, 0);
console.log(`generation ${report.generation}: ${rules} rules, ${report.program.image.code.length} instructions, ${report.writes} register writes in one transaction`);
console.log(formatTiming(report.timing));

// ---- traffic: the wire in, the applications out -----------------------------------------------------------
await driver.setCapture(CAP_CTRL.MIRROR | CAP_CTRL.TAP_INGRESS | CAP_CTRL.TAP_EGRESS);
heading("traffic");
const clients = readCapture(scenario("port-partitioning/clients.pcap"));
const inbound = await transport.inject({ frames: clients.packets.map((p) => p.data), linktype: clients.linktype });
const kept = [...inbound.flags].filter((f) => (f >> 2) === 0).length;
console.log(`wire → host: ${clients.packets.length} client packets, ${kept} accepted and steered into their owners' rings, ${clients.packets.length - kept} dropped`);
const sends: [number, string, string][] = [
  [1, "port-partitioning/bob-5432.pcap", "bob's postgres answers"],
  [2, "port-partitioning/charlie-3306.pcap", "charlie's mysqld answers"],
  [3, "port-partitioning/mallory-5432.pcap", "mallory's postgres answers from 5432"],
  [3, "port-partitioning/forged.pcap", "mallory's postgres forges bob's connection"],
  [raw.conn, "debugging/arp-flood.pcap", "arpflood floods"],
];
for (const [conn, file, what] of sends) {
  const owner = (await apps.list()).connections.find((c) => c.conn === conn)!;
  const os = LibOS.local(host, owner.app);
  const frames = readCapture(scenario(file)).packets.slice(0, 3).map((p) => p.data);
  await os.wait(await os.push(conn, frames));
  const after = (await apps.list()).connections.find((c) => c.conn === conn)!;
  console.log(`${what}: ${frames.length} frame${frames.length === 1 ? "" : "s"} from conn ${conn} → sent ${after.tx.sent - owner.tx.sent}, dropped by policy ${after.tx.dropped - owner.tx.dropped}, refused by the NIC ${after.tx.refused - owner.tx.refused}`);
}

heading("hostctl list");
const { record, program } = await policy.live();
process.stdout.write(formatPolicyListing(program!.ir, await policy.counters(record.state!)));

heading("hostctl capture -i nic0 -n -P (the capture ring: every packet with the process behind it)");
const records = await transport.captureRead(0, 4096);
const comments = await new OwnerNames(transport).comments(records);
const printer = new PacketPrinter(1, { ...DEFAULT_PRINT_OPTIONS, numeric: true });
records.forEach((r, i) => {
  const seconds = Math.floor(r.timeUs / 1e6);
  const p = new CapturedPacket(seconds, Math.round((r.timeUs - seconds * 1e6) * 1000), r.wireLength, r.data, 0, r.dir === 0 ? PacketDirection.Inbound : PacketDirection.Outbound, comments[i]);
  const verdict = (r.verdict & 0xff) === 1 ? "" : "  [dropped]";
  process.stdout.write(annotateOwner(printer.format(p, i + 1), p.comment).replace(/\n$/, `${verdict}\n`));
});

heading("hostctl app list");
process.stdout.write(formatAppListing(await apps.list()));

// ---- QoS: the game, known by its cgroup only, shaped on the NIC's egress link ----------------------------------
heading("QoS (hostctl qdisc add dev nic0 --policy examples/qos/game-vs-database.qos --link 100mbit)");
const session = { transport, driver, policy, local: true, close: async () => {} };
const qosFile = join(root, "examples", "qos", "game-vs-database.qos");
const qosText = readFileSync(qosFile, "utf8");
process.stdout.write(await loadQdisc(session, "add", compileQos(qosText, qosFile, { format: "qos" }), { file: "examples/qos/game-vs-database.qos", format: "qos", text: qosText }, 100_000));
// bob's game starts a second session on new ports: a new connection of the same application
const session2 = await apps.open({ app: games[0]!, proto: "udp", local: "10.0.0.2:40404", remote: "198.51.100.8:27777" });
console.log(`app ${games[0]}: a second game session, conn ${session2.conn} udp ${session2.local} ↔ ${session2.remote}`);

heading(`hostctl inject --direction egress: ${LOAD_SECONDS} s of the applications' load at its timestamps (examples/scenarios/qos/egress-load.ts)`);
const qd = new QdiscDriver(driver);
const before = await qd.snapshot();
const load = egressLoad();
await transport.inject({ frames: load.map((p) => p.frame), wireLengths: load.map((p) => p.wireLength), timesUs: load.map((p) => p.timeUs), dir: 1 });
const after = await qd.snapshot();
const offered = (src: string) => load.filter((p) => p.source === src || (src === "games" && p.source !== "database")).reduce((n, p) => n + p.wireLength * 8, 0) / LOAD_SECONDS / 1e6;
console.log(`offered: the database ${offered("database").toFixed(1)} Mbit/s, the games ${offered("games").toFixed(1)} Mbit/s together, on a 100 Mbit/s link`);

heading("hostctl class show dev nic0 -s (the NIC's live counters)");
process.stdout.write((await showLive(session, "class", "nic0", { stats: true })).stdout);
const seconds = (after.head.now_ns - before.head.now_ns) / 1e9;
const mbit = (q: number) => (((after.queues[q]!.sentBytes - before.queues[q]!.sentBytes) * 8) / seconds / 1e6).toFixed(1);
console.log(`\nover ${seconds.toFixed(3)} s of the link: the database (class 1:10) sent ${mbit(0)} Mbit/s, the games (class 1:20) ${mbit(1)} Mbit/s`);
console.log(`The games (the NIC's applications ${games.join(" and ")}) are recognised by their cgroups, whatever their ports: class 1:20 stays within its 10 Mbit/s ceiling while the database keeps its 60 Mbit/s.`);
host.shutdown();
