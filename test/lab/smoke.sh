#!/usr/bin/env bash
# Real-traffic smoke test of the TC flower + act_ct pipeline design, run in the lab VM:
#
#   test/lab/smoke.sh [SECTION...]      (re-executes itself through test/lab/run.sh)
#   test/lab/run.sh 'test/lab/smoke.sh a d'
#
# SECTIONs: a (stateful IPv4/IPv6), b (802.1Q), c (QinQ), d (replace + JSON), e (flower
# keys), f (10k-filter timing). Default: all. Lines starting with "CHECK" are assertions
# (exit 1 if any fails); "FACT" lines are observations; "$ ..." lines are commands with
# their indented output. Findings are summarised in test/lab/FINDINGS.md.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${KERNEL_LAB:-} != 1 ]]; then
  exec "$HERE/run.sh" "$(printf '%q ' "$HERE/smoke.sh" "$@")"
fi

SECTIONS=${*:-a b c d e f}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
FAILS=0
say() { printf '%s\n' "$*"; }
hdr() { printf '\n==================== %s\n' "$*"; }
# Show a command and its output (indented); returns the command's status.
show() {
  local out rc
  out=$("$@" 2>&1); rc=$?
  printf '$ %s\n' "$*"
  [[ -n $out ]] && printf '%s\n' "$out" | sed 's/^/    /'
  [[ $rc -ne 0 ]] && printf '    -> exit %d\n' "$rc"
  return $rc
}
check() { # check NAME EXPECTED(ok|fail) ACTUAL_RC
  local name=$1 exp=$2 rc=$3 got=ok
  [[ $rc -ne 0 ]] && got=fail
  if [[ $exp == "$got" ]]; then say "CHECK PASS: $name"; else say "CHECK FAIL: $name (expected $exp, got $got rc=$rc)"; FAILS=$((FAILS + 1)); fi
}
fact() { say "FACT: $*"; }
tc_() { show tc "$@"; }
# Compact counters of every filter on DEV ingress: chain/pref/proto/keys/actions/packets.
counters() {
  say "--- counters $1 ingress"
  tc -s -j filter show dev "$1" ingress | jq -r '.[] | select(.options) |
    "  chain \(.chain) pref \(.pref) \(.protocol) keys=\(.options.keys // {} | tojson)" +
    " acts=\([.options.actions[]? | .kind + ":" + (.control_action.type // "") + (if (.stats.drops // 0) > 0 and .kind != "gact" then "(drops=\(.stats.drops))" else "" end)] | join(","))" +
    " pkts=\(.options.actions[0].stats.packets // "-")"'
}
# tcp NS HOST PORT [fam]: connect and print what the server says; rc 0 on success.
tcp() {
  local ns=$1 host=$2 port=$3 addr out rc
  if [[ $host == *:* ]]; then addr="TCP6:[$host]:$port"; else addr="TCP4:$host:$port"; fi
  out=$(ip netns exec "$ns" socat -T2 - "$addr,connect-timeout=2" </dev/null 2>&1); rc=$?
  [[ $rc -eq 0 && $out != hello* ]] && rc=99
  printf '$ ip netns exec %s socat - %s\n    %s\n    -> exit %d\n' "$ns" "$addr" "${out:-<no output>}" "$rc"
  return $rc
}
ct_table() {
  say "--- conntrack zone 7 (/proc/net/nf_conntrack)"
  grep 'zone=7' /proc/net/nf_conntrack | sed 's/^/    /' || say "    <none>"
}

