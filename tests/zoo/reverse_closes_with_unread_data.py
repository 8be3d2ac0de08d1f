#!/usr/bin/env python3
"""Broken on purpose. The bug: a close with bytes unread. The server reads
a line at most MAX_LINE + 1 bytes long (an unbuffered file's readline
reads byte by byte, so it stops right there), and at a line that is too
long it says so and closes at once. The rest of that line is still unread
in the kernel, so the close sends a reset (RST), not a FIN, and a reset can
destroy the error line before the client reads it.
Run: python3 reverse_closes_with_unread_data.py PORT
"""
import socket
import sys
import threading

MAX_LINE = 1024


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
            lines = conn.makefile("rb", buffering=0)
            while True:
                line = lines.readline(MAX_LINE + 1)
                if not line:
                    return
                if not line.endswith(b"\n"):
                    if len(line) > MAX_LINE:
                        conn.sendall(b"error: line too long\n")
                        return  # the bug: closed with the rest unread
                    # The end of the stream in the middle of a line.
                    return
                conn.sendall(answer(line[:-1]))
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
