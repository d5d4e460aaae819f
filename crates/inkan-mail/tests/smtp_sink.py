"""A real SMTP server for inkan-mail's tests: aiosmtpd on 127.0.0.1, any free port.

Usage: python smtp_sink.py OUT_DIR [--reject ADDR]... [--defer ADDR]...

Prints the port on the first line of stdout once listening. Each accepted message is saved as
OUT_DIR/N.eml (the raw bytes received) beside OUT_DIR/N.json (the SMTP envelope: mail_from,
rcpt_tos), both written before the server answers 250 to DATA. RCPT TO an address given with
--reject gets "550 5.1.1", with --defer "451 4.3.0". Exits when stdin closes, so a test that
dies does not leave the server behind.
"""

import argparse
import asyncio
import json
import os
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out_dir, reject, defer):
        self.out_dir = out_dir
        self.reject = {a.lower() for a in reject}
        self.defer = {a.lower() for a in defer}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if address.lower() in self.defer:
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out_dir, str(self.count))
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        with open(base + ".json.part", "w") as f:
            json.dump(meta, f)
        os.replace(base + ".json.part", base + ".json")
        data = envelope.original_content or envelope.content
        with open(base + ".eml.part", "wb") as f:
            f.write(data)
        os.replace(base + ".eml.part", base + ".eml")
        return "250 Message accepted for delivery"


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--defer", action="append", default=[])
    args = parser.parse_args()
    handler = Sink(args.out_dir, args.reject, args.defer)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, decode_data=False, enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=0,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
