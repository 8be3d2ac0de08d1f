#!/usr/bin/env python3
"""Lesson 03's reverse server in Python: each line back, reversed by
characters. `python3 reverse_server.py PORT`; graded with
`cargo run -p exercises -- grade reverse --run 'python3 reverse_server.py {port}'`.
"""
import socket
import sys
import threading

MAX_LINE = 1024  # bytes before the \n (a \r counts)


def answer(line):
    """The reply to one line, without its \\n."""
    if line.endswith(b"\r"):
        line = line[:-1]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return b"error: not UTF-8\n"
    return text[::-1].encode("utf-8") + b"\n"


def too_long(conn):
    """Says so, then closes politely: a FIN, and the rest read and dropped,
    so that the error line is not cut by a reset."""
    conn.sendall(b"error: line too long\n")
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(5)
    while conn.recv(65536):
        pass


def serve(conn):
    with conn:
        try:
            pending = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return  # the client has finished: close our side too
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if len(line) > MAX_LINE:
                        return too_long(conn)
                    conn.sendall(answer(line))
                if len(pending) > MAX_LINE:
                    return too_long(conn)
        except OSError:
            return  # this client's trouble ends this client only


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 2002
    with socket.create_server(("127.0.0.1", port)) as server:
        print(f"listening on 127.0.0.1:{port}", flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
