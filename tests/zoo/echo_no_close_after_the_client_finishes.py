#!/usr/bin/env python3
"""Broken on purpose. The bug: the server keeps every connection in a list
(to count its clients) and never closes one. When the client half-closes,
the loop ends but the socket stays open, so the client waits for an end
that never comes.
Run: python3 echo_no_close_after_the_client_finishes.py PORT
"""
import socket
import sys
import threading

clients = []


def handle(conn):
    try:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    print("a client finished;", len(clients), "seen so far")


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        clients.append(conn)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
