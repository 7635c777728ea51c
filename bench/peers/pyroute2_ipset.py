#!/usr/bin/python3
"""pyroute2 doing the ipset bench workloads (peer). Usage: pyroute2_ipset.py WORKLOAD SET COUNT
Prints the seconds the workload took as JSON. Needs Debian's python3-pyroute2."""
import json
import sys
import time

from pyroute2.ipset import IPSet


def addr(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def main():
    workload, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ipset = IPSet()
    start = time.perf_counter()
    if workload == "add":
        for i in range(count):
            ipset.add(name, addr(i))
    elif workload == "list":
        for s in ipset.list(name):
            s.get_attr("IPSET_ATTR_ADT")
    elif workload == "test":
        for i in range(count):
            ipset.test(name, addr(i))
    else:
        raise SystemExit("unknown workload " + workload)
    elapsed = time.perf_counter() - start
    ipset.close()
    print(json.dumps({"seconds": elapsed}))


main()