# ------------------------------------------------------------------ topology
setup_topology() {
  hdr "topology"
  ip link add br0 type bridge && ip link set br0 up
  local p n
  for p in A B; do
    n=$([[ $p == A ]] && echo 1 || echo 2)
    ip netns add "pod$p"
    ip link add "rep$p" type veth peer name eth0 netns "pod$p"
    ip link set "rep$p" master br0 up
    ip -n "pod$p" link set lo up
    ip -n "pod$p" addr add "10.0.0.$n/24" dev eth0
    ip -n "pod$p" addr add "fd00::$n/64" dev eth0 nodad
    ip -n "pod$p" link set eth0 up
    # 802.1Q
    ip -n "pod$p" link add link eth0 name eth0.100 type vlan id 100
    ip -n "pod$p" addr add "10.1.0.$n/24" dev eth0.100
    ip -n "pod$p" link set eth0.100 up
    # QinQ: 802.1ad 200 outer, 802.1Q 100 inner
    ip -n "pod$p" link add link eth0 name eth0.200 type vlan proto 802.1ad id 200
    ip -n "pod$p" link set eth0.200 up
    ip -n "pod$p" link add link eth0.200 name eth0.200.100 type vlan id 100
    ip -n "pod$p" addr add "10.2.0.$n/24" dev eth0.200.100
    ip -n "pod$p" link set eth0.200.100 up
    tc qdisc add dev "rep$p" clsact
  done
  show ip -br addr show
  show ip -n podA -d link show eth0.200.100
  say "$ ethtool -k repA | grep vlan"; ethtool -k repA | grep vlan | sed 's/^/    /'
  # Servers: every answer starts with hello so the client can tell success.
  for port in 80 81 1500 2500; do
    ip netns exec podB socat "TCP4-LISTEN:$port,fork,reuseaddr" SYSTEM:"echo hello-from-B-$port" &
    ip netns exec podB socat "TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=1" SYSTEM:"echo hello-from-B6-$port" &
  done
  ip netns exec podA socat TCP4-LISTEN:80,fork,reuseaddr SYSTEM:"echo hello-from-A-80" &
  sleep 1
  say "--- baseline without filters"
  tcp podA 10.0.0.2 80; check "baseline A->B 80" ok $?
  tcp podA 10.1.0.2 81; check "baseline 802.1Q A->B 81" ok $?
  tcp podA 10.2.0.2 81; check "baseline QinQ A->B 81" ok $?
  tcp podA fd00::2 81; check "baseline IPv6 A->B 81" ok $?
}

# ------------------------------------------------------------------ pipeline
# Families: proto + match prefix. Chain 10 sends untracked traffic of each family through
# act_ct (zone 7) into chain 11; chain 11 passes +est, commits +new tcp/80 on repA only and
# otherwise drops, with diagnostic drops that count +inv and -trk separately.
FAM_PROTO=(ip ipv6 802.1q 802.1ad)
FAM_MATCH=("" "" "vlan_ethtype ip" "vlan_ethtype 802.1q cvlan_ethtype ip")
install_pipeline() {
  local dev=$1 i base proto m
  {
    echo "filter add dev $dev ingress protocol all pref 1 handle 1 chain 0 flower action goto chain 10"
    # IPv6 neighbour discovery must not go through ct (kept stateless)
    echo "filter add dev $dev ingress protocol ipv6 pref 5 chain 10 flower ip_proto icmpv6 type 135 action pass"
    echo "filter add dev $dev ingress protocol ipv6 pref 6 chain 10 flower ip_proto icmpv6 type 136 action pass"
    # diagnostic: which other ICMPv6 control messages show up (they would be +inv in ct)
    echo "filter add dev $dev ingress protocol ipv6 pref 7 chain 10 flower ip_proto icmpv6 type 133 action pass"
    echo "filter add dev $dev ingress protocol ipv6 pref 8 chain 10 flower ip_proto icmpv6 type 143 action pass"
    for i in "${!FAM_PROTO[@]}"; do
      proto=${FAM_PROTO[$i]} m=${FAM_MATCH[$i]} base=$((100 * (i + 1)))
      echo "filter add dev $dev ingress protocol $proto pref $base chain 10 flower $m ct_state -trk action ct zone 7 pipe action goto chain 11"
      echo "filter add dev $dev ingress protocol $proto pref $base chain 11 flower $m ct_state +trk+est action pass"
      if [[ $dev == repA ]]; then
        echo "filter add dev $dev ingress protocol $proto pref $((base + 1)) chain 11 flower $m ct_state +trk+new ip_proto tcp dst_port 80 action ct commit zone 7 pipe action pass"
      fi
      echo "filter add dev $dev ingress protocol $proto pref $((base + 2)) chain 11 flower $m ct_state +trk+inv action drop"
      echo "filter add dev $dev ingress protocol $proto pref $((base + 3)) chain 11 flower $m ct_state -trk action drop"
      echo "filter add dev $dev ingress protocol $proto pref $((base + 4)) chain 11 flower $m ct_state +trk+new action drop"
      echo "filter add dev $dev ingress protocol $proto pref $((base + 9)) chain 11 flower $m action drop"
    done
    echo "filter add dev $dev ingress protocol all pref 65000 chain 10 flower action pass"
  } >"/tmp/pipeline-$dev.tc"
  show tc -batch "/tmp/pipeline-$dev.tc"
}

