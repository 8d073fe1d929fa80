; expression: tcp port 80
; kopi overlay program: filter, 27 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jne r0, 34525, L9
    ldb r0, [pkt + 20]
    jne r0, 6, L26
    ldh r0, [pkt + 54]
    jeq r0, 80, L25
    ldh r0, [pkt + 56]
    jeq r0, 80, L25
    ja L26
L9:
    ldh r0, [pkt + 12]
    jne r0, 2048, L26
    ldb r0, [pkt + 23]
    jne r0, 6, L26
    ldh r0, [pkt + 20]
    jset r0, 8191, L26
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 14]
    jeq r0, 80, L25
    ldb r0, [pkt + 14]
    and r0, r0, 15
    shl r0, r0, 2
    ldh r0, [pkt + r0 + 16]
    jne r0, 80, L26
L25:
    exit accept
L26:
    exit drop
