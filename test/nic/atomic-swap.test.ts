/**
 * Atomic swap under traffic: packets stream in while new policies are committed again and again. Every packet
 * must be judged wholly by the one generation it latched (its mark and verdict both say which policy), and the
 * NIC's statistics must account for every packet exactly once: rx = accepted + dropped + queued + mirrored-only.
 */
import { describe, expect, it } from "vitest";
import { DISPOSITION, dispositionOf, type BatchOutcome } from "../../fpga-model/packets.js";
import type { NicDriver } from "../../hostctl/driver/driver.js";
import type { PolicyDriver } from "../../hostctl/driver/policy-driver.js";
import { ACCEPT, daemon, frame, kopi, localNic } from "./helpers.js";

/** Policy k: DNS gets mark k; TCP port 1000+k is accepted; 7000 goes to queue 3; 7001 is mirrored and dropped. */
function policy(k: number): string {
  return `table filter {
  chain ingress { policy drop;
    udp dport 53 mark set ${k} accept
    tcp dport ${1000 + k} accept
    tcp dport 7000 queue num 3
    tcp dport 7001 mirror drop
  }
}
`;
}

const COMMITS = 30;
const BATCHES = 120;
const BATCH = 200;

/** Traffic of batch b: DNS, TCP to ports 1000…1000+COMMITS, the queue and mirror ports. */
function batchFrames(b: number): { frames: Uint8Array[]; kinds: ("dns" | number)[] } {
  const frames: Uint8Array[] = [];
  const kinds: ("dns" | number)[] = [];
  for (let i = 0; i < BATCH; i++) {
    const n = (b * BATCH + i) % (COMMITS + 4);
    if (n === 0) {
      frames.push(frame({ proto: "udp", dport: 53, sport: 1024 + i }));
      kinds.push("dns");
    } else if (n <= COMMITS + 1) {
      frames.push(frame({ dport: 1000 + n, sport: 1024 + i }));
      kinds.push(1000 + n);
    } else {
      const port = n === COMMITS + 2 ? 7000 : 7001;
      frames.push(frame({ dport: port, sport: 1024 + i }));
      kinds.push(port);
    }
  }
  return { frames, kinds };
}

/** Check every packet against the policy its generation ran; returns packets per disposition. */
function checkOutcomes(all: { outcome: BatchOutcome; kinds: ("dns" | number)[] }[], policyOfGeneration: Map<number, number>): Record<string, number> {
  const tally: Record<string, number> = { accepted: 0, dropped: 0, queued: 0, mirroredOnly: 0 };
  for (const { outcome, kinds } of all) {
    kinds.forEach((kind, i) => {
      const g = outcome.generations[i]!;
      const k = policyOfGeneration.get(g);
      expect(k, `generation ${g} of a packet is one the test committed`).toBeDefined();
      const verdict = outcome.verdicts[i]!;
      const mark = outcome.marks[i]!;
      if (kind === "dns") {
        expect(verdict).toBe(ACCEPT);
        expect(mark).toBe(k);
      } else if (kind === 7000) {
        expect(verdict & 0xff).toBe(2); // queue
        expect(verdict >>> 8).toBe(3);
      } else if (kind === 7001) {
        expect(verdict).toBe(0);
        expect(outcome.flags[i]! & 2).toBe(2); // mirror bit
      } else {
        expect(verdict, `port ${kind} under policy ${k}`).toBe(kind === 1000 + k! ? ACCEPT : 0);
        expect(mark).toBe(0);
      }
      tally[dispositionOf(outcome.flags[i]!)]!++;
    });
  }
  return tally;
}

async function conservation(driver: NicDriver, injected: number, tally: Record<string, number>): Promise<void> {
  const s = await driver.stats();
  expect(s.rx_packets).toBe(BigInt(injected));
  expect(s.accepted + s.dropped + s.queued + s.mirrored_only).toBe(s.rx_packets);
  expect(s.accepted).toBe(BigInt(tally.accepted!));
  expect(s.dropped).toBe(BigInt(tally.dropped!));
  expect(s.queued).toBe(BigInt(tally.queued!));
  expect(s.mirrored_only).toBe(BigInt(tally.mirroredOnly!));
  // every disposition happened, so the check covers each path
  for (const d of Object.keys(DISPOSITION)) expect(tally[d], d).toBeGreaterThan(0);
}

async function swapUnderTraffic(traffic: NicDriver, control: PolicyDriver): Promise<void> {
  const policyOfGeneration = new Map<number, number>([[0, -1]]);
  const first = await control.load(kopi(policy(1)));
  policyOfGeneration.set(first.generation, 1);
  await control.driver.bindQueue(3, 2);
  const all: Promise<{ outcome: BatchOutcome; kinds: ("dns" | number)[] }>[] = [];
  let sent = 0;
  let latchedBehind = 0;
  let b = 0;
  for (let k = 2; k <= COMMITS; k++) {
    // a few batches in flight, then a commit while they wait or run
    for (let j = 0; j < BATCHES / COMMITS; j++, b++) {
      const { frames, kinds } = batchFrames(b);
      sent += frames.length;
      all.push(traffic.inject({ frames }).then((outcome) => ({ outcome, kinds })));
    }
    const r = await control.load(kopi(policy(k)));
    policyOfGeneration.set(r.generation, k);
    if ((r.inflightAtCommit ?? 0) > 0) latchedBehind++;
  }
  const results = await Promise.all(all);
  const tally = checkOutcomes(results, policyOfGeneration);
  expect(latchedBehind, "commits that happened with packets of the old generation still queued").toBeGreaterThan(0);
  // every generation judged some packets, so commits really interleaved with traffic
  const seen = new Set(results.flatMap((r) => Array.from(r.outcome.generations)));
  expect(seen.size).toBeGreaterThan(COMMITS / 2);
  await conservation(traffic, sent, tally);
}

describe("atomic swap under traffic", () => {
  it("in-process NIC: every packet is judged by the one generation it latched; nothing lost or counted twice", async () => {
    const nic = await localNic({}, 64);
    await swapUnderTraffic(nic.driver, nic.policy);
  });

  it("over the daemon's socket: one client streams traffic while another commits", async () => {
    const d = await daemon({ pumpSlice: 64 });
    try {
      const traffic = await d.connect();
      const control = await d.connect();
      await swapUnderTraffic(traffic.driver, control.policy);
    } finally {
      await d.stopAll();
    }
  });
});
