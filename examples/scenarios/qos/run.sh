#!/bin/sh
# Scenario "QoS": the game, known by its cgroup only, is shaped while the database keeps its rate. (README.md)
cd "$(dirname "$0")"
. ../lib.sh

say hostctl load policy.kopi --host host.json
hostctl load policy.kopi --host host.json
say hostctl app attach --from host.json
hostctl app attach --from host.json

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

# the shaping: the qdisc on a virtual-time 100 Mbit/s egress link, with the applications' offered load
# (traffic.json: each source's owner is the application attached above)
say hostctl qos simulate --policy ../../qos/game-vs-database.qos --traffic traffic.json --link 100mbit --duration 10s
hostctl qos simulate --policy ../../qos/game-vs-database.qos --traffic traffic.json --link 100mbit --duration 10s
