/**
 * fpga-model/REGISTERS.md, rendered from the register table (registers.ts) — the Markdown is generated, never
 * edited: `npx tsx fpga-model/gen-registers-md.ts` rewrites it and test/nic/registers.test.ts fails when it is
 * stale.
 */
import {
  APP_PAGE_BASE,
  APP_PAGE_SIZE,
  APP_PAGES,
  APP_REGISTERS,
  APPT_CMD,
  BAR0_SIZE,
  CAP_CTRL,
  CAPS,
  CNT_CMD,
  CONN_CMD,
  CONN_KIND,
  CONN_PAGE_BASE,
  CONN_PAGE_SIZE,
  CONN_PAGES,
  CONN_REGISTERS,
  DEVICE_ID,
  ERR,
  ERROR_TEXT,
  KERNEL_REGISTERS,
  MAP_VERSION_MAJOR,
  MAP_VERSION_MINOR,
  NOTIFY_KIND,
  OS_STAT_BASE,
  OS_STATS,
  PROG_CMD,
  PROG_STATE,
  STAT_BASE,
  STATS,
  STATUS,
  TBL_CMD,
  TBL_RESULT,
  VERIFY_RULES,
  type RegisterSpec,
} from "./registers.js";

const hex = (n: number, width = 4) => `0x${n.toString(16).padStart(width, "0")}`;

function table(specs: readonly RegisterSpec[], width = 4): string[] {
  const rows = ["| offset | register | access | reset | meaning |", "|---|---|---|---|---|"];
  for (const r of specs) {
    const at = r.count ? `${hex(r.offset, width)}–${hex(r.offset + 4 * r.count - 1, width)}` : hex(r.offset, width);
    const name = r.count ? `${r.name}[0..${r.count - 1}]` : r.name;
    rows.push(`| ${at} | \`${name}\` | ${r.access.toUpperCase()} | ${r.reset === undefined ? "" : hex(r.reset, 1)} | ${r.meaning.replace(/\|/g, "\\|")} |`);
  }
  return rows;
}

function bits(name: string, record: Record<string, number>): string {
  return Object.entries(record)
    .map(([k, v]) => `${k} ${hex(v, 1)}`)
    .join(", ")
    .replace(/^/, `${name}: `);
}

