#!/usr/bin/env python3
"""Broken on purpose. The bug: each recv() is taken for one line, as in the
original chat: a line that arrives in pieces is sent on as several lines.
Run: python3 room_one_recv_per_line.py PORT
"""
import queue
import socket
import sys
import threading
import time

STUCK_AFTER = 5  # seconds without a send going through


class Client:
    def __init__(self, conn):
        self.conn = conn
        self.lines = queue.Queue()
        self.last_progress = time.monotonic()

    def stuck(self):
        return (not self.lines.empty()
                and time.monotonic() - self.last_progress > STUCK_AFTER)


clients = {}  # number -> Client
clients_lock = threading.Lock()


def broadcast(sender, line):
    with clients_lock:
        others = [(n, c) for n, c in clients.items() if n != sender]
    for number, client in others:
        if client.stuck():
            drop(number)
        else:
            client.lines.put(line)


def drop(number):
    with clients_lock:
        client = clients.pop(number, None)
    if client is not None:
        try:
            client.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        client.lines.put(None)


def write(number, client):
    try:
        while True:
            line = client.lines.get()
            if line is None:
                break
            client.conn.sendall(line)
            client.last_progress = time.monotonic()
    except OSError:
        drop(number)
    client.conn.close()


def read(number, client):
    try:
        client.conn.sendall(b"welcome to the room, you are #%d\n" % number)
        while True:
            data = client.conn.recv(4096)
            if not data:
                break
            text = data.decode("utf-8", errors="replace").strip()
            broadcast(number, ("[#%d] %s\n" % (number, text)).encode("utf-8"))
    except OSError:
        pass
    finally:
        drop(number)


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen()
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        client = Client(conn)
        with clients_lock:
            clients[number] = client
        threading.Thread(target=write, args=(number, client), daemon=True).start()
        threading.Thread(target=read, args=(number, client), daemon=True).start()


main()
