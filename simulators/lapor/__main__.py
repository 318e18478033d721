"""python -m simulators.lapor --port 5083"""
import argparse

from simulators.lapor.app import create_app


def main():
    parser = argparse.ArgumentParser(description="SP4N-LAPOR! integration API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5083)
    parser.add_argument("--api-key", default="lapor-demo-key")
    parser.add_argument("--token", default="lapor-demo-token")
    parser.add_argument("--legacy", action="store_true",
                        help="speak only the legacy API (KEYTOKEN header, XML submissions "
                             "to /api/services/laporan, string ids)")
    parser.add_argument("--forwarded-by-id", choices=("show", "404", "403"), default="show",
                        help="what a former holder gets asking for a forwarded complaint")
    args = parser.parse_args()
    app = create_app({"API_KEY": args.api_key, "TOKEN": args.token, "LEGACY": args.legacy,
                      "FORWARDED_BY_ID": args.forwarded_by_id})
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