section_a() {
  hdr "a. stateful pipeline (IPv4 + IPv6), act_ct zone 7 on repA/repB ingress"
  sed -n '1,12p' /tmp/pipeline-repA.tc | sed 's/^/    tc /'
  ip neigh flush all; ip -n podA neigh flush all; ip -n podB neigh flush all
  tcp podA 10.0.0.2 80; check "a: A->B tcp/80 allowed (reply passes as +est on repB)" ok $?
  tcp podA 10.0.0.2 81; check "a: A->B tcp/81 blocked" fail $?
  tcp podB 10.0.0.1 80; check "a: B->A tcp/80 (new from B) blocked" fail $?
  show ip -n podA neigh show; [[ $(ip -n podA neigh show 10.0.0.2) == *lladdr* ]]
  check "a: ARP resolved through the protocol-all catch-all" ok $?
  show ip netns exec podA busybox arping -c 1 -w 2 -I eth0 10.0.0.2; check "a: arping A->B" ok $?
  tcp podA fd00::2 80; check "a: IPv6 A->B tcp/80 allowed" ok $?
  tcp podA fd00::2 81; check "a: IPv6 A->B tcp/81 blocked" fail $?
  counters repA; counters repB; ct_table
}

section_b() {
  hdr "b. 802.1Q (eth0.100 in the pods, 10.1.0.0/24)"
  tcp podA 10.1.0.2 80; check "b: 802.1Q A->B tcp/80 allowed" ok $?
  tcp podA 10.1.0.2 81; check "b: 802.1Q A->B tcp/81 blocked" fail $?
  tcp podB 10.1.0.1 80; check "b: 802.1Q B->A tcp/80 blocked" fail $?
  counters repA; counters repB; ct_table
}

section_c() {
  hdr "c. QinQ (802.1ad 200 outer, 802.1Q 100 inner, 10.2.0.0/24)"
  local before after
  before=$(ct_drops repA 10 400)
  tcp podA 10.2.0.2 80; fact "QinQ A->B tcp/80 through act_ct: rc=$? (0 = connected)"
  tcp podA 10.2.0.2 81; check "c: QinQ A->B tcp/81 blocked" fail $?
  tcp podB 10.2.0.1 80; check "c: QinQ B->A tcp/80 blocked" fail $?
  after=$(ct_drops repA 10 400)
  fact "act_ct (chain 10 pref 400, protocol 802.1ad) drop counter on repA: $before -> $after"
  [[ $after -gt $before ]]
  check "c: (6.1 behaviour) act_ct itself drops QinQ frames (no -trk/+inv/+new match in chain 11)" ok $?
  counters repA; counters repB; ct_table
  say "--- stateless QinQ match (no ct): pass tcp/81 A->B and its replies B->A ahead of the ct rule (chain 10 pref 350)"
  tc_ filter add dev repA ingress protocol 802.1ad pref 350 chain 10 flower vlan_id 200 vlan_ethtype 802.1q cvlan_id 100 cvlan_ethtype ip ip_proto tcp dst_port 81 action pass
  tc_ filter add dev repB ingress protocol 802.1ad pref 350 chain 10 flower vlan_id 200 vlan_ethtype 802.1q cvlan_id 100 cvlan_ethtype ip ip_proto tcp src_port 81 action pass
  tcp podA 10.2.0.2 81; check "c: stateless QinQ vlan_id/cvlan_id/ip_proto/dst_port match passes tcp/81" ok $?
  show tc -s filter show dev repA ingress pref 350 chain 10
  tc_ filter add dev repA ingress protocol 802.1ad pref 351 chain 10 flower vlan_id 201 vlan_ethtype 802.1q cvlan_ethtype ip action pass
  say "--- JSON of the QinQ stateless filter"
  tc -s -j filter show dev repA ingress chain 10 pref 350 | jq -c '.[] | select(.options) | {protocol, chain, keys: .options.keys, packets: .options.actions[0].stats.packets}' | sed 's/^/    /'
  tc filter del dev repA ingress pref 350 chain 10; tc filter del dev repB ingress pref 350 chain 10
  tc filter del dev repA ingress pref 351 chain 10
}

