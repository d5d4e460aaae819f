#!/usr/bin/env python3
"""Every document timestamp of a PDF, validated by pyHanko against the given roots.

Why: `pyhanko sign validate` checks signatures and says nothing about a file whose only
signature is a document timestamp (a scanned paper contract imported with its proof of
existence). This asks pyHanko's own timestamp validation: the token's digest covers the signed
byte ranges (intact), its signature is valid, and its TSA chains to a root (trusted).

Prints one line per document timestamp: FIELD intact=… valid=… trusted=… time=…
Exit 0 when there is at least one and every one is intact, valid and trusted.
Usage: pyhanko_doc_timestamps.py --trust root.pem file.pdf
"""
import argparse, logging, sys

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trust', action='append', required=True)
    ap.add_argument('pdf')
    a = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    roots = [c for f in a.trust for c in load_certs_from_pemder([f])]
    reader = PdfFileReader(open(a.pdf, 'rb'))
    ok, seen = True, 0
    for s in reader.embedded_timestamp_signatures:
        seen += 1
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode='soft-fail')
        status = validate_pdf_timestamp(s, validation_context=context)
        good = status.intact and status.valid and status.trusted
        ok &= good
        print(f"{s.field_name} intact={status.intact} valid={status.valid} "
              f"trusted={status.trusted} time={status.timestamp}")
    if seen == 0:
        print("no document timestamp")
    sys.exit(0 if ok and seen > 0 else 1)


if __name__ == '__main__':
    main()
