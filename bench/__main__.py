"""`python -m bench [--reports N]`: run the benchmarks and print their tables."""
import argparse

from bench import connector, harness, ingest


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=20_000,
                        help="reports to ingest (default 20000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--records", type=int, nargs="+", default=[20_000, 100_000],
                        help="connector backfill sizes (default 20000 100000)")
    parser.add_argument("--only", choices=["ingest", "connector"], default=None)
    args = parser.parse_args()
    if args.only in (None, "ingest"):
        harness.print_table("Batch ingest (PostgreSQL)",
                            ingest.run(args.reports, workers=args.workers))
    if args.only in (None, "connector"):
        harness.print_table("Connector backfill: Sleman simulator -> REST connector -> hub",
                            connector.run(tuple(args.records)))


if __name__ == "__main__":
    main()