ct_drops() { # ct_drops DEV CHAIN PREF: drops counted by the filter's ct action
  tc -s -j filter show dev "$1" ingress chain "$2" pref "$3" |
    jq '[.[] | select(.options) | .options.actions[] | select(.kind == "ct") | .stats.drops] | add // 0'
}
json_one() { # json_one DEV KIND-LABEL JQ-SELECT: print one filter object, pretty
  say "--- JSON ($2)"
  tc -s -j filter show dev "$1" ingress | jq "[.[] | select(.options) | select($3)][0]" | sed 's/^/    /'
}

section_d() {
  hdr "d. filter replace, handles, JSON, cookies"
  say "--- raw 'tc -j filter show dev repA ingress' (first 3 array elements)"
  tc -j filter show dev repA ingress | jq -c '.[0:3][]' | sed 's/^/    /'
  json_one repA "chain 0 goto chain" '.chain==0 and .pref==1'
  json_one repA "ct zone 7 pipe + goto chain, ct_state -trk" '.chain==10 and .pref==100'
  json_one repA "ct commit zone 7, ct_state +trk+new tcp/80" '.chain==11 and .pref==101'
  json_one repA "ct_state +trk+est pass" '.chain==11 and .pref==100'
  json_one repA "802.1ad/cvlan ct" '.chain==10 and .pref==400'
  json_one repA "protocol all catch-all" '.chain==10 and .pref==65000'
  say "--- 'tc -j filter show dev repA ingress pref 1' (note: pref absent from the objects)"
  tc -j filter show dev repA ingress pref 1 | sed 's/^/    /'

  say "--- cookies"
  tc_ filter add dev repA ingress protocol all pref 30000 chain 10 flower dst_mac 02:00:00:00:00:99 action gact pass cookie 0123456789abcdef0011223344556677
  check "d: gact pass cookie <16 bytes hex> accepted" ok $?
  tc_ filter add dev repA ingress protocol all pref 30001 chain 10 flower dst_mac 02:00:00:00:00:98 action gact pass cookie 0123456789abcdef001122334455667788
  fact "17-byte cookie rc=$? (kernel limit TC_COOKIE_MAX_SIZE=16)"
  tc_ filter add dev repA ingress protocol ip pref 30002 chain 10 flower dst_ip 10.9.9.9 action ct zone 7 pipe cookie aabbccdd action goto chain 11 cookie 11223344
  fact "cookie on act_ct and on goto-chain gact rc=$?"
  json_one repA "gact pass with cookie" '.pref==30000'
  json_one repA "ct + goto with cookies" '.pref==30002'
  tc filter del dev repA ingress pref 30002 chain 10 2>/dev/null
  tc filter del dev repA ingress pref 30000 chain 10 2>/dev/null

  say "--- replace semantics on a scratch pair (chain 0 entry switching between chains 20 and 21)"
  ip link add rx0 type veth peer name rx1 netns podA
  ip link set rx0 master br0 up
  ip -n podA addr add 10.5.0.1/24 dev rx1; ip -n podA link set rx1 up
  ip addr add 10.5.0.254/24 dev br0
  tc qdisc add dev rx0 clsact
  tc_ filter add dev rx0 ingress protocol all pref 1 handle 1 chain 0 flower action goto chain 20
  tc_ filter add dev rx0 ingress protocol all pref 2 handle 1 chain 0 flower action drop
  tc_ filter add dev rx0 ingress protocol all pref 1 chain 20 flower action pass
  tc_ filter add dev rx0 ingress protocol all pref 1 chain 21 flower action pass
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 1 chain 0 flower action goto chain 21
  check "d: replace with same pref+handle+chain" ok $?
  tc_ filter show dev rx0 ingress chain 0
  tc_ filter replace dev rx0 ingress protocol all pref 1 chain 0 flower action goto chain 20
  fact "replace WITHOUT handle (same keys as handle 1): rc=$?"
  tc_ filter show dev rx0 ingress chain 0
  tc filter del dev rx0 ingress pref 1 handle 2 chain 0 flower 2>/dev/null
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 7 chain 0 flower action goto chain 20
  fact "replace with handle 7 (same keys as handle 1): rc=$?"
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 7 chain 0 flower dst_mac 02:00:00:00:00:07 action goto chain 20
  fact "replace with handle 7 and different keys: rc=$?"
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 7 chain 0 flower dst_mac 02:00:00:00:00:08 action goto chain 21
  fact "replace of handle 7 with the same mask, other dst_mac value: rc=$?"
  tc_ filter show dev rx0 ingress chain 0 pref 1
  tc filter del dev rx0 ingress pref 1 handle 7 chain 0 flower 2>/dev/null
  tc_ filter replace dev rx0 ingress protocol ip pref 1 handle 1 chain 0 flower action goto chain 20
  fact "replace with different protocol at same pref rc=$?"
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 1 chain 0 flower dst_mac 02:00:00:00:00:01 action goto chain 20
  fact "replace of handle 1 changing its keys (dst_mac): rc=$?"
  tc_ filter show dev rx0 ingress chain 0 pref 1
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 1 chain 1 flower action goto chain 20
  fact "replace of handle 1 naming another chain (1): rc=$? (creates a filter in chain 1: chain is part of the identity)"
  tc_ filter show dev rx0 ingress chain 1
  tc filter del dev rx0 ingress chain 1 2>/dev/null
  tc_ filter replace dev rx0 ingress protocol all pref 1 handle 1 chain 0 flower action goto chain 21

  say "--- atomicity: 5 x tc -batch of 400 replaces (20<->21) during a 3 s ping flood; pref 2 'drop' catches any gap"
  local i
  for ((i = 0; i < 200; i++)); do
    echo "filter replace dev rx0 ingress protocol all pref 1 handle 1 chain 0 flower action goto chain 20"
    echo "filter replace dev rx0 ingress protocol all pref 1 handle 1 chain 0 flower action goto chain 21"
  done >/tmp/replace.tc
  ip netns exec podA ping -q -i 0.0005 -w 3 10.5.0.254 >/tmp/ping.out 2>&1 &
  local ppid=$!
  sleep 0.3
  local t0=$EPOCHREALTIME
  for _ in 1 2 3 4 5; do tc -batch /tmp/replace.tc || say "batch failed"; done
  local t1=$EPOCHREALTIME
  wait $ppid
  sed 's/^/    /' /tmp/ping.out
  fact "2000 replaces in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
  show tc -s filter show dev rx0 ingress
  local drops
  drops=$(tc -s -j filter show dev rx0 ingress pref 2 | jq '[.[] | select(.options) | .options.actions[0].stats.packets] | add')
  local c20 c21
  c20=$(tc -s -j filter show dev rx0 ingress chain 20 | jq '[.[] | select(.options) | .options.actions[0].stats.packets] | add')
  c21=$(tc -s -j filter show dev rx0 ingress chain 21 | jq '[.[] | select(.options) | .options.actions[0].stats.packets] | add')
  fact "packets via chain 20: $c20, via chain 21: $c21, via the pref 2 drop: $drops"
  [[ $c20 -gt 0 && $c21 -gt 0 ]]; check "d: traffic hit both chains while replacing" ok $?
  [[ $drops == 0 ]]; check "d: no packet fell through to pref 2 drop during replaces (drops=$drops)" ok $?
}

