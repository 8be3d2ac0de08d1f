#!/usr/bin/env python3
"""Broken on purpose. The bug: no half-close. When one direction ends
(recv returns b""), the proxy closes both connections, so a reply the
server sends after the client has finished sending never reaches it.
Run: python3 proxy_no_half_close.py PORT UPSTREAM
"""
import socket
import sys
import threading


def pump(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    for conn in (source, target):
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def handle(client, upstream_port):
    with client:
        try:
            server = socket.create_connection(("127.0.0.1", upstream_port))
        except OSError:
            return
        with server:
            back = threading.Thread(target=pump, args=(server, client))
            back.start()
            pump(client, server)
            back.join()


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
