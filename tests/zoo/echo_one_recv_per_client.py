#!/usr/bin/env python3
"""Broken on purpose. The bug: one recv() is taken for the client's whole
message, as in the original tutorials; the thread echoes it and hangs up, so
whatever the client sends next is never echoed.
Run: python3 echo_one_recv_per_client.py PORT
"""
import socket
import sys
import threading


def handle(conn):
    data = conn.recv(1024)
    conn.sendall(data)
    conn.close()


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
