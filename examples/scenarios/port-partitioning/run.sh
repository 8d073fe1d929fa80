#!/bin/sh
# Scenario "port partitioning": 5432 is bob's Postgres's, 3306 charlie's MySQL's, both directions. (README.md)
cd "$(dirname "$0")"
. ../lib.sh

say hostctl load policy.kopi --host host.json
hostctl load policy.kopi --host host.json
say hostctl app attach --from host.json
hostctl app attach --from host.json

# inbound: six clients, two of them to mallory's sockets on the partitioned ports
say hostctl inject -r clients.pcap
hostctl inject -r clients.pcap

# outbound, each application from its own ring
for step in "1 bob-5432.pcap" "2 charlie-3306.pcap" "3 mallory-5432.pcap" "4 mallory-3306.pcap"; do
  set -- $step
  say hostctl app send --conn "$1" -r "$2"
  hostctl app send --conn "$1" -r "$2"
done
# the kernel lets bob open a connection from 3306 — the NIC's policy still refuses its packets
say hostctl app connect --app 1 --local 10.0.0.2:3306 --remote 10.0.0.9:50009
hostctl app connect --app 1 --local 10.0.0.2:3306 --remote 10.0.0.9:50009
say hostctl app send --conn 5 -r bob-3306.pcap
hostctl app send --conn 5 -r bob-3306.pcap
# mallory's connection tries to answer bob's client: not its 5-tuple, the NIC refuses it before the policy
say hostctl app send --conn 3 -r forged.pcap
hostctl app send --conn 3 -r forged.pcap

say hostctl list
hostctl list
say hostctl app list
hostctl app list
