; expression: ip6 host fe80::1 or len > 1000
; kopi overlay program: filter, 22 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 34525, L18
    ldw r0, [pkt + 22]
    jne r0, 0xfe800000, L10
    ldw r0, [pkt + 26]
    jne r0, 0, L10
    ldw r0, [pkt + 30]
    jne r0, 0, L10
    ldw r0, [pkt + 34]
    jeq r0, 1, L21
L10:
    ldw r0, [pkt + 38]
    jne r0, 0xfe800000, L18
    ldw r0, [pkt + 42]
    jne r0, 0, L18
    ldw r0, [pkt + 46]
    jne r0, 0, L18
    ldw r0, [pkt + 50]
    jeq r0, 1, L21
L18:
    ldf r0, pkt.len
    jgt r0, 1000, L21
    exit drop
L21:
    exit accept
