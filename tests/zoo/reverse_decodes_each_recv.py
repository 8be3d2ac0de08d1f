#!/usr/bin/env python3
"""Broken on purpose. The bug: each recv() is decoded on its own before
the text is buffered, so a character whose bytes arrive in two recv() calls
is cut in half, and each half becomes U+FFFD.
Run: python3 reverse_decodes_each_recv.py PORT
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
            pending = ""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                pending += data.decode("utf-8", errors="replace")
                while "\n" in pending:
                    line, pending = pending.split("\n", 1)
                    if len(line.encode("utf-8")) > MAX_LINE:
                        return too_long(conn)
                    conn.sendall((line.rstrip("\r")[::-1] + "\n").encode("utf-8"))
                if len(pending.encode("utf-8")) > MAX_LINE:
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
