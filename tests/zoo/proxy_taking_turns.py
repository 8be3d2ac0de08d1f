#!/usr/bin/env python3
"""Broken on purpose. The bug: one thread takes turns, a recv() from the
client, then a recv() from the server, and so on. While it waits for one
side, whatever the other side sends waits too, for ever if that side has
nothing to say.
Run: python3 proxy_taking_turns.py PORT UPSTREAM
"""
import socket
import sys
import threading


def handle(client, upstream_port):
    with client:
        try:
            server = socket.create_connection(("127.0.0.1", upstream_port))
        except OSError:
            return
        with server:
            try:
                while True:
                    data = client.recv(65536)
                    if not data:
                        break
                    server.sendall(data)
                    data = server.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
            except OSError:
                pass


def main():
    port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    while True:
        client, _ = listener.accept()
        threading.Thread(
            target=handle, args=(client, upstream_port), daemon=True
        ).start()


main()
