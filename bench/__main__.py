"""`python -m bench [--reports N]`: run the benchmarks and print their tables."""
import argparse

from bench import harness, ingest


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=20_000,
                        help="reports to ingest (default 20000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    harness.print_table("Batch ingest (PostgreSQL)", ingest.run(args.reports,
                                                                workers=args.workers))


if __name__ == "__main__":
    main()
