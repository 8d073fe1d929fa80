/**
 * The link-layer types the filter compiler supports, with libpcap's initial header offsets for each (its
 * init_linktype()) and the description libpcap puts into error messages.
 */

export const DLT = {
  NULL: 0,
  EN10MB: 1,
  RAW: 12,
  PPP: 9, // only ever reached through `pppoes`, never a capture's own link type here
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** LINKTYPE_RAW as capture files write it; libpcap maps it to DLT_RAW. */
export const LINKTYPE_RAW = 101;

/** Marks an offset the link type does not have (libpcap's OFFSET_NOT_SET). */
export const OFFSET_NOT_SET = 0xffffffff;

export interface LinkLayout {
  /** offset of the link-layer type field, or OFFSET_NOT_SET */
  linktype: number;
  /** offset of the link-layer payload */
  linkpl: number;
  /** network header offset inside the payload, for Ethernet II / for 802.3+802.2 */
  nl: number;
  nlNosnap: number;
  description: string;
}

const LAYOUTS: ReadonlyMap<number, LinkLayout> = new Map([
  [DLT.NULL, { linktype: 0, linkpl: 4, nl: 0, nlNosnap: 0, description: "BSD loopback" }],
  [DLT.EN10MB, { linktype: 12, linkpl: 14, nl: 0, nlNosnap: 3, description: "Ethernet" }],
  [DLT.RAW, { linktype: OFFSET_NOT_SET, linkpl: 0, nl: 0, nlNosnap: 0, description: "Raw IP" }],
  [DLT.LINUX_SLL, { linktype: 14, linkpl: 16, nl: 0, nlNosnap: 0, description: "Linux cooked v1" }],
  [DLT.IPV4, { linktype: OFFSET_NOT_SET, linkpl: 0, nl: 0, nlNosnap: 0, description: "Raw IPv4" }],
  [DLT.IPV6, { linktype: OFFSET_NOT_SET, linkpl: 0, nl: 0, nlNosnap: 0, description: "Raw IPv6" }],
  [DLT.LINUX_SLL2, { linktype: 0, linkpl: 20, nl: 0, nlNosnap: 0, description: "Linux cooked v2" }],
]);

export const SUPPORTED_LINKTYPES: readonly number[] = [...LAYOUTS.keys(), LINKTYPE_RAW];

/** The DLT a link-type number stands for (capture files write LINKTYPE_RAW, libpcap compiles for DLT_RAW). */
export function dltOf(linktype: number): number {
  return linktype === LINKTYPE_RAW ? DLT.RAW : linktype;
}

export function layoutOf(linktype: number): LinkLayout | undefined {
  return LAYOUTS.get(dltOf(linktype));
}

/** libpcap's pcap_datalink_val_to_description_or_dlt() for the types that can appear in messages. */
export function describeLinktype(dlt: number): string {
  if (dlt === DLT.PPP) return "PPP";
  return LAYOUTS.get(dlt)?.description ?? `DLT ${dlt}`;
}
