#!/usr/bin/env python3
"""PAdES-LTA validation with pyHanko at a chosen moment, from the file's embedded data alone.

Why: archive renewal exists so that a document stays valid after the certificate of its older
timestamps' TSA has ended. Asking "is it valid at time T?" offline leaves one thing no file can
hold: revocation information from T for the newest timestamp's TSA (a validator at T fetches it
online). Like pyHanko's own simulate_future_ades_lta_validation, this script asserts that one
certificate not revoked at T -- and nothing else: unlike that function it asserts no proof of
existence, so every older timestamp must be proven by a newer one (the real LTA algorithm,
ETSI EN 319 102-1 with pyHanko's ades_lta_validation).

Prints one line per signature (document timestamps excluded): FIELD INDICATION.
Usage: pyhanko_lta_at.py --trust root.pem --at 2029-06-01T00:00:00 file.pdf
"""
import argparse, asyncio, datetime, logging

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge, PdfSignatureValidationSpec, RevocationInfoGatheringSpec,
    RevinfoOnlineFetchingRule, SignatureValidationSpec)
from pyhanko_certvalidator.context import CertValidationPolicySpec, NonRevokedStatusAssertion
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, REQUIRE_REVINFO
from pyhanko_certvalidator.registry import SimpleTrustManager


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trust', action='append', required=True)
    ap.add_argument('--at', required=True, help='ISO date-time (UTC) of the validation')
    ap.add_argument('pdf')
    a = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    at = datetime.datetime.fromisoformat(a.at).replace(tzinfo=datetime.timezone.utc)
    roots = [c for f in a.trust for c in load_certs_from_pemder([f])]
    reader = PdfFileReader(open(a.pdf, 'rb'))
    assertions = []
    if reader.embedded_timestamp_signatures:
        newest = reader.embedded_timestamp_signatures[-1]
        assertions.append(NonRevokedStatusAssertion(newest.signer_cert.sha256, at=at))
    spec = PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=roots),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
            local_knowledge=LocalKnowledge(nonrevoked_assertions=assertions)),
        diff_policy=DEFAULT_DIFF_POLICY)
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at,
                                  point_in_time_validation=True)
    for sig in reader.embedded_signatures:
        if sig.sig_object.get('/Type') == '/DocTimeStamp':
            continue
        result = asyncio.run(ades.ades_lta_validation(sig, spec, timing_info=timing))
        print(sig.field_name, result.ades_subindic)


if __name__ == '__main__':
    main()
