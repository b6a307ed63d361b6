"""A trivial, fast HTTP/1.1 upstream for the gateway case: every request gets the same small JSON answer.

    python bench/upstream.py --port 0 --port-file FILE     # 127.0.0.1 only; prints/writes the port

asyncio, keep-alive, Content-Length bodies read and dropped; no framework, so that what the gateway case
measures beyond "upstream direct" is the gateway itself.
"""

import argparse
import asyncio
import socket

BODY = b'{"upstream":"ok"}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
CLOSE_RESPONSE = RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)


class Upstream(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.body_left = 0

    def data_received(self, data):
        self.buffer += data
        while True:
            if self.body_left:
                taken = min(self.body_left, len(self.buffer))
                self.buffer = self.buffer[taken:]
                self.body_left -= taken
                if self.body_left:
                    return
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self.transport.close()
                return
            head = self.buffer[:end].lower()
            self.buffer = self.buffer[end + 4:]
            length = 0
            close = b"\r\nconnection: close" in head
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            self.body_left = length
            if close:
                self.transport.write(CLOSE_RESPONSE)
                self.transport.close()
                return
            self.transport.write(RESPONSE)


async def serve(port, port_file):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = await asyncio.get_running_loop().create_server(Upstream, sock=sock, backlog=1024)
    actual = sock.getsockname()[1]
    if port_file:
        with open(port_file, "w") as f:
            f.write(str(actual))
    print(f"upstream listening on 127.0.0.1:{actual}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.port_file))


if __name__ == "__main__":
    main()
