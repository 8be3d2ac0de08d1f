#!/usr/bin/env python3
"""Broken on purpose. The bug: the server keeps each client's socket in a
dict (to list who is connected) and, when the client has finished, leaves
the loop without closing it or taking it out. The connection stays open.
Run: python3 reverse_no_close_after_the_client_finishes.py PORT
"""
import socket
import sys
import threading

MAX_LINE = 1024
connected = {}


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


def handle(conn):
    try:
        pending = b""
        while True:
            data = conn.recv(4096)
            if not data:
                print(len(connected), "clients so far")
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


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, addr = server.accept()
        connected[addr] = conn
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
