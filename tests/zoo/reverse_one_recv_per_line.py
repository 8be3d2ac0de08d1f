#!/usr/bin/env python3
"""Broken on purpose. The bug, the original reverse server's: each recv()
is taken for one whole line. A line that arrives in two pieces gets two
replies, each piece reversed on its own.
Run: python3 reverse_one_recv_per_line.py PORT
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while True:
                data = conn.recv(2048)
                if not data:
                    break
                if len(data) > 1024:
                    conn.sendall(b"error: line too long\n")
                    break
                text = data.decode("utf-8").rstrip("\r\n")
                conn.sendall((text[::-1] + "\n").encode("utf-8"))
        except (OSError, UnicodeDecodeError):
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
