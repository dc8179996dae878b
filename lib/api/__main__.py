"""`python -m lib.api` (or `make api`): serve the streaming API with uvicorn.

127.0.0.1:8502 by default; API_HOST and API_PORT change that. An API that serves a team (beyond
loopback, a shared database, a proxy's user header) needs CRS_API_TOKENS or a trusted proxy.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from lib.api.app import create_app
from lib.api.config import api_config, server_settings
from lib.engine.settings import read_secrets_file


def main() -> None:
    try:
        config = api_config(os.environ, read_secrets_file())
        settings = server_settings(config.host)
        config.check(settings)
    except ValueError as exc:  # a ConfigError, or a setting that does not parse
        sys.exit(f"Not starting the API: {exc}")
    app = create_app(settings, config)
    print(f"Contract Review Studio API on http://{config.host}:{config.port}/", flush=True)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
