#!/usr/bin/env python3
"""The yardstick in the originals' style: a Python server with a thread per
client, written the way the tutorials the course ports write it (socket,
bind, listen, accept in a loop, one thread each), but with their bugs fixed
so that every reply can be checked: it reads whole lines and sends with
sendall.

    python3 bench/py_threaded.py --mode reverse      # lesson 03's protocol
    python3 bench/py_threaded.py --mode echo         # lesson 02's protocol

It listens on 127.0.0.1 (port 0 by default: the system picks one) and prints
`listening on 127.0.0.1:PORT` like the course's servers. Like the originals,
it does not set SO_REUSEADDR.
"""
import argparse
import socket
import sys
import threading


def serve_echo(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def serve_reverse(conn):
    with conn.makefile("rb") as lines:
        for line in lines:
            text = line.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "replace")
            conn.sendall(text[::-1].encode("utf-8") + b"\n")


def client(conn, serve):
    with conn:
        try:
            serve(conn)
        except OSError:
            pass  # a reset ends this client, not the server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=["echo", "reverse"], default="echo")
    args = parser.parse_args()
    serve = serve_echo if args.mode == "echo" else serve_reverse

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", args.port))
    server.listen()
    host, port = server.getsockname()
    print(f"listening on {host}:{port}", flush=True)
    try:
        while True:
            conn, _addr = server.accept()
            threading.Thread(target=client, args=(conn, serve), daemon=True).start()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