section_e() {
  hdr "e. flower keys"
  ip link add ke0 type veth peer name ke1
  tc qdisc add dev ke0 clsact
  local specs=(
    "protocol ip pref 10 flower ip_proto tcp dst_port 1000-2000 action drop"
    "protocol ip pref 11 flower ip_proto udp src_port 1000-2000 dst_port 53 action drop"
    "protocol ip pref 12 flower ip_proto sctp dst_port 80 action drop"
    "protocol ipv6 pref 13 flower ip_proto icmpv6 type 135 action pass"
    "protocol ipv6 pref 14 flower ip_proto icmpv6 type 135 code 0 action pass"
    "protocol ip pref 15 flower ip_proto icmp type 8 action pass"
    "protocol ip pref 16 flower src_ip 10.0.0.0/24 dst_ip 192.168.1.0/255.255.255.0 action drop"
    "protocol ipv6 pref 17 flower src_ip fd00::/64 dst_ip fd00::2 action drop"
    "protocol all pref 18 flower dst_mac 02:11:22:33:44:55 src_mac 02:00:00:00:00:00/ff:00:00:00:00:00 action drop"
    "protocol ip pref 19 flower ip_proto tcp dst_port 1000-2000 ct_state +trk+new action drop"
    "protocol 802.1q pref 20 flower vlan_id 100 vlan_prio 3 vlan_ethtype ipv6 ip_proto tcp dst_port 443 action drop"
    "protocol ip pref 21 flower ip_proto tcp src_port 1-65535 dst_port 0-100 action drop"
    "protocol ip pref 22 flower ip_proto sctp dst_port 100-200 action drop"
    "protocol ip pref 23 flower ip_proto tcp dst_port 2000-1000 action drop"
    "protocol ip pref 24 flower ip_flags nofrag ip_proto tcp tcp_flags 0x02/0x12 action drop"
  )
  local s
  for s in "${specs[@]}"; do
    tc_ filter add dev ke0 ingress $s
    fact "rc=$? for: $s"
  done
  say "--- tc -j filter show dev ke0 ingress (options.keys only, one per filter)"
  tc -j filter show dev ke0 ingress | jq -c '.[] | select(.options) | {pref, protocol, keys: .options.keys}' | sed 's/^/    /'
  say "--- functional: port range drop on repA chain 0 (tcp 1000-2000)"
  tc filter del dev repA ingress; tc filter del dev repB ingress
  tc_ filter add dev repA ingress protocol ip pref 10 flower ip_proto tcp dst_port 1000-2000 action drop
  tcp podA 10.0.0.2 1500; check "e: tcp/1500 dropped by range 1000-2000" fail $?
  tcp podA 10.0.0.2 2500; check "e: tcp/2500 passes" ok $?
  counters repA
  tc filter del dev repA ingress
}

