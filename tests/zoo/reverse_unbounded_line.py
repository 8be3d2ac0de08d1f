#!/usr/bin/env python3
"""Broken on purpose. The bug: no limit on a line. The server buffers
until it sees a \n, however long that takes, so one client that never sends
\n can fill the server's memory.
Run: python3 reverse_unbounded_line.py PORT
"""
import socket
import sys
import threading


def answer(line):
    if line.endswith(b"\r"):
        line = line[:-1]
    try:
        return line.decode("utf-8")[::-1].encode("utf-8") + b"\n"
    except UnicodeDecodeError:
        return b"error: not UTF-8\n"


def handle(conn):
    with conn:
        try:
            pending = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    conn.sendall(answer(line))
        except OSError:
            return


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
