/**
 * Without -n the printer names ports from /etc/services and MAC vendors from tcpdump's OUI table (it never
 * resolves host names); with -n or -nn everything is numeric, as tcpdump 4.99.3 prints it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_PRINT_OPTIONS } from "../../hostctl/print/print-options.js";
import { CORPUS, printFile } from "./helpers.js";

process.env.TZ = "UTC";

function servicesName(port: number, protocol: "tcp" | "udp"): string | undefined {
  try {
    const line = readFileSync("/etc/services", "utf8")
      .split("\n")
      .find((l) => new RegExp(`^\\S+\\s+${port}/${protocol}\\b`).test(l));
    return line?.split(/\s+/)[0];
  } catch {
    return undefined;
  }
}

describe("names without -n", () => {
  it("names ports from the services database and prints addresses as numbers", () => {
    const name = servicesName(53, "udp") ?? "53";
    const text = printFile(join(CORPUS, "ethernet/tcpdump/dns_udp.pcap"), { ...DEFAULT_PRINT_OPTIONS });
    expect(text.split("\n")[0]).toBe(
      `09:19:54.740079 IP 192.168.1.11.43966 > 209.87.249.18.${name}: 22836+ [1au] A? www.tcpdump.org. (56)`,
    );
    const numeric = printFile(join(CORPUS, "ethernet/tcpdump/dns_udp.pcap"), { ...DEFAULT_PRINT_OPTIONS, numeric: true });
    expect(numeric.split("\n")[0]).toContain("209.87.249.18.53: ");
  });

  it("adds the OUI name to MAC addresses and calls ff:ff:ff:ff:ff:ff Broadcast", () => {
    const text = printFile(join(CORPUS, "ethernet/packetnet/arp_request_response.pcap"), {
      ...DEFAULT_PRINT_OPTIONS,
      linkHeader: true,
    });
    expect(text.split("\n")[0]).toBe(
      "03:30:14.249793 00:04:61:99:01:54 (oui Unknown) > Broadcast, ethertype ARP (0x0806), length 60: Request who-has 192.168.1.214 tell 192.168.1.202, length 46",
    );
    expect(text.split("\n")[1]).toContain("is-at 00:21:6a:02:08:54 (oui Unknown), length 28");
  });

  it("names protocols it cannot decode as tcpdump's built-in table does", () => {
    const text = printFile(join(CORPUS, "ethernet/packetnet/802.1ad_vlan_ipv4.pcap"), { ...DEFAULT_PRINT_OPTIONS });
    expect(text).toBe("07:22:03.814664 IP 192.85.1.22 > 192.85.1.14:  exptest-253 1454\n");
  });
});
