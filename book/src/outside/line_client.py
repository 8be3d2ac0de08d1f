"""A line client for the course's servers: send each line of stdin, print each reply.

Usage: python3 line_client.py HOST PORT < lines.txt
"""

import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])

# create_connection tries every address of HOST; the timeout applies to the
# connect and to every later read, so a silent server cannot hang us.
# A file view of the socket does the framing: readline() keeps reading until
# a whole line is there, however TCP cut the bytes up. Both go in the `with`:
# closing the socket alone leaves the connection open while the view is.
with socket.create_connection((host, port), timeout=5) as sock, \
        sock.makefile("r", encoding="utf-8", newline="\n") as replies:
    for line in sys.stdin:
        # sendall, not send: send may take only part of the bytes.
        sock.sendall(line.rstrip("\n").encode("utf-8") + b"\n")
        reply = replies.readline()
        if not reply:  # "" means the server closed the connection
            sys.exit("the server closed the connection")
        print(reply.rstrip("\n"))
