; expression: vlan 100 and udp
; kopi overlay program: filter, 20 instructions, 0 tables, 0 counters, 0 constants
.kind filter
    ldh r0, [pkt + 12]
    jeq r0, 33024, L4
    jeq r0, 34984, L4
    jne r0, 37120, L18
L4:
    ldh r1, [pkt + 14]
    and r1, r1, 4095
    jne r1, 100, L18
    ldh r0, [pkt + 16]
    jne r0, 2048, L12
    ldb r1, [pkt + 27]
    jeq r1, 17, L19
    exit drop
L12:
    jne r0, 34525, L18
    ldb r0, [pkt + 24]
    jeq r0, 17, L19
    jne r0, 44, L18
    ldb r1, [pkt + 58]
    jeq r1, 17, L19
L18:
    exit drop
L19:
    exit accept
