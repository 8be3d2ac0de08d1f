#!/usr/bin/env python3
"""Broken on purpose. The bug, the original chat's: the receive loop never
checks for b"". Once the client has finished, recv() returns b"" at once,
forever: the thread spins, printing empty lines, and never closes the
connection.
Run: python3 echo_spins_after_the_client_leaves.py PORT
"""
import socket
import sys
import threading


def handle(conn):
    while True:
        data = conn.recv(1024)
        print(data.decode(errors="replace"))
        conn.sendall(data)


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
