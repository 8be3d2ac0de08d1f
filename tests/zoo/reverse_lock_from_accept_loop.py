#!/usr/bin/env python3
"""Broken on purpose. The bug, the original reverse server's: the accept
loop takes a lock and the client's thread releases it only when its client
leaves, so the next accept waits on that lock. Every line is answered
right, but one client at a time: a second client's line waits, unanswered,
until the first client leaves.
Run: python3 reverse_lock_from_accept_loop.py PORT
"""
import socket
import sys
import threading

MAX_LINE = 1024

print_lock = threading.Lock()


def answer(line):
    if line.endswith(b"\r"):
        line = line[:-1]
    try:
        return line.decode("utf-8")[::-1].encode("utf-8") + b"\n"
    except UnicodeDecodeError:
        return b"error: not UTF-8\n"


def too_long(conn):
    conn.sendall(b"error: line too long\n")
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(5)
    while conn.recv(65536):
        pass


def serve(conn):
    try:
        with conn:
            pending = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if len(line) > MAX_LINE:
                        return too_long(conn)
                    conn.sendall(answer(line))
                if len(pending) > MAX_LINE:
                    return too_long(conn)
    except OSError:
        return
    finally:
        print("client gone", flush=True)
        print_lock.release()


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen(5)
    while True:
        conn, addr = server.accept()
        print_lock.acquire()
        print("connected to", addr, flush=True)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
