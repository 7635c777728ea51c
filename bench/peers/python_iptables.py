#!/usr/bin/python3
"""python-iptables doing the bench workloads (peer). Usage: python_iptables.py WORKLOAD COUNT
Prints the seconds the workload took as JSON; setup is not timed. Needs Debian's python3-iptables."""
import json
import sys
import time

import iptc


def rule(i):
    r = iptc.Rule()
    r.src = "10.%d.%d.%d/32" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    r.protocol = "tcp"
    m = r.create_match("tcp")
    m.dport = "80"
    r.create_target("ACCEPT")
    return r


def main():
    workload, count = sys.argv[1], int(sys.argv[2])
    table = iptc.Table(iptc.Table.FILTER)
    chain = iptc.Chain(table, "INPUT")
    if workload == "append":
        start = time.perf_counter()
        table.autocommit = False
        for i in range(count):
            chain.append_rule(rule(i))
        table.commit()
        table.autocommit = True
    elif workload == "read":
        start = time.perf_counter()
        table.refresh()
        for r in chain.rules:
            (r.src, r.dst, r.protocol, r.in_interface, r.out_interface)
            for m in r.matches:
                m.get_all_parameters()
            r.target.name
    elif workload == "counters":
        start = time.perf_counter()
        table.refresh()
        for r in chain.rules:
            r.get_counters()
    elif workload == "insert":
        start = time.perf_counter()
        for i in range(count):
            chain.insert_rule(rule(100000 + i))
    elif workload == "delete":
        rules = [rule(i) for i in range(count)]
        start = time.perf_counter()
        table.autocommit = False
        for r in rules:
            chain.delete_rule(r)
        table.commit()
        table.autocommit = True
    else:
        raise SystemExit("unknown workload " + workload)
    print(json.dumps({"seconds": time.perf_counter() - start}))


main()
