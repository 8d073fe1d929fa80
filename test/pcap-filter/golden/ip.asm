; expression: ip
; kopi overlay program: filter, 4 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jeq r0, 2048, L3
    exit drop
L3:
    exit accept
