#!/usr/bin/env python3
"""A TCP proxy in front of a real PostgreSQL server that reports another server version.

    pg_version_proxy.py LISTEN_PORT SERVER_PORT VERSION

Listens on 127.0.0.1:LISTEN_PORT and relays every connection to 127.0.0.1:SERVER_PORT unchanged,
except the ParameterStatus message 'server_version' the server sends at startup, whose value
becomes VERSION (libpq's PQserverVersion() reads it). Lets a test show what snapkeep does with a
server major it does not know (newer or older) against a real server. Clients must not ask for
TLS or GSS encryption (sslmode=disable, gssencmode=disable): the stream is read as plain protocol.
Prints "ready PORT" on stdout once listening (LISTEN_PORT 0: a free port the system picks).
"""
import socket
import struct
import sys
import threading


def relay_client(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay_server(src, dst, version):
    """Server to client, message by message: type byte, int32 length (itself included), body."""
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            buf += data
            out = b""
            while len(buf) >= 5:
                mtype = buf[0:1]
                (length,) = struct.unpack("!I", buf[1:5])
                if len(buf) < 1 + length:
                    break
                body = buf[5 : 1 + length]
                buf = buf[1 + length :]
                if mtype == b"S":
                    name, _, rest = body.partition(b"\0")
                    if name == b"server_version":
                        body = name + b"\0" + version.encode() + b"\0"
                out += mtype + struct.pack("!I", len(body) + 4) + body
            if out:
                dst.sendall(out)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    listen_port, server_port, version = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(16)
    print("ready", ls.getsockname()[1], flush=True)
    while True:
        client, _ = ls.accept()
        server = socket.create_connection(("127.0.0.1", server_port))
        threading.Thread(target=relay_client, args=(client, server), daemon=True).start()
        threading.Thread(target=relay_server, args=(server, client, version), daemon=True).start()


if __name__ == "__main__":
    main()
