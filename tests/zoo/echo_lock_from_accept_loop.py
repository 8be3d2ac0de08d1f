#!/usr/bin/env python3
"""Broken on purpose. The bug, the original reverse server's: the accept
loop takes a lock (to print safely) and the client's thread releases it only
when its client leaves. The next accept waits on that lock, so there is a
thread per client but one client at a time.
Run: python3 echo_lock_from_accept_loop.py PORT
"""
import socket
import sys
import threading

print_lock = threading.Lock()


def handle(conn):
    while True:
        data = conn.recv(1024)
        if not data:
            print("client gone")
            print_lock.release()
            break
        conn.sendall(data)
    conn.close()


def main():
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", port))
    server.listen(5)
    while True:
        conn, addr = server.accept()
        print_lock.acquire()
        print("connected to", addr)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
