/**
 * `hostctl nic start --state FILE` keeps the egress qdisc and the link rate with the policy: a restarted NIC
 * comes back with the same qdisc image (same CRC, same listing) on a link of the same rate, a deleted qdisc stays
 * deleted, state files written before the qdisc was saved still load, and a broken qdisc in the file refuses
 * the start with the file's name — leaving the file as it was.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileQos } from "../../compiler/qos/compile.js";
import { crc32 } from "../../overlay-isa/index.js";
import { REG } from "../../fpga-model/registers.js";
import { runQdiscAdd, runQdiscDel, runShow } from "../../hostctl/commands/qdisc.js";
import { startNic, type RunningNic } from "../../hostctl/commands/nic.js";
import { SocketTransport } from "../../hostctl/daemon/client.js";
import { NicDriver } from "../../hostctl/driver/driver.js";
import { PolicyDriver } from "../../hostctl/driver/policy-driver.js";
import { qdiscImageOf, QdiscDriver } from "../../hostctl/driver/qdisc-driver.js";
import { bundleOf } from "../../hostctl/qos/bundle.js";
import { frame, kopi, tempDir } from "./helpers.js";

const HTB = `qos dev nic0 {
  qdisc htb handle 1: root default 20
  class 1:1 htb rate 10mbit
  class 1:10 parent 1:1 htb rate 8mbit ceil 10mbit prio 0
  class 1:20 parent 1:1 htb rate 2mbit ceil 2mbit prio 1
  filter prio 1 udp dport 5432 flowid 1:10
}
`;
const POLICY = "table filter {\n  chain egress { policy accept;\n    udp dport 9 drop\n  }\n}\n";

function egress(n: number, t0: number, dport = 5432) {
  return { frames: Array.from({ length: n }, () => frame({ proto: "udp", dport, size: 1250 })), timesUs: Array.from({ length: n }, () => t0), dir: 1 as const };
}

/** What a state file holds, parsed. */
function saved(file: string): { revision: number; state: unknown; qdisc: { generation: number; image?: string; policy: { text: string } } | null; linkKbit?: number } {
  return JSON.parse(readFileSync(file, "utf8"));
}

async function connect(nic: RunningNic): Promise<{ t: SocketTransport; driver: NicDriver; qd: QdiscDriver }> {
  const t = await SocketTransport.connect(nic.socketPath);
  const driver = new NicDriver(t);
  return { t, driver, qd: new QdiscDriver(driver) };
}

