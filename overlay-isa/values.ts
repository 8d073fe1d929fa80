/** Numeric literals kopi texts share: decimal, 0x hex, IPv4 dotted quads, IPv6 and MAC addresses. */

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIPv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

/** IPv6 text (with `::` and an optional trailing dotted quad) as a 128-bit number. */
export function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return undefined;
  let groups: number[] = [];
  let tail = text;
  const lastColon = text.lastIndexOf(":");
  const v4 = lastColon >= 0 && text.slice(lastColon + 1).includes(".") ? parseIPv4(text.slice(lastColon + 1)) : undefined;
  if (lastColon >= 0 && text.slice(lastColon + 1).includes(".")) {
    if (v4 === undefined) return undefined;
    tail = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = tail.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  if (v4 !== undefined) {
    groups[6] = v4 >>> 16;
    groups[7] = v4 & 0xffff;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952 text of a 128-bit IPv6 address. */
export function formatIPv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** A MAC address written as six colon-, dash- or dot-separated groups (aa:bb:cc:dd:ee:ff) as a 48-bit number. */
export function parseMAC(text: string): number | undefined {
  const m = /^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/.exec(text);
  if (m) return [m[1], m[3], m[4], m[5], m[6], m[7]].reduce((acc, g) => acc * 256 + parseInt(g!, 16), 0);
  const dotted = /^([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})$/.exec(text);
  if (dotted) return dotted.slice(1).reduce((acc, g) => acc * 65536 + parseInt(g, 16), 0);
  return undefined;
}

export function formatMAC(v: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push(Math.floor(v / 2 ** (8 * i)) % 256 < 16 ? "0" + (Math.floor(v / 2 ** (8 * i)) % 256).toString(16) : (Math.floor(v / 2 ** (8 * i)) % 256).toString(16));
  return out.join(":");
}

/** Decimal or 0x-hex integer literal of any size. */
export function parseInteger(text: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^\d+$/.test(text)) return BigInt(text);
  return undefined;
}
