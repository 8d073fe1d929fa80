#!/bin/sh
# Scenario "QoS": the game, known by its cgroup only, is shaped while the database keeps its rate. (README.md)
cd "$(dirname "$0")"
. ../lib.sh

say hostctl load policy.kopi --host host.json
hostctl load policy.kopi --host host.json
say hostctl app attach --from host.json
hostctl app attach --from host.json

# the qdisc goes onto the NIC's egress link: a function change (upload into the shadow slot, commit)
say hostctl qdisc add dev nic0 --policy ../../qos/game-vs-database.qos --link 100mbit
hostctl qdisc add dev nic0 --policy ../../qos/game-vs-database.qos --link 100mbit

# traffic leaves from the applications' own rings; bob's game starts a second session on new ports
say hostctl app send --conn 1 -r database.pcap
hostctl app send --conn 1 -r database.pcap
say hostctl app send --conn 2 -r bob-game-session-1.pcap
hostctl app send --conn 2 -r bob-game-session-1.pcap
say hostctl app connect --app 2 --proto udp --local 10.0.0.2:40404 --remote 198.51.100.8:27777
hostctl app connect --app 2 --proto udp --local 10.0.0.2:40404 --remote 198.51.100.8:27777
say hostctl app send --conn 4 -r bob-game-session-2.pcap
hostctl app send --conn 4 -r bob-game-session-2.pcap
say hostctl app send --conn 3 -r charlie-game.pcap
hostctl app send --conn 3 -r charlie-game.pcap

# every game packet is counted under its cgroup, whatever its ports
say hostctl list egress
hostctl list egress

# the shaping, on the NIC: half a second of the applications' load (at its timestamps) leaves through the
# egress policy, the qdisc and the 100 Mbit/s link
$ROOT/node_modules/.bin/tsx egress-load.ts "$RUN_DIR/egress-load.pcap"
say hostctl inject --direction egress -r egress-load.pcap
hostctl inject --direction egress -r "$RUN_DIR/egress-load.pcap"
say hostctl class show dev nic0 -s
hostctl class show dev nic0 -s
say hostctl filter show dev nic0 -s
hostctl filter show dev nic0 -s
