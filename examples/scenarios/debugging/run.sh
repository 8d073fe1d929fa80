#!/bin/sh
# Scenario "debugging": who floods the network with ARP requests? (README.md)
cd "$(dirname "$0")"
. ../lib.sh

say hostctl load policy.kopi --host host.json
hostctl load policy.kopi --host host.json
say hostctl app attach --pid 4242 --user bob --uid 1001 --cmd postgres --cgroup /system.slice/postgresql.service
hostctl app attach --pid 4242 --user bob --uid 1001 --cmd postgres --cgroup /system.slice/postgresql.service
say hostctl app attach --pid 7777 --user mallory --uid 1003 --cmd arpflood
hostctl app attach --pid 7777 --user mallory --uid 1003 --cmd arpflood
say hostctl app connect --app 1 --local 10.0.0.2:5432 --remote 10.0.0.9:50000
hostctl app connect --app 1 --local 10.0.0.2:5432 --remote 10.0.0.9:50000
say hostctl app connect --app 2 --raw
hostctl app connect --app 2 --raw

say "hostctl capture -i nic0:egress -e -P -c 5 arp &"
hostctl capture -i nic0:egress -e -P -c 5 arp &
CAPTURE=$!
sleep 2 # let it start listening

# the applications at work: Postgres answers a client, pid 7777 floods
say hostctl app send --conn 1 -r postgres-replies.pcap
hostctl app send --conn 1 -r postgres-replies.pcap
say hostctl app send --conn 2 -r arp-flood.pcap
hostctl app send --conn 2 -r arp-flood.pcap
wait $CAPTURE

say hostctl app list
hostctl app list
