; expression: vlan 100 and udp
; kopi overlay program: filter, 24 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jeq r0, 33024, L6
    ldh r0, [pkt + 12]
    jeq r0, 34984, L6
    ldh r0, [pkt + 12]
    jne r0, 37120, L23
L6:
    ldh r0, [pkt + 14]
    and r0, r0, 4095
    jne r0, 100, L23
    ldh r0, [pkt + 16]
    jne r0, 2048, L14
    ldb r0, [pkt + 27]
    jeq r0, 17, L22
    ja L23
L14:
    ldh r0, [pkt + 16]
    jne r0, 34525, L23
    ldb r0, [pkt + 24]
    jeq r0, 17, L22
    ldb r0, [pkt + 24]
    jne r0, 44, L23
    ldb r0, [pkt + 58]
    jne r0, 17, L23
L22:
    exit accept
L23:
    exit drop
