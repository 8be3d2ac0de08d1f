#!/usr/bin/env python3
"""Broken on purpose. The bug, the original reverse server's: it reverses
the line's bytes, not its characters, so a character of more than one byte
comes back with its bytes in the wrong order (no longer UTF-8).
Run: python3 reverse_bytes_not_characters.py PORT
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
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    conn.sendall(line[::-1] + b"\n")
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