section_f() {
  hdr "f. timing: 10,000 flower filters on one device"
  ip link add pf0 type veth peer name pf1
  tc qdisc add dev pf0 clsact
  local i t0 t1
  for ((i = 0; i < 10000; i++)); do
    printf 'filter add dev pf0 ingress protocol ip pref 10 handle %d chain 11 flower ip_proto tcp dst_ip 10.%d.%d.%d dst_port %d ct_state +trk+new action ct commit zone 7 pipe action pass\n' \
      $((i + 1)) $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) $((1 + i % 60000))
  done >/tmp/f10k.tc
  for ((i = 0; i < 10000; i++)); do
    printf 'filter add dev pf1 ingress protocol ip pref 10 handle %d flower src_ip 10.%d.%d.%d action drop\n' \
      $((i + 1)) $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255))
  done >/tmp/f10k-simple.tc
  tc qdisc add dev pf1 clsact
  t0=$EPOCHREALTIME; tc -batch /tmp/f10k-simple.tc; local rc=$?; t1=$EPOCHREALTIME
  fact "tc -batch 10,000 simple flower (src_ip, drop): rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
  t0=$EPOCHREALTIME; tc -batch /tmp/f10k.tc; rc=$?; t1=$EPOCHREALTIME
  fact "tc -batch 10,000 flower (chain 11, tcp dst_ip/dst_port ct_state +trk+new, ct commit zone 7 pipe + pass): rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
  t0=$EPOCHREALTIME; tc -s -j filter show dev pf0 ingress >/tmp/f10k.json; rc=$?; t1=$EPOCHREALTIME
  fact "tc -s -j filter show (10,000 ct filters): rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, $(stat -c %s /tmp/f10k.json) bytes, $(jq '[.[] | select(.options)] | length' /tmp/f10k.json) filters"
  t0=$EPOCHREALTIME; tc -s -j filter show dev pf1 ingress >/tmp/f10k-simple.json; rc=$?; t1=$EPOCHREALTIME
  fact "tc -s -j filter show (10,000 simple): rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, $(stat -c %s /tmp/f10k-simple.json) bytes"
  t0=$EPOCHREALTIME; node -e 'const j=JSON.parse(require("fs").readFileSync("/tmp/f10k.json","utf8")); console.log(j.length)' >/dev/null; t1=$EPOCHREALTIME
  fact "node JSON.parse of the 10,000 ct-filter dump (incl. node start): $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
  t0=$EPOCHREALTIME; tc filter del dev pf0 ingress; rc=$?; t1=$EPOCHREALTIME
  fact "flush 10,000 (tc filter del dev pf0 ingress): rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
  t0=$EPOCHREALTIME
  for ((i = 0; i < 20; i++)); do tc filter add dev pf0 ingress protocol ip pref 10 flower src_ip 10.9.9.$i action drop; done
  t1=$EPOCHREALTIME
  fact "20 separate tc processes: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f ms each", (b-a)*50}')"
}

say "smoke: kernel $(uname -r), $(tc -V)"
setup_topology
install_pipeline repA
install_pipeline repB
want a && section_a
want b && section_b
want c && section_c
want d && section_d
want e && section_e
want f && section_f
hdr "summary"
say "smoke: $FAILS failed checks"
[[ $FAILS -eq 0 ]]
