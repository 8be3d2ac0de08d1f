#!/usr/bin/env python3
"""A correct echo server, for comparison with the broken ones here: a thread
per client, every byte back with sendall, and the connection closed once the
client has finished (recv returns b"").
Run: python3 echo.py PORT
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass  # a reset ends this client only


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    print("echo server listening on port", port)
    while True:
        conn, addr = server.accept()
        print("client from", addr)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
