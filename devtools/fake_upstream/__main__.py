"""Run the fake model server on its own: `python -m devtools.fake_upstream --port 11434`.

Useful to try the app without a model (`OLLAMA_HOST=http://127.0.0.1:11434 make run`) and for
processes that script it over HTTP (`/_control/script`).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time

from devtools.fake_upstream import FakeUpstream, Script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=400, help="words in each synthesised answer")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="tokens per second (0: as fast as possible)"
    )
    parser.add_argument(
        "--dialect", default="llamacpp", help="llamacpp, ollama_v1 or llama_cpp_python"
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=0, help="answer this many at once, queue the rest"
    )
    parser.add_argument(
        "--fail-every",
        type=int,
        default=0,
        help="answer every Nth generation request HTTP 500, before any token",
    )
    args = parser.parse_args()
    tokens = [f" word{i}" for i in range(args.tokens)]
    with FakeUpstream(args.port) as upstream:
        script = Script(
            tokens=tokens, delay=1 / args.rate if args.rate else 0.0, dialect=args.dialect
        )
        upstream.default = script
        upstream.app.max_in_flight = args.max_in_flight or None
        if args.fail_every:
            count = itertools.count(1)
            failing = dataclasses.replace(script, status=500)
            upstream.app.responder = lambda _body: (
                failing if next(count) % args.fail_every == 0 else dataclasses.replace(script)
            )
        print(f"fake upstream listening on {upstream.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
