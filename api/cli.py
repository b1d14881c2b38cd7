"""The API's commands of the `sankalp` CLI (wired in streams/cli.py's build_parser):

    sankalp api [--host H --port P]                 Open311 intake and status, officers' API
    sankalp officer token POST_ID [--hours H]       a signed bearer token for an officer post

Heavy imports (aiohttp, Kafka) wait for the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
import time

from streams.settings import Settings, SettingsError


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from api.app import run_api

    overrides = {k: v for k, v in (("api_host", args.host), ("api_port", args.port))
                 if v is not None}
    return run_api(settings.with_overrides(**overrides))


def cmd_officer_token(args: argparse.Namespace, settings: Settings) -> int:
    from api.context import load_keys
    from api.keys import KeyFileError, signing_key
    from api.posts import posts, unknown_post_message
    from api.tokens import issue

    if args.post_id not in posts():
        print(f"sankalp: {unknown_post_message(args.post_id)}", file=sys.stderr)
        return 2
    hours = args.hours if args.hours is not None else settings.officer_token_hours
    if not 0 < hours <= settings.officer_token_hours:
        raise SettingsError(f"--hours must be positive and at most "
                            f"SANKALP_OFFICER_TOKEN_HOURS ({settings.officer_token_hours:g})")
    if settings.officer_keys_file is None:
        raise SettingsError("SANKALP_OFFICER_KEYS_FILE is not set: no key to sign with")
    _, officer_keys = load_keys(settings)
    try:
        kid, secret = signing_key(officer_keys.value, settings.officer_key_id)
    except KeyFileError as exc:
        raise SettingsError(str(exc)) from None
    # The token alone on stdout, so that TOKEN=$(sankalp officer token ...) works.
    print(issue(args.post_id, kid, secret, time.time(), hours))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    api = sub.add_parser("api", help="Open311 intake and status, the officers' API (HTTP)")
    api.add_argument("--host", help="listen address (default SANKALP_API_HOST)")
    api.add_argument("--port", type=int, help="listen port (default SANKALP_API_PORT)")
    api.set_defaults(func=cmd_api)

    officer = sub.add_parser("officer", help="officers' access to the API")
    actions = officer.add_subparsers(dest="officer_action", required=True)
    token = actions.add_parser(
        "token", help="print a signed bearer token for an officer post",
        description="Print a bearer token for POST_ID (e.g. JSV/L1/Shimla/Theog), signed "
                    "with SANKALP_OFFICER_KEY_ID from SANKALP_OFFICER_KEYS_FILE.")
    token.add_argument("post_id", metavar="POST_ID",
                       help="department/level/district/unit, e.g. JSV/L1/Shimla/Theog")
    token.add_argument("--hours", type=float,
                       help="validity (default and maximum: SANKALP_OFFICER_TOKEN_HOURS)")
    token.set_defaults(func=cmd_officer_token)
