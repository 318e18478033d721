"""python -m simulators.open311 --port 5082"""
import argparse

from simulators.open311.app import create_app


def main():
    parser = argparse.ArgumentParser(description="Open311 GeoReport v2 server simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5082)
    parser.add_argument("--api-key", default="open311-demo-key")
    parser.add_argument("--jurisdiction", default="bandung.go.id")
    args = parser.parse_args()
    app = create_app({"API_KEY": args.api_key, "JURISDICTION": args.jurisdiction})
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
