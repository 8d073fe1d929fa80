/** `npm start`: the OS-integrated NIC demo runs and shows what it says it shows. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const tsx = join(root, "node_modules", ".bin", "tsx");

describe("npm start demo", () => {
  it("attaches applications, loads the policy, moves traffic both ways, and prints the listing, the capture with process names and the QoS result shaped on the NIC", () => {
    const out = execFileSync(tsx, [join(root, "hostctl", "demo.ts")], { encoding: "utf8", cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toMatch(/^app 3: pid 6666 postgres \(user mallory, cgroup \/user\.slice\/user-1003\.slice\): conn 3 tcp 10\.0\.0\.2:5432 ↔ 10\.0\.0\.66:40000, conn 4/m);
    expect(out).toContain("wire → host: 6 client packets, 4 accepted and steered into their owners' rings, 2 dropped");
    expect(out).toContain("mallory's postgres forges bob's connection: 1 frame from conn 3 → sent 0, dropped by policy 0, refused by the NIC 1");
    // the listing: both directions of the partition, counted
    expect(out).toMatch(/\n2 +1 +45 DROP .*anyone else on 5432/);
    expect(out).toMatch(/\n2 +1 +44 DROP .*anyone else from 5432/);
    // the capture: every packet names its process; the violations are marked dropped
    expect(out).toMatch(/IP 10\.0\.0\.66\.40000 > 10\.0\.0\.2\.5432: .* \(pid 6666, user mallory, cmd postgres\)  \[dropped\]\n/);
    expect(out).toMatch(/ARP, Request who-has 10\.0\.0\.1 tell 10\.0\.0\.66, length 46 \(pid 7777, user mallory, cmd arpflood\)\n/);
    expect(out).toMatch(/\nsteering: 4 steered into rings/);
    // QoS on the NIC: the qdisc is loaded through the egress scheduler's registers and shapes the live load
    expect(out).toMatch(/\nadded the egress qdisc: htb 1: root \(4 queues\) as qdisc generation 1, \d+ register writes\n/);
    expect(out).toMatch(/\nclass htb 1:20 parent 1:1 leaf 20: prio 2 rate 5Mbit ceil 10Mbit .*\n Sent \d+ bytes \d+ pkt \(dropped [1-9]\d*,/);
    const shaped = /over ([\d.]+) s of the link: the database \(class 1:10\) sent ([\d.]+) Mbit\/s, the games \(class 1:20\) ([\d.]+) Mbit\/s/.exec(out);
    expect(Number(shaped?.[1])).toBeCloseTo(0.5, 2);
    expect(Number(shaped?.[2])).toBeGreaterThanOrEqual(60); // the database keeps (more than) its rate
    expect(Number(shaped?.[3])).toBeLessThanOrEqual(10.1); // the games, together, at most their ceiling
    expect(Number(shaped?.[3])).toBeGreaterThanOrEqual(9);
    expect(out).toMatch(/The games \(the NIC's applications 4 and 5\) are recognised by their cgroups/);
  });
});
