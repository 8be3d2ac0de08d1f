#!/usr/bin/env python3
"""Broken on purpose. The bug: the server reads lines (makefile and
readline) instead of bytes, so what a client sends comes back only once a
\n follows it.
Run: python3 echo_whole_lines_only.py PORT
"""
import socket
import sys
import threading


def handle(conn):
    with conn, conn.makefile("rb") as lines:
        try:
            for line in lines:
                conn.sendall(line)
        except OSError:
            pass


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
