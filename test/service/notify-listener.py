#!/usr/bin/python3
"""systemd's side of sd_notify, for tests: binds an AF_UNIX SOCK_DGRAM socket at argv[1] and prints
each datagram as one JSON line {"t": <CLOCK_MONOTONIC usec at receipt>, "pid": <sender pid or null>,
"fields": {...}} on stdout. Closes fds passed with a message (systemd-notify's BARRIER=1 waits for
that), as systemd does. Prints "LISTENING" first, once bound.

With argv[2] (daqd's command socket): on READY=1, before anything else (the sender is still waiting
for its barrier), sends daemon.status there and adds the answer (or the error) as "probe"."""
import json, os, socket, struct, sys, time

def probe(path):
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(5)
        c.connect(path)
        c.sendall(b'{"jsonrpc":"2.0","id":1,"method":"daemon.status"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
        c.close()
        return json.loads(buf)
    except Exception as e:
        return {"error": repr(e)}

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("LISTENING", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12))
    t = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            n = len(payload) // 4
            for fd in struct.unpack("%di" % n, payload[: n * 4]):
                os.close(fd)
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    fields = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            fields[k] = v
    out = {"t": t, "pid": pid, "fields": fields}
    if len(sys.argv) > 2 and fields.get("READY") == "1":
        out["probe"] = probe(sys.argv[2])
    print(json.dumps(out), flush=True)
