#!/usr/bin/env python3
"""Writes a fixture document (the format of src/fixtures.rs) with many phone numbers.

Every number is VERIFIED, unregistered and without a PIN, so a register with any PIN
succeeds (and sets that PIN), and alternating register/deregister passes succeed forever.
Number ids are 2000000000000000 + i (i = 0..N-1); WABA ids are 1000000000 + j.
"""

import argparse
import json
import sys

NUMBER_BASE = 2_000_000_000_000_000
WABA_BASE = 1_000_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", help="fixture file to write ('-' for stdout)")
    parser.add_argument("--numbers", type=int, default=100_000, help="phone numbers (default 100000)")
    parser.add_argument("--per-waba", type=int, default=1000, help="numbers per WABA (default 1000)")
    parser.add_argument("--token", default="EAABenchToken", help="the one token, scope all WABAs")
    args = parser.parse_args()
    if args.numbers < 1 or args.per_waba < 1:
        parser.error("--numbers and --per-waba must be positive")

    wabas = []
    for start in range(0, args.numbers, args.per_waba):
        numbers = []
        for i in range(start, min(start + args.per_waba, args.numbers)):
            numbers.append(
                {
                    "id": str(NUMBER_BASE + i),
                    "display_phone_number": f"+1 555-{i // 10000 % 1000:03d}-{i % 10000:04d}",
                    "verified_name": f"Bench Number {i}",
                    "code_verification_status": "VERIFIED",
                }
            )
        wabas.append(
            {
                "id": str(WABA_BASE + start // args.per_waba),
                "name": f"Bench WABA {start // args.per_waba}",
                "phone_numbers": numbers,
            }
        )
    document = {
        "tokens": [
            {
                "value": args.token,
                "permissions": ["whatsapp_business_management", "whatsapp_business_messaging"],
                "wabas": ["*"],
            }
        ],
        "wabas": wabas,
    }
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    with out:
        json.dump(document, out, separators=(",", ":"))
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
