"""python -m samples <flow> [--server URL] [--non-interactive]: one small client application per OAuth flow."""

import argparse
import importlib
import sys

from .common import DEFAULT_CREDENTIALS, DEFAULT_SERVER, Sample, SampleFailed, check_server, load_credentials

FLOWS = {
    "authorization-code": ("authorization_code", "a web app acting for a user: login, consent, PKCE S256 (use this one)"),
    "implicit": ("implicit", "legacy browser apps: token in the URL fragment (RFC 9700: avoid)"),
    "password": ("password", "legacy first-party apps that collect the user's password (RFC 9700: avoid)"),
    "client-credentials": ("client_credentials", "a service acting for itself, no user"),
    "refresh-token": ("refresh_token", "keeping a session without asking the user again; rotation"),
    "revoke": ("revoke", "logging out: revoking a token (RFC 7009)"),
    "token-info": ("token_info", "checking a token: tokeninfo and introspection (RFC 7662)"),
    "jwt-bearer": ("jwt_bearer", "server-to-server with a signed JWT instead of a secret (RFC 7523)"),
    "saml-bearer": ("saml_bearer", "exchanging an enterprise IdP's SAML assertion for a token (RFC 7522)"),
    "gateway": ("gateway", "calling protected APIs and a gateway route with a token"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m samples", description=__doc__)
    parser.add_argument("flow", nargs="?", choices=FLOWS, help="the flow to run")
    parser.add_argument("--list", action="store_true", help="list the flows")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the server's base URL (default: %(default)s)")
    parser.add_argument("--credentials", default=str(DEFAULT_CREDENTIALS),
                        help="the demo credentials written by manage.py seed_demo (default: %(default)s)")
    parser.add_argument("--non-interactive", action="store_true",
                        help="log in as the demo user and approve through the real forms, unattended")
    args = parser.parse_args(argv)

    if args.list or not args.flow:
        for name, (_module, purpose) in FLOWS.items():
            print(f"{name:<20} {purpose}")
        return 0

    module = importlib.import_module(f"samples.{FLOWS[args.flow][0]}")
    try:
        check_server(args.server.rstrip("/"))
        sample = Sample(server=args.server.rstrip("/"), credentials=load_credentials(args.credentials),
                        interactive=not args.non_interactive)
        module.run(sample)
    except SampleFailed as e:
        print(f"\nFAILED: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print("\ndone.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
