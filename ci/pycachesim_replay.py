"""Replay the first accesses of a linewatch binary trace through pycachesim.

  pycachesim_replay.py CONFIG TRACE LIMIT PREFIX

Builds pycachesim's L1 -> L2 -> LLC -> MainMemory chain with the geometry of
CONFIG's [host.l1], [host.l2] and [host.llc] (64-byte lines, LRU, write-back,
write-allocate), decodes the first LIMIT accesses of TRACE (docs/traces.md, binary
format version 1) into a list, writes them to PREFIX as lackey text (so that
linewatch can replay exactly the same accesses), then times the replay loop alone:
parsing is outside the timing. Loads and instruction fetches are loads, stores are
stores, a modify is a load then a store (as lackey means it). The last stdout line
is JSON; hit_rate is pycachesim's HIT / (HIT + MISS) per level.
"""
import json
import sys
import time
import tomllib
from importlib.metadata import version

import cachesim

MAGIC = b"\x89LWT\r\n\x1a\n"
SIZES = [None, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 32, 64]
M64 = (1 << 64) - 1


def decode(path, limit):
    """The first `limit` accesses as (kind, addr, size); kind 0 L, 1 S, 2 M, 3 I."""
    data = open(path, "rb").read()
    if data[:8] != MAGIC or data[8:12] != b"\x01\x00\x00\x00":
        sys.exit(f"pycachesim_replay: {path}: not a version-1 linewatch binary trace")
    pos, pred, out = 12, {}, []

    def varint():
        nonlocal pos
        v = shift = 0
        while True:
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while len(out) < limit:
        tag = data[pos]
        pos += 1
        kind, code = tag & 3, (tag >> 2) & 15
        size = SIZES[code] if code else varint() - 1
        if tag == 0 and size == -1:
            break  # end marker
        core = 0
        if tag & 0x40:
            core = data[pos]
            pos += 1
        slot = core * 4 + kind
        addr = pred.get(slot, 0)
        if not tag & 0x80:
            z = varint()
            addr = (addr + ((z >> 1) ^ -(z & 1))) & M64
        pred[slot] = (addr + size) & M64
        out.append((kind, addr, size))
    return out


def hierarchy(cfg):
    host = cfg["host"]
    mem = cachesim.MainMemory()
    below, levels = None, []
    for name in ("llc", "l2", "l1"):  # pycachesim builds from the last level up
        c = host[name]
        sets = c["size"] // (c["ways"] * 64)
        cache = cachesim.Cache(name.upper(), sets, c["ways"], 64, "LRU",
                               load_from=below, store_to=below)
        if below is None:
            mem.load_to(cache)
            mem.store_from(cache)
        below = cache
        levels.append(f"{name.upper()} {c['size'] // 1024} KiB {c['ways']}-way ({sets} sets)")
    return cachesim.CacheSimulator(below, mem), levels[::-1]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    config, trace, limit, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cfg = tomllib.load(open(config, "rb"))
    t0 = time.perf_counter()
    accs = decode(trace, limit)
    parse_s = time.perf_counter() - t0
    with open(prefix, "w") as f:
        f.writelines(f"{'I ' if k == 3 else ' ' + 'LSM'[k]} {a:08x},{s}\n" for k, a, s in accs)
    sim, levels = hierarchy(cfg)
    l1 = sim.first_level.backend
    load, store = l1.load, l1.store  # bound once: the fastest per-access replay
    t0 = time.perf_counter()
    for k, a, s in accs:
        if k == 1:
            store(a, length=s)
        else:
            load(a, length=s)
            if k == 2:
                store(a, length=s)
    replay_s = time.perf_counter() - t0
    stats = {st["name"]: st for st in sim.stats()}
    rate = {n: round(st["HIT_count"] / (st["HIT_count"] + st["MISS_count"]), 6)
            for n, st in stats.items() if n != "MEM" and st["HIT_count"] + st["MISS_count"]}
    print(json.dumps({"tool": "pycachesim", "version": version("pycachesim"),
                      "levels": levels, "accesses": len(accs), "parse_s": round(parse_s, 3),
                      "replay_s": round(replay_s, 3), "accesses_per_s": round(len(accs) / replay_s),
                      "hit_rate": rate}))


if __name__ == "__main__":
    main()
