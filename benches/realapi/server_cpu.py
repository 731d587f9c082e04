#!/usr/bin/env python3
"""The real kube-apiserver's (and etcd's) CPU to serve one client start, clients alternated.

usage: REPS=5 server_cpu.py ROUNDS NAME=COMMAND...   (COMMAND run by sh; 'watch:' prefix = a watching
kreflect run, killed once its first listing is complete)
"""
import json, os, statistics, subprocess, sys, time

def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime

def pid_of(name):
    return int(subprocess.check_output(["pgrep", "-x", name]).split()[0])

API, ETCD = pid_of("kube-apiserver"), pid_of("etcd")
REPS = int(os.environ.get("REPS", "1"))

def run(command):
    if command.startswith("watch:"):
        proc = subprocess.Popen(command[6:], shell=True, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        lines = 0
        for line in proc.stdout:
            if line.strip() == b"":
                break
            lines += 1
        os.killpg(proc.pid, 15)
        proc.wait()
        return lines
    out = subprocess.run(command, shell=True, capture_output=True)
    return out.stdout.count(b"\n")

def main():
    rounds = int(sys.argv[1])
    clients = [arg.split("=", 1) for arg in sys.argv[2:]]
    results = {name: [] for name, _ in clients}
    for r in range(rounds):
        order = clients[r % len(clients):] + clients[:r % len(clients)]
        for name, command in order:
            time.sleep(1.0)
            a0, e0, t0 = ticks(API), ticks(ETCD), time.time()
            for _ in range(REPS):
                lines = run(command)
            time.sleep(0.5)
            a1, e1, t1 = ticks(API), ticks(ETCD), time.time()
            results[name].append((a1 - a0, e1 - e0, t1 - t0 - 0.5, lines))
    ref = statistics.median(a for a, _, _, _ in results[clients[0][0]])
    print(f"| client | apiserver CPU s per start (median of {rounds} rounds of {REPS}) | ratio | etcd CPU s per start | wall s per start | lines |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _ in clients:
        rows = results[name]
        api = statistics.median(a for a, _, _, _ in rows)
        etcd = statistics.median(e for _, e, _, _ in rows)
        wall = statistics.median(w for _, _, w, _ in rows)
        lines = rows[-1][3]
        print(f"| {name} | {api/100/REPS:.3f} | {api/ref:.2f} | {etcd/100/REPS:.3f} | {wall/REPS:.2f} | {lines} |")
    print(json.dumps(results), file=sys.stderr)

main()
