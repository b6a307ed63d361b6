import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from resources.models import route_save


class Command(BaseCommand):
    help = ("Put an upstream HTTP API behind the gateway at /gateway/<prefix>/ (an existing route with the prefix "
            "is updated: its scope rules are replaced).")

    def add_arguments(self, parser):
        parser.add_argument("--prefix", required=True, help="served under /gateway/<prefix>/ (letters, digits, - _)")
        parser.add_argument("--upstream", required=True, help="the upstream base URL, e.g. http://10.0.0.5:8080/api")
        parser.add_argument("--scope", action="append", required=True, dest="rules", metavar="METHOD=SCOPE",
                            help="a scope the method needs, e.g. GET=photos; repeat for more scopes or methods; "
                                 "METHOD= admits any valid token")
        parser.add_argument("--timeout", type=float,
                            help="seconds to wait for the upstream (default: GATEWAY_DEFAULT_TIMEOUT)")
        parser.add_argument("--name", help="a label for the admin (default: the prefix)")
        parser.add_argument("--disabled", action="store_true", help="create the route disabled (it answers 404)")
        parser.add_argument("--json", action="store_true", help="print the route as JSON")

    def handle(self, *args, **o):
        try:
            route, created = route_save(
                prefix=o["prefix"], upstream_url=o["upstream"], required_scopes=parse_rules(o["rules"]),
                name=o["name"], timeout=o["timeout"], enabled=not o["disabled"],
            )
        except ValidationError as e:
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in e.message_dict.items()))
        if o["json"]:
            self.stdout.write(json.dumps(route_summary(route)))
            return
        self.stdout.write(f"{'created' if created else 'updated'} route {route.name}\n"
                          f"  /gateway/{route.prefix}/ → {route.upstream_url}\n"
                          f"  timeout {route.timeout:g}s, {'enabled' if route.enabled else 'disabled'}")
        for method, scopes in sorted(route.required_scopes.items()):
            self.stdout.write(f"  {method:<7} needs {' '.join(scopes) if scopes else 'any valid token'}")


def parse_rules(values):
    """['GET=photos', 'POST=photos/write', 'GET=more'] → {'GET': ['photos', 'more'], 'POST': ['photos/write']}"""
    rules = {}
    for value in values:
        method, sep, scope = value.partition("=")
        if not sep or not method.strip():
            raise CommandError(f"--scope {value!r}: write METHOD=SCOPE, e.g. GET=photos")
        scopes = rules.setdefault(method.strip().upper(), [])
        if scope.strip() and scope.strip() not in scopes:
            scopes.append(scope.strip())
    return rules


def route_summary(route):
    return {"name": route.name, "prefix": route.prefix, "upstream_url": route.upstream_url,
            "required_scopes": route.required_scopes, "timeout": route.timeout, "enabled": route.enabled}
