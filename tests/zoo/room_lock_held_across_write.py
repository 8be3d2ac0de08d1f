#!/usr/bin/env python3
"""Broken on purpose. The bug: a lock held across a write. Each line is
sent to every other client from its sender's thread, with sendall, while
holding the lock on the list of clients. A client that stops reading fills
its socket's buffers, sendall waits for it forever, and with the lock held
every other client's line waits too: one client stops the room.
Run: python3 room_lock_held_across_write.py PORT
"""
import socket
import sys
import threading

clients = {}  # number -> socket
clients_lock = threading.Lock()


def broadcast(sender, line):
    with clients_lock:
        for number, conn in list(clients.items()):
            if number == sender:
                continue
            try:
                conn.sendall(line)
            except OSError:
                del clients[number]


def handle(number, conn):
    try:
        conn.sendall(b"welcome to the room, you are #%d\n" % number)
        pending = b""
        while True:
            data = conn.recv(4096)
            if not data:
                break
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    return
                broadcast(number, ("[#%d] %s\n" % (number, text)).encode("utf-8"))
    except OSError:
        pass
    finally:
        with clients_lock:
            clients.pop(number, None)
        conn.close()


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        with clients_lock:
            clients[number] = conn
        threading.Thread(target=handle, args=(number, conn), daemon=True).start()


main()
