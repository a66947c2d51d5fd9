"""Self time and call count per op group of one training step, from Chrome traces: ibot4j's
(IBOT4J_TRACE, LibTorch's profiler) and the Python reference's (torch.profiler), side by side, as a
Markdown table. Self time is an op's duration less that of the ops it called (nesting on each thread).

    python tools/op_table.py NAME=TRACE.json [NAME=TRACE.json ...]

Call counts do not depend on the machine's load; times do.
"""
import collections
import json
import sys

# Row label -> predicate on an op name.
GROUPS = [
    ("matrix products (mm, addmm, bmm)", lambda n: n in ("aten::mm", "aten::addmm", "aten::bmm")),
    ("SDPA flash forward", lambda n: n.startswith("aten::_scaled_dot_product") and "backward" not in n),
    ("SDPA flash backward", lambda n: n.startswith("aten::_scaled_dot_product") and "backward" in n),
    ("softmax forward + backward (attention and loss)",
     lambda n: n in ("aten::_softmax", "aten::_softmax_backward_data")),
    ("GELU forward + backward", lambda n: n in ("aten::gelu", "aten::gelu_backward")),
    ("layer norm forward + backward", lambda n: n in ("aten::native_layer_norm", "aten::native_layer_norm_backward")),
    ("copy_", lambda n: n == "aten::copy_"),
    ("add_", lambda n: n == "aten::add_"),
    ("other element-wise (add, mul, sub, div, neg, where)",
     lambda n: n in ("aten::add", "aten::mul", "aten::mul_", "aten::sub", "aten::div", "aten::div_", "aten::neg", "aten::where")),
]


def self_times(path):
    """{op name: (self microseconds, calls)} of the CPU ops in one trace."""
    with open(path) as f:
        events = json.load(f)
    if isinstance(events, dict):
        events = events.get("traceEvents", [])
    threads = collections.defaultdict(list)
    for e in events:
        # LibTorch's legacy profiler writes no category; torch.profiler marks ops "cpu_op".
        if e.get("ph") == "X" and "dur" in e and e.get("cat", "cpu_op") == "cpu_op":
            threads[(e.get("pid"), e.get("tid"))].append(e)
    time, calls = collections.Counter(), collections.Counter()
    for evs in threads.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [name, end, self]
        done = []
        for e in evs:
            start, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][1] <= start:
                done.append(stack.pop())
            if stack:
                stack[-1][2] -= dur
            stack.append([e["name"], start + dur, dur])
            calls[e["name"]] += 1
        done.extend(stack)
        for name, _, own in done:
            time[name] += own
    return {n: (time[n], calls[n]) for n in calls}


def main(args):
    if not args or any("=" not in a for a in args):
        sys.exit(__doc__)
    columns = [(a.split("=", 1)[0], self_times(a.split("=", 1)[1])) for a in args]
    print("| op (self time of one step, ms (calls)) | " + " | ".join(name for name, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for label, match in GROUPS:
        cells = []
        for _, ops in columns:
            ms = sum(t for n, (t, _) in ops.items() if match(n)) / 1e3
            calls = sum(c for n, (_, c) in ops.items() if match(n))
            cells.append(f"{ms:,.0f} ({calls})" if calls else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for _, ops in columns:
        rest = {n: v for n, v in ops.items() if not any(match(n) for _, match in GROUPS)}
        cells.append(f"{sum(t for t, _ in rest.values()) / 1e3:,.0f} ({sum(c for _, c in rest.values())})")
    print("| everything else | " + " | ".join(cells) + " |")
    cells = [f"{sum(t for t, _ in ops.values()) / 1e3:,.0f} ({sum(c for _, c in ops.values())})" for _, ops in columns]
    print("| total (all ops) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
