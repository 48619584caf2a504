"""Python workload for ci/experiments.sh: generate a deterministic text, count its
words in a dict, sort them, and format the counts -- the dict, string and list
churn of a typical small script. It imports nothing but sys: `import json` brings
in `re`, whose pattern compilation made a first recording several times longer."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "we", "zu"]
x, words = 12345, []
for _ in range(n):
    x = (x * 1103515245 + 12345) & 0x7FFFFFFF  # LCG: the same text every run
    words.append(syllables[x % 10] + syllables[(x >> 8) % 10] + syllables[(x >> 16) % 7])
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
doc = ";".join(f"{w}={c}" for w, c in top)
print(len(doc), top[0])