export function renderRegistersMarkdown(): string {
  const blocks = [...new Set(KERNEL_REGISTERS.map((r) => r.block))];
  const out: string[] = [];
  out.push("# kopi NIC — BAR0 register map");
  out.push("");
  out.push("<!-- Generated from fpga-model/registers.ts by `npx tsx fpga-model/gen-registers-md.ts`; do not edit. -->");
  out.push("");
  out.push(
    `Register-map version ${MAP_VERSION_MAJOR}.${MAP_VERSION_MINOR}. BAR0 is ${hex(BAR0_SIZE, 5)} bytes of 32-bit registers, little-endian, at 4-byte-aligned offsets; ` +
      "the device's only host interface besides its packet ports (traffic in, capture ring and application rings out). " +
      "Every access is checked: an unknown or misaligned offset, a write to a read-only register, a value out of range, " +
      "a commit of an unverified program, an entry a table cannot take — each is refused, changes nothing, and leaves its " +
      "error code in `ERROR_CODE` (the last refused access; `ERROR_COUNT` counts them all). Unmapped reads return 0xffffffff.",
  );
  out.push("");
  out.push("## Privilege zones");
  out.push("");
  out.push(
    `- **Kernel zone** ${hex(0)}–${hex(APP_PAGE_BASE - 1)}: policy, programs, tables, counters, statistics, flow table, capture ring, queue bindings. Only the host kernel (requester 0) reaches it.`,
  );
  out.push(
    `- **Application pages** ${hex(APP_PAGE_BASE, 5)} + app × ${hex(APP_PAGE_SIZE)} for app 1…${APP_PAGES - 1} (page 0 is reserved). The kernel may map page *n* into application *n*; ` +
      "an application's access anywhere outside its own page — a policy register, another application's page — is refused, counted in its page's " +
      "`APP_VIOLATIONS` and the `privilege_violations` statistic, and does not touch the kernel's error registers.",
  );
  out.push(
    `- **Connection pages** ${hex(CONN_PAGE_BASE, 6)} + conn × ${hex(CONN_PAGE_SIZE)} for connection 1…${CONN_PAGES - 1} (announced by CAPS bit 9): the ring head/tail registers of one open connection. ` +
      "The kernel maps the pages of an application's own connections into it; an application reaching a page of a connection it does not own is refused and counted like any access outside its pages. " +
      "The page of a connection that is not open is unmapped (BAD_OFFSET for the kernel).",
  );
  out.push("");
  for (const block of blocks) {
    out.push(`## ${block[0]!.toUpperCase()}${block.slice(1)}`);
    out.push("");
    out.push(...table(KERNEL_REGISTERS.filter((r) => r.block === block)));
    out.push("");
  }
  out.push("## Application page (offsets within the page)");
  out.push("");
  out.push(...table(APP_REGISTERS, 3));
  out.push("");
  out.push("Packets an application's queues received are read through the application receive port from `APP_RX_TAIL`; the application then writes the new tail. Notifications are read the same way: " + Object.entries(NOTIFY_KIND).map(([k, v]) => `${v} ${k}`).join(", ") + " (argument: the queue, the generation, or the connection). A connection's receive ring notifies when a packet lands in it empty, its transmit ring when it drains; a full notification queue counts the loss in `APP_NOTIFY_DROPS`, which a waiter watches as well as the head.");
  out.push("");
  out.push("## Connection page (offsets within the page)");
  out.push("");
  out.push(...table(CONN_REGISTERS, 3));
  out.push("");
  out.push("The receive ring's records are read from host memory (the connection receive port) from `CP_RX_TAIL`; the application then writes the new tail. To transmit, the application writes frames into the free descriptors `[CP_TX_TAIL, CP_TX_HEAD + CP_TX_SLOTS)` of host memory and writes `CP_TX_TAIL`: the NIC fetches them into its receive FIFO as egress packets (each latches the active generation), judges them with the egress policy and completes them in order (`CP_TX_HEAD`).");
  out.push("");
  out.push("## Values");
  out.push("");
  out.push(`- \`ID\` reads ${hex(DEVICE_ID, 8)} ("KOPI"). A driver refuses a \`VERSION\` major other than the one it knows.`);
  out.push(`- ${bits("`CAPS` bits", CAPS)}.`);
  out.push(`- ${bits("`STATUS` bits", STATUS)}.`);
  out.push(`- ${bits("`PROG_CTRL` commands", PROG_CMD)}; ${bits("`PROG_STATE`", PROG_STATE)}.`);
  out.push(`- ${bits("`TBL_CTRL` commands", TBL_CMD)}; ${bits("`TBL_RESULT`", TBL_RESULT)}.`);
  out.push(`- ${bits("`CNT_CTRL` commands", CNT_CMD)}.`);
  out.push(`- ${bits("`CAP_CTRL` bits", CAP_CTRL)}.`);
  out.push(`- ${bits("`APPT_CTRL` commands", APPT_CMD)}; ${bits("`CONN_CTRL` commands", CONN_CMD)}; ${bits("`CONN_KIND` kinds", CONN_KIND)} (bits 8..15 the IP protocol: 6, 17 or 132; bit 16 IPv6).`);
  out.push(`- Verifier rules (\`PROG_REJECT_RULE\`, \`ERROR_ARG1\` of VERIFY_FAILED): ${VERIFY_RULES.map((r, i) => `${i} ${r}`).join(", ")}.`);
  out.push("");
  out.push("## Error codes (`ERROR_CODE`)");
  out.push("");
  out.push("| code | name | meaning |");
  out.push("|---|---|---|");
  for (const [name, code] of Object.entries(ERR)) out.push(`| ${code} | ${name} | ${ERROR_TEXT[code]} |`);
  out.push("");
  out.push("`ERROR_ARG0`/`ERROR_ARG1` carry the details: TABLE_FULL table and capacity; NO_TABLE table and tables declared; TABLE_MEMORY blocks needed and budget; VERIFY_FAILED instruction (or table) index and rule; GEN_MISMATCH the active generation and the expected one; BAD_OFFSET, READ_ONLY, WRITE_ONLY the offset; BAD_VALUE offset and value; BAD_IMAGE the byte offset; BAD_COUNTER index and counters declared; APP_TABLE_FULL and CONN_TABLE_FULL the capacity; NO_APP the application; NO_CONN and CONN_EXISTS the connection; QUEUE_MEMORY bytes needed and bytes free.");
  out.push("");
  out.push(`## Statistics (\`STAT\` at ${hex(STAT_BASE)} + 8·i, after \`STATS_LATCH\`)`);
  out.push("");
  out.push("| i | statistic | meaning |");
  out.push("|---|---|---|");
  STATS.forEach(([name, meaning], i) => out.push(`| ${i} | ${name} | ${meaning} |`));
  out.push("");
  out.push("Every packet the overlay judges ends in exactly one of accepted, dropped, queued and mirrored_only, so rx_packets = accepted + dropped + queued + mirrored_only at any latch.");
  out.push("");
  out.push(`## Process-view statistics (\`OS_STAT\` at ${hex(OS_STAT_BASE)} + 8·i, latched by \`STATS_LATCH\` too)`);
  out.push("");
  out.push("| i | statistic | meaning |");
  out.push("|---|---|---|");
  OS_STATS.forEach(([name, meaning], i) => out.push(`| ${i} | ${name} | ${meaning} |`));
  out.push("");
  out.push("Accepted ingress packets split into steered + steer_fallback (+ ring_overflow, counted as dropped instead). Transmit descriptors split into tx_packets (judged; in rx_packets too) + tx_refused (never judged).");
  out.push("");
  out.push("## Sequences");
  out.push("");
  out.push("**Load a program atomically.** `PROG_CTRL` ← RESET (waits until packets latched to the shadow slot are done); `PROG_LENGTH` ← image bytes; `PROG_DATA` ← the image, 4 bytes per write; `PROG_CTRL` ← LOAD (decode, verify, check table memory; `PROG_STATE` becomes VERIFIED or REJECTED with `PROG_REJECT_*`); for every entry: `TBL_SELECT` ← table | 0x100 (the shadow slot), then the entry as below; `COMMIT` ← the active generation the host expects. The commit is the only moment the data path changes program: packets that entered before it keep the generation they latched, packets after it latch the new one. The old program stays in the other slot: `ROLLBACK` ← the active generation makes it active again as a new generation, until the next RESET.");
  out.push("");
  out.push("**Load or remove a qdisc.** `EG_CTRL` ← RESET; `EG_LENGTH` ← image bytes; `EG_DATA` ← the qdisc image, 4 bytes per write; `EG_CTRL` ← LOAD; the owner names (`EG_NAME_SELECT` ← app | 0x100, `EG_NAME_CMD`, `EG_NAME_CGROUP`); `EG_COMMIT` ← the qdisc generation the host expects: the queued packets are carried over into the new qdisc. To remove the qdisc (tc's `qdisc del`): `EG_CTRL` ← RESET, `EG_CTRL` ← NONE, `EG_COMMIT` ← the active qdisc generation: `EG_GEN` reads 0 and egress packets pass unscheduled (the NIC's default), the queued packets are dropped and counted in `migration_drops` and `dropped_packets`; `EG_ROLLBACK` ← 0 brings the removed qdisc back, with empty queues.");
  out.push("");
  out.push("**Write a table entry.** `TBL_SELECT` ← table (skippable when already selected); the non-zero words of `TBL_KEY` (and `TBL_MASK` for ternary mask / range high bound); `TBL_ARG` ← prefix length or priority if non-zero; `TBL_VALUE` ← value if non-zero; `TBL_CTRL` ← INSERT or DELETE. Every command clears the staging registers, so the next entry starts from zeros: a 16-bit port entry is 4 writes, an IPv4 prefix 5, an IPv6 prefix 8. An entry is live for the next packet; no program reload.");
  out.push("");
  out.push("**Attach an application.** `APPT_PID`, `APPT_UID`, `APPT_GID`, `APPT_CMD`/`APPT_CGROUP` (the active program's name ids) and `APPT_SHADOW_CMD`/`APPT_SHADOW_CGROUP`; `APPT_CTRL` ← ATTACH; `APPT_RESULT` is the id (APP_TABLE_FULL when all are taken). After a commit the kernel rewrites the new active program's name ids: `APPT_SELECT` ← app, `APPT_CMD`, `APPT_CGROUP`, `APPT_CTRL` ← UPDATE. `APPT_CTRL` ← DETACH removes the application, its connections, rings, queue bindings, notifications and owner entry in one write.");
  out.push("");
  out.push("**Open a connection.** `CONN_KIND` (kind, protocol, IPv6 bit), `CONN_APP`, `CONN_LADDR`, `CONN_RADDR`, `CONN_PORTS`, optionally `CONN_RX_SLOTS`/`CONN_TX_SLOTS`; `CONN_CTRL` ← OPEN; `CONN_RESULT` is the id, its page is live. Refusals: NO_APP, CONN_EXISTS (the key is open: arg0 its connection), CONN_TABLE_FULL (arg0 the capacity), QUEUE_MEMORY (arg0 bytes needed, arg1 bytes free), BAD_VALUE (a field the kind does not allow). Nothing is half-made.");
  out.push("");
  out.push("**Sleep until a notification.** The kernel reads `APP_NOTIFY_HEAD` and `APP_NOTIFY_DROPS` and the rings it waits on, then `APPT_SELECT` ← app, `APPT_IRQ_ARM` ← the head it read: if anything arrived in between the interrupt fires at once, else with the next notification (moderated by `APPT_IRQ_USECS`/`APPT_IRQ_FRAMES`).");
  out.push("");
  out.push("**Read counters.** `CNT_SELECT` ← first index (bit 31: the previous program's, final after a commit) latches every counter at one instant; then `CNT_PACKETS_LO`, `_HI`, `CNT_BYTES_LO`, `_HI` per counter — reading `CNT_BYTES_HI` moves to the next counter, so a whole table is one write and 4 reads per counter.");
  out.push("");
  return out.join("\n");
}
