#!/usr/bin/python3
"""Checks a Prometheus text exposition with the reference parser (Debian's python3-prometheus-client).

Reads the exposition from the file named as the first argument, or from stdin. Fails (exit 1,
the reason on stderr) when a line does not parse, when a sample line was not parsed into a
sample or has no # TYPE, or when a histogram's buckets are not cumulative up to a +Inf bucket
equal to its _count.
Otherwise prints JSON for the C++ test to assert values on:
  {"families": {family name: type}, "samples": {'name{k="v",...}' (labels sorted): value}}
with a value that is not finite as a string ("nan", "inf").
"""

import json
import math
import sys
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families


def key(name, labels):
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def check_histogram(family, failures):
    buckets = defaultdict(list)  # the series' labels without le -> [(le, value)]
    counts = {}
    for sample in family.samples:
        rest = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
        if sample.name.endswith("_bucket"):
            buckets[rest].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            counts[rest] = sample.value
    if set(buckets) != set(counts):
        failures.append(f"{family.name}: series with buckets {sorted(buckets)} but counts {sorted(counts)}")
    for labels, series in buckets.items():
        series.sort()
        values = [value for _, value in series]
        if any(later < earlier for earlier, later in zip(values, values[1:])):
            failures.append(f"{family.name}{dict(labels)}: buckets decrease in le order: {series}")
        if not series or not math.isinf(series[-1][0]):
            failures.append(f"{family.name}{dict(labels)}: no +Inf bucket")
        elif series[-1][1] != counts.get(labels):
            failures.append(f"{family.name}{dict(labels)}: +Inf bucket {series[-1][1]} != _count {counts.get(labels)}")


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and others on malformed lines
        print(f"check_exposition: the exposition does not parse: {error!r}", file=sys.stderr)
        return 1

    failures = []
    out = {"families": {}, "samples": {}}
    for family in families:
        out["families"][family.name] = family.type
        if family.type == "unknown":  # a sample whose name its # TYPE line does not announce
            failures.append(f"{family.name}: samples without a # TYPE of their own")
        for sample in family.samples:
            # JSON has no NaN or infinities (prometheus-cpp's own scrape summary is NaN at first).
            value = sample.value if math.isfinite(sample.value) else repr(sample.value)
            out["samples"][key(sample.name, sample.labels)] = value
        if family.type == "histogram":
            check_histogram(family, failures)

    sample_lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    parsed = sum(len(family.samples) for family in families)
    if parsed != len(sample_lines):
        failures.append(f"{len(sample_lines)} sample lines but {parsed} parsed samples")
    if len(out["samples"]) != parsed:
        failures.append(f"{parsed - len(out['samples'])} samples repeat a name and labels")

    if failures:
        print("check_exposition:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, sort_keys=True, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
