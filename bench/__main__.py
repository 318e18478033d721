"""`python -m bench [--only NAME]`: run the benchmarks and print their tables."""
import argparse

from bench import connector, harness, ingest, national, reads, reconcile, scaleout, webhooks


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=20_000,
                        help="reports to ingest (default 20000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--records", type=int, nargs="+", default=[20_000, 100_000],
                        help="connector backfill sizes (default 20000 100000)")
    parser.add_argument("--only", default=None,
                        choices=["ingest", "connector", "reads", "scaleout", "webhooks",
                                 "reconcile"])
    parser.add_argument("--embedded-records", type=int, nargs="*", default=[100_000],
                        help="connector backfill sizes with the responses inside each "
                             "complaint (default 100000)")
    parser.add_argument("--reconcile-records", type=int, nargs="+", default=[100_000],
                        help="unchanged records one reconciliation compares (default 100000)")
    parser.add_argument("--scale-records", type=int, default=5_000,
                        help="records per local system in the scale-out run (default 5000)")
    parser.add_argument("--webhook-events", type=int, default=300,
                        help="reports whose events are delivered (default 300)")
    parser.add_argument("--read-reports", type=int, default=20_000,
                        help="reports stored before the read load (default 20000)")
    parser.add_argument("--national", action="store_true",
                        help="only the national-scale reads and SLA scan (bench/national.py)")
    parser.add_argument("--national-reports", type=int, default=2_100_000,
                        help="reports in the national database (default 2100000)")
    parser.add_argument("--national-seconds", type=int, default=10,
                        help="wrk seconds per endpoint at national scale (default 10)")
    parser.add_argument("--national-connections", type=int, default=8,
                        help="wrk connections at national scale (default 8; above the "
                             "gunicorn workers, latency includes waiting for a worker)")
    args = parser.parse_args()
    if args.national:
        build, reads_table = national.run(args.national_reports, workers=args.workers,
                                          seconds=args.national_seconds,
                                          connections=args.national_connections)
        harness.print_table("National scale: the database", build)
        harness.print_table("National scale: reads under wrk (bodies checked) and the SLA "
                            "scan", reads_table)
        return
    if args.only in (None, "ingest"):
        harness.print_table("Batch ingest (PostgreSQL)",
                            ingest.run(args.reports, workers=args.workers))
    if args.only in (None, "connector"):
        harness.print_table("Connector backfill: Sleman simulator -> REST connector -> hub",
                            connector.run(tuple(args.records), tuple(args.embedded_records)))
    if args.only in (None, "reads"):
        harness.print_table("Reads under concurrent load (wrk) vs bare Flask+SQLAlchemy",
                            reads.run(args.read_reports, workers=args.workers))
    if args.only in (None, "scaleout"):
        harness.print_table("Scale-out: one sync load on 1, 2 and 4 RQ workers",
                            scaleout.run(args.scale_records))
    if args.only in (None, "webhooks"):
        harness.print_table("Webhooks: delivery to a local receiver (gunicorn + RQ workers)",
                            webhooks.run(args.webhook_events, workers=args.workers))
    if args.only in (None, "reconcile"):
        harness.print_table("Reconciliation: SQL view without a change column, all unchanged",
                            reconcile.run(tuple(args.reconcile_records)))


if __name__ == "__main__":
    main()
