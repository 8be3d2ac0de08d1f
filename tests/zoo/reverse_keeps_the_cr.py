#!/usr/bin/env python3
"""Broken on purpose. The bug: the line is cut at \n only, so the \r of a
\r\n line end is part of the text and comes back first, reversed with it.
Run: python3 reverse_keeps_the_cr.py PORT
"""
import socket
import sys
import threading

MAX_LINE = 1024


def too_long(conn):
    conn.sendall(b"error: line too long\n")
    conn.shutdown(socket.SHUT_WR)


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
                    if len(line) > MAX_LINE:
                        return too_long(conn)
                    try:
                        reply = line.decode("utf-8")[::-1].encode("utf-8") + b"\n"
                    except UnicodeDecodeError:
                        reply = b"error: not UTF-8\n"
                    conn.sendall(reply)
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
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
