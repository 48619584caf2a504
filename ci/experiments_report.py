"""Check and tabulate ci/experiments.sh's results.

  experiments_report.py DIR PAGE NAME...

Reads DIR/NAME.{record,sim,stats}.json (the last stdout line of `linewatch trace
record`, `linewatch sim` and `linewatch trace stats`), checks that the simulated
device harvested exactly the lines and pages the trace wrote (every virtual page
gets its own frame in the device's window: local_dram = 0), and replaces the text
between PAGE's marker comments with the table. Exits 1, leaving PAGE unchanged, on
any mismatch.
"""
import json
import sys
from pathlib import Path

BEGIN, END = "<!-- experiments:begin -->", "<!-- experiments:end -->"


def load(d, name, what):
    path = Path(d) / f"{name}.{what}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"experiments_report: {path}: {e}")


def kib(b):
    return f"{b / 1024:,.1f}"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    d, page, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    rows, cmds, bad = [], [], []
    for n in names:
        rec, sim, st = load(d, n, "record"), load(d, n, "sim"), load(d, n, "stats")
        for simk, stk in [("accesses", "accesses"), ("dirty_lines", "lines_written"),
                          ("dirty_pages", "pages_written")]:
            if sim[simk] != st[stk]:
                bad.append(f"{n}: sim {simk} = {sim[simk]} but trace stats {stk} = {st[stk]}")
        amp = sim["amplification"]
        rows.append([
            n, f"{sim['accesses']:,}", f"{sim['stores'] + sim['modifies']:,}",
            f"{sim['dirty_lines']:,}", f"{sim['dirty_pages']:,}",
            kib(sim["dirty_bytes_line"]), kib(sim["dirty_bytes_page"]),
            f"{amp:.2f}x", f"{100 * (1 - 1 / amp):.0f}%" if amp else "-",
            f"{sim['dirty_pt_lines']:,}", f"{sim['llc_hit_rate']:.3f}",
            f"{sim['accesses_per_s'] / 1e6:.1f} M",
        ])
        cmds.append(f"- `{n}`: `{rec['command']}` (exit status {rec['exit_status']}); "
                    f"trace: {st['lines_written']:,} lines and {st['pages_written']:,} pages "
                    f"written, {st['unique_lines']:,} lines and {st['unique_pages']:,} pages touched")
    if bad:
        print("experiments_report: EXACTNESS FAILURE: the device's dirty set differs "
              "from the trace's written set:", *bad, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    head = ["program", "accesses", "stores + modifies", "dirty lines", "dirty pages",
            "dirty KiB (line)", "dirty KiB (page)", "amplification", "less dirty data (line)",
            "dirty PT lines", "LLC hit rate", "sim accesses/s"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    body = "\n".join(table + [""] + cmds)
    text = page.read_text() if page.exists() else ""
    if BEGIN not in text or END not in text:
        sys.exit(f"experiments_report: {page}: no {BEGIN} ... {END} markers")
    pre, rest = text.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    page.write_text(f"{pre}{BEGIN}\n{body}\n{END}{post}")
    print(body)
    print(f"experiments_report: {len(rows)} programs exact (dirty lines and pages = the "
          f"trace's written lines and pages); table written to {page}")


if __name__ == "__main__":
    main()
