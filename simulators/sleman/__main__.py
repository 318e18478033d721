"""python -m simulators.sleman [--host 127.0.0.1] [--port 5081] [--db PATH|:memory:]
[--api-key KEY] [--activity-interval SECONDS] [--seed N] [--generate N]"""
import argparse

from simulators.sleman.app import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(description="LAPOR Sleman local-system simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5081)
    parser.add_argument("--db", default=":memory:",
                        help="sqlite3 file (kept across restarts) or :memory: (default)")
    parser.add_argument("--api-key", default="sleman-demo-key")
    parser.add_argument("--activity-interval", type=float, default=None,
                        help="seconds between simulated officer actions (demo)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--generate", type=int, default=0,
                        help="complaints (with responses) to create at start")
    parser.add_argument("--spread-days", type=float, default=0,
                        help="date the --generate complaints over this many past days")
    parser.add_argument("--idempotent-create", action="store_true",
                        help="a repeated id_eksternal returns the existing row (200)")
    parser.add_argument("--strict-master", action="store_true",
                        help="unknown kategori/opd/kanal in POST /api/aduan -> 422")
    parser.add_argument("--timestamp-precision", choices=("seconds", "milliseconds"),
                        default="seconds")
    args = parser.parse_args(argv)
    app = create_app({"API_KEY": args.api_key, "DB": args.db,
                      "ACTIVITY_INTERVAL": args.activity_interval, "SEED": args.seed,
                      "IDEMPOTENT_CREATE": args.idempotent_create,
                      "STRICT_MASTER": args.strict_master,
                      "TIMESTAMP_PRECISION": args.timestamp_precision})
    if args.generate:
        resp = app.test_client().post("/_sim/generate", json={
            "count": args.generate, "seed": args.seed, "with_responses": True,
            "spread_days": args.spread_days})
        assert resp.status_code == 200, resp.get_json()
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