describe("nic start --state keeps the qdisc", () => {
  it("a restart comes back with the same qdisc, link rate and policy; a deleted qdisc stays deleted", async () => {
    const { dir, cleanup } = tempDir();
    const state = join(dir, "nic-state.json");
    const policyFile = join(dir, "htb.qos");
    writeFileSync(policyFile, HTB);
    const sock = join(dir, "n.sock");
    try {
      let nic = await startNic({ socket: sock, state });
      let c = await connect(nic);
      await new PolicyDriver(c.driver).load(kopi(POLICY));
      await runQdiscAdd("add", ["dev", "nic0", "root"], { policy: policyFile, nic: sock, link: "10mbit" });
      // saved at the change (a crash now restarts from this file)
      let file = saved(state);
      expect(file.linkKbit).toBe(10_000);
      expect(file.qdisc).toMatchObject({ generation: 1, policy: { text: HTB } });
      const img = qdiscImageOf(bundleOf(compileQos(HTB, policyFile, { format: "qos" })));
      expect(file.qdisc!.image).toBe(Buffer.from(img).toString("base64"));
      const listing = (await runShow("class", ["dev", "nic0"], { nic: sock })).stdout;
      copyFileSync(state, join(dir, "crash.json"));
      await c.t.close();
      await nic.stop();

      for (const from of [state, join(dir, "crash.json")]) {
        nic = await startNic({ socket: sock, state: from });
        expect(saved(from).qdisc?.image, "restoring writes nothing back").toBe(Buffer.from(img).toString("base64"));
        c = await connect(nic);
        const st = await c.qd.status();
        expect(st).toMatchObject({ generation: 1, linkKbit: 10_000, crc: crc32(img) });
        expect((await c.t.getQdiscState()).state).toMatchObject({ generation: 1, policy: { file: policyFile, format: "qos", text: HTB } });
        expect((await runShow("class", ["dev", "nic0"], { nic: sock })).stdout).toBe(listing);
        expect((await new PolicyDriver(c.driver).live()).record.state!.policy!.text).toBe(POLICY);
        // the restored qdisc schedules: packets at one instant queue behind the 10 Mbit/s link
        await c.driver.inject(egress(20, 1_000_000));
        expect((await c.qd.snapshot()).head).toMatchObject({ generation: 1, enqueued: 20, passed_packets: 0, sent_packets: 1, backlog_packets: 19 });
        await c.t.close();
        await nic.stop();
      }

      // a deleted qdisc is saved as deleted; the link keeps its rate
      nic = await startNic({ socket: sock, state });
      c = await connect(nic);
      await runQdiscDel(["dev", "nic0", "root"], { nic: sock });
      file = saved(state);
      expect(file.qdisc).toBeNull();
      expect(file.linkKbit).toBe(10_000);
      await c.t.close();
      await nic.stop();
      nic = await startNic({ socket: sock, state });
      c = await connect(nic);
      expect(await c.qd.status()).toMatchObject({ generation: 0, linkKbit: 10_000 });
      expect((await c.t.getQdiscState()).state).toBeNull();
      expect((await new PolicyDriver(c.driver).live()).record.state!.policy!.text).toBe(POLICY);
      await c.t.close();
      await nic.stop();
    } finally {
      cleanup();
    }
  });

  it("loads state files written before the qdisc was saved; refuses a broken qdisc and leaves the file alone", async () => {
    const { dir, cleanup } = tempDir();
    const state = join(dir, "s.json");
    const sock = join(dir, "o.sock");
    const policyFile = join(dir, "htb.qos");
    writeFileSync(policyFile, HTB);
    try {
      let nic = await startNic({ socket: sock, state });
      let c = await connect(nic);
      await new PolicyDriver(c.driver).load(kopi(POLICY));
      await runQdiscAdd("add", [], { policy: policyFile, nic: sock, link: "10mbit" });
      await c.t.close();
      await nic.stop();
      const full = saved(state);

      // the format of before: no qdisc, no linkKbit
      const old = join(dir, "old.json");
      writeFileSync(old, JSON.stringify({ kopiNicState: 1, revision: full.revision, state: full.state }) + "\n");
      nic = await startNic({ socket: sock, state: old });
      c = await connect(nic);
      expect(await c.qd.status()).toMatchObject({ generation: 0, linkKbit: 100_000_000 });
      expect((await new PolicyDriver(c.driver).live()).record.state!.policy!.text).toBe(POLICY);
      await c.t.close();
      await nic.stop();

      const broken: [string, object, RegExp][] = [
        ["format", { ...full, qdisc: { ...full.qdisc, policy: { ...full.qdisc!.policy, format: "yaml" } } }, /: qdisc\.policy\.format must be qos or tc/],
        ["no image", { ...full, qdisc: { ...full.qdisc, image: undefined } }, /: qdisc\.image is missing/],
        ["not base64", { ...full, qdisc: { ...full.qdisc, image: "!!" } }, /: qdisc\.image must be base64 text/],
        ["not a qdisc image", { ...full, qdisc: { ...full.qdisc, image: Buffer.from("not a qdisc image").toString("base64") } }, /: the saved qdisc cannot be loaded: the NIC refused the qdisc image: malformed at byte \d+/],
        ["link rate", { ...full, linkKbit: 0 }, /: linkKbit must be the egress link rate in kbit\/s/],
      ];
      for (const [what, content, message] of broken) {
        const text = JSON.stringify(content);
        writeFileSync(state, text);
        const e = await startNic({ socket: sock, state }).then(
          () => undefined,
          (x: unknown) => x as Error,
        );
        expect(e?.message, what).toMatch(message);
        expect(e!.message.startsWith(`${state}: `), what).toBe(true);
        expect(readFileSync(state, "utf8"), what).toBe(text);
      }
    } finally {
      cleanup();
    }
  });

  it("writes the link rate when a transaction sets it, even without a qdisc change", async () => {
    const { dir, cleanup } = tempDir();
    const state = join(dir, "l.json");
    try {
      const nic = await startNic({ socket: join(dir, "l.sock"), state });
      const c = await connect(nic);
      await c.qd.setLinkRate(25_000);
      expect(saved(state)).toMatchObject({ qdisc: null, linkKbit: 25_000, state: null });
      expect(await c.driver.readRegisters([REG.EG_LINK_KBIT])).toEqual([25_000]);
      await c.t.close();
      await nic.stop();
    } finally {
      cleanup();
    }
  });
});
