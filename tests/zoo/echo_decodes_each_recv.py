#!/usr/bin/env python3
"""Broken on purpose. The bug: each recv() is decoded to text (to print it)
and the text is what gets sent back. A character whose bytes arrive in two
recv() calls is cut in half, and each half comes back as U+FFFD.
Run: python3 echo_decodes_each_recv.py PORT
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                text = data.decode("utf-8", errors="replace")
                print("received:", text)
                conn.sendall(text.encode("utf-8"))
        except OSError:
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
