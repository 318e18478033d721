"""python -m simulators.sleman --port 5081 [--activity-interval 5]"""
import argparse

from simulators.sleman.app import create_app


def main():
    parser = argparse.ArgumentParser(description="LAPOR Sleman local-system simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5081)
    parser.add_argument("--api-key", default="sleman-demo-key")
    parser.add_argument("--activity-interval", type=float, default=None)
    parser.add_argument("--generate", type=int, default=0, help="complaints to start with")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    app = create_app({"API_KEY": args.api_key, "ACTIVITY_INTERVAL": args.activity_interval,
                      "SEED": args.seed})
    if args.generate:
        app.test_client().post("/_sim/generate", json={"count": args.generate,
                                                       "seed": args.seed,
                                                       "with_responses": True})
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
