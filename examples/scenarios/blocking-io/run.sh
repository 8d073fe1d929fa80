#!/bin/sh
# Scenario "blocking I/O": an application sleeps in wait and a notification wakes it — no polling. (README.md)
cd "$(dirname "$0")"
. ../lib.sh

say hostctl load policy.kopi --host host.json
hostctl load policy.kopi --host host.json
say hostctl app attach --pid 4343 --user bob --uid 1001 --cmd udp-server
hostctl app attach --pid 4343 --user bob --uid 1001 --cmd udp-server
say hostctl app connect --app 1 --proto udp --local 10.0.0.2:5555 --remote 10.0.0.9:5000
hostctl app connect --app 1 --proto udp --local 10.0.0.2:5555 --remote 10.0.0.9:5000

# the server blocks in wait: the kernel arms its notification queue's interrupt and does nothing else
say "hostctl app recv --conn 1 -n &"
hostctl app recv --conn 1 -n &
SERVER=$!
sleep 2
say hostctl app list
hostctl app list

# a request arrives: the NIC steers it into the connection's ring, posts a notification, raises the
# interrupt; the kernel wakes the sleeper
say hostctl inject -r request.pcap
hostctl inject -r request.pcap
wait $SERVER

say hostctl app list
hostctl app list
