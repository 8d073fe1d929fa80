; Demo filter: let web and DNS traffic through, count what passes and what is dropped.
;   TCP/UDP to a port in the `allowed` table (80, 443, 53, written by the control plane) → accept
;   ARP → accept (a host needs it)
;   everything else → drop
; Counters: c0 web/DNS, c1 ARP, c2 dropped. Bytes counted are frame lengths.
.kind filter
.counters 3
.table allowed exact capacity 64 key l4.dport

    ldf r1, pkt.hdrs
    ldf r2, pkt.len
    jset r1, 8, arp                 ; HDR.ARP
    and r3, r1, 0xc0                ; HDR.TCP | HDR.UDP
    jeq r3, 0, drop
    lookup.exact r4, allowed        ; keyed by l4.dport
    jeq r4, 0xffffffff, reverse
    count c0, r2
    exit accept
reverse:                            ; replies come from the allowed port
    ldf r5, l4.sport
    jeq r5, 80, pass
    jeq r5, 443, pass
    jeq r5, 53, pass
    ja drop
pass:
    count c0, r2
    exit accept
arp:
    count c1, r2
    exit accept
drop:
    count c2, r2
    exit drop
