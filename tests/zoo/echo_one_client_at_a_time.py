#!/usr/bin/env python3
"""Broken on purpose. The bug: the single-client echo of the tutorials, put
in a loop: the accept loop itself serves each client until it leaves, so a
second client waits, unanswered, for the first to go.
Run: python3 echo_one_client_at_a_time.py PORT
"""
import socket
import sys


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, addr = server.accept()
        with conn:
            print("connected by", addr)
            try:
                while True:
                    data = conn.recv(1024)
                    if not data:
                        break
                    conn.sendall(data)
            except OSError:
                pass


main()
